import pytest
from vm5k_doc.errors import InputError
from vm5k_sweep import params as P


def keys(grid, filters=()):
    return [P.key(c) for c in P.combinations(grid, filters)]


def test_cartesian_product_in_order():
    g = P.from_specs(["n_vm=1,2", "mem=256,512"])
    assert keys(g) == ["n_vm=1,mem=256", "n_vm=1,mem=512", "n_vm=2,mem=256", "n_vm=2,mem=512"]


def test_conditional_sub_parameters_like_execo_sweep():
    g = P.from_specs(["policy=one_core,one_by_core", "cores[policy=one_by_core]=1,2", "n=1,2"])
    assert g == {"policy": {"one_core": {}, "one_by_core": {"cores": ["1", "2"]}}, "n": ["1", "2"]}
    assert keys(g) == ["policy=one_core,n=1", "policy=one_core,n=2",
                       "policy=one_by_core,cores=1,n=1", "policy=one_by_core,cores=1,n=2",
                       "policy=one_by_core,cores=2,n=1", "policy=one_by_core,cores=2,n=2"]
    assert P.names(g) == ["policy", "cores", "n"]


def test_nested_and_alternative_sub_parameters():
    g = P.from_specs(["a=x,y", "b[a=x]=1,2", "b[a=y]=3", "c[b=2]=z"])
    assert keys(g) == ["a=x,b=1", "a=x,b=2,c=z", "a=y,b=3"]


def test_grid_file_shape_is_execos():
    g = P.normalize({"n": [1, 2.5], "img": {"one": {"k": [True]}, "many": None}, "empty": []})
    assert g == {"n": ["1", "2.5"], "img": {"one": {"k": ["true"]}, "many": {}}}
    assert keys(g) == ["n=1,img=one,k=true", "n=1,img=many", "n=2.5,img=one,k=true", "n=2.5,img=many"]


def test_filters_compare_numbers_and_see_missing_sub_parameters_as_none():
    g = P.from_specs(["n=1,2,4,16", "mem=256,512", "p=a,b", "k[p=b]=1,2"])
    assert keys(g, ["n * mem <= 512", "p == 'a' or k > 1"]) == [
        "n=1,mem=256,p=a", "n=1,mem=256,p=b,k=2", "n=1,mem=512,p=a", "n=1,mem=512,p=b,k=2",
        "n=2,mem=256,p=a", "n=2,mem=256,p=b,k=2"]
    assert keys(g, ["k is None", "n in (4, 16)", "not mem == 512"]) == ["n=4,mem=256,p=a", "n=16,mem=256,p=a"]


def test_keys_escape_what_is_not_safe_in_a_file_name():
    assert P.key({"f": "/tmp/a b.xml"}) == "f=%2Ftmp%2Fa%20b.xml"
    assert P.key({"w": "1:00:00"}) == "w=1:00:00"
    long = P.key({"x": "y" * 300})
    assert len(long) < 200 and "~" in long


@pytest.mark.parametrize("spec, msg", [
    ("n", "expected NAME=V1,V2"),
    ("n=", "empty value"),
    ("n=1,,2", "empty value"),
    ("1n=1", "bad parameter name"),
    ("VM5K_X=1", "reserved"),
    ("k[nope=1]=2", "no parameter nope"),
    ("k[n=9]=2", "n has no value '9'"),
    ("n=3", "already defined"),
])
def test_bad_specs(spec, msg):
    with pytest.raises(InputError, match=msg):
        P.from_specs(["n=1,2", spec])


@pytest.mark.parametrize("expr, msg", [
    ("n >", "bad filter"),
    ("__import__('os')", "Call not allowed"),
    ("n.real", "Attribute not allowed"),
    ("m == 1", "no parameter m"),
    ("'x' * n > ''", "arithmetic on non-numbers"),
])
def test_bad_filters(expr, msg):
    with pytest.raises(InputError, match=msg):
        P.combinations(P.from_specs(["n=1,2"]), [expr])


def test_a_name_twice_in_one_product_is_refused():
    with pytest.raises(InputError, match="defined twice"):
        P.combinations(P.normalize({"a": {"x": {"n": [1]}}, "n": [2]}))
