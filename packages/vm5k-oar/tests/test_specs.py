"""Job specs and oarsub command lines, compared with the ones vm5k produced (notes §4.3)."""
import pytest
from vm5k_doc import reference as reference_module
from vm5k_doc.errors import InputError
from vm5k_oar.planning import Slot
from vm5k_oar.specs import JobSpec, build, slash_22_count
from vm5k_oar.timeutil import parse_oar_date

PARIS = "Europe/Paris"
DATE = "2018-03-23 14:00:00"


def slot(hosts, slash_22=None, vlan=None):
    start = parse_oar_date(DATE, PARIS)
    return Slot(start, start + 7200, hosts, slash_22 or {}, vlan or {}, True)


def test_vm5k_single_site_subnet():
    # vm5k -n 100 -r taurus:4 -w 2:00:00
    spec = build(slot({"lyon": {"taurus": ["h"] * 4}}, {"lyon": 1}), {"taurus": "cluster"}, 7200, name="VM5K")[0]
    assert spec.oarsub_argv(PARIS) == [
        "oarsub", "-t", "deploy", "-l", "slash_22=1+{cluster='taurus'}/nodes=4,walltime=2:00:00",
        "-r", DATE, "-n", "VM5K", "sleep 31536000"]


def test_vm5k_kavlan_and_multi_site_global():
    spec = build(slot({"lyon": {"taurus": ["h"] * 4}}, vlan={"lyon": "kavlan"}), {"taurus": "cluster"}, 7200)[0]
    assert spec.resource_line() == "{type='kavlan'}/vlan=1+{cluster='taurus'}/nodes=4,walltime=2:00:00"
    specs = build(slot({"lyon": {"taurus": ["h"] * 4}, "nancy": {"nancy": ["h"] * 10}}, vlan={"lyon": "kavlan-global"}),
                  {"taurus": "cluster", "nancy": "site"}, 7200)
    assert [(s.site, s.resource_line(), s.reservation) for s in specs] == [
        ("lyon", "{type='kavlan-global'}/vlan=1+{cluster='taurus'}/nodes=4,walltime=2:00:00", specs[0].reservation),
        ("nancy", "nodes=10,walltime=2:00:00", specs[0].reservation)]  # one start date for all sites


def test_blacklist_as_sql():
    ref = reference_module.load(reference_module.snapshot_path() + "/lyon.json")
    spec = build(slot({"lyon": {"lyon": ["h"] * 3}}), {"lyon": "site"}, 3600, reference=ref,
                 blacklist={"nova", "taurus-3", "sagittaire-1"})[0]
    assert spec.resources == "{cluster not in ('nova') and host not in ('sagittaire-1.lyon.grid5000.fr', 'taurus-3.lyon.grid5000.fr')}/nodes=3"
    spec = build(slot({"lyon": {"nova": ["h"] * 2}}), {"nova": "cluster"}, 3600, reference=ref, blacklist={"nova-4"}, deploy=False)[0]
    assert spec.resources == "{cluster='nova' and host not in ('nova-4.lyon.grid5000.fr')}/nodes=2"
    assert spec.types == [] and spec.name == "vm5k"


def test_slash_22_sized_without_vm5k_bugs():
    # vm5k: ceil(n/1024) blocks but only 724 usable (first 300 dropped): 725..1024 VMs overflowed
    assert [slash_22_count(n) for n in (0, 1, 724, 725, 1022, 1023, 3000)] == [0, 1, 1, 1, 1, 2, 3]


def test_argv_keeps_hostile_values_single_words():
    spec = JobSpec("lab", "nodes=1", 60, name="x'; rm -rf / #", reservation=None)
    argv = spec.oarsub_argv(PARIS)
    assert argv[-3:] == ["-n", "x'; rm -rf / #", "sleep 31536000"] and "-r" not in argv


def test_exotic_and_production_clusters_get_their_type_and_queue():
    from vm5k_oar import specs
    ref = reference_module.load()
    assert specs.cluster_needs(ref, ["troll"], "grenoble") == (True, None)
    assert specs.cluster_needs(ref, ["grele"], "nancy") == (False, "production")
    assert specs.cluster_needs(ref, ["grele"], "nancy", "production") == (False, "production")
    with pytest.raises(InputError, match="queue production"):
        specs.cluster_needs(ref, ["grele"], "nancy", "default")
    with pytest.raises(InputError, match="different OAR queues"):
        specs.cluster_needs(ref, ["grele", "gros"], "nancy")


def test_a_pinned_site_request_names_its_clusters():
    from vm5k_oar import specs
    assert specs.host_part("site", "lyon", 2, allowed=["nova", "taurus"]) == "{cluster in ('nova', 'taurus')}/nodes=2"
    assert specs.host_part("site", "lyon", 2, bad_clusters=["taurus"], allowed=["nova", "taurus"]) == \
        "{cluster in ('nova')}/nodes=2"
