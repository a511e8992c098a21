"""The validation layer: what passes into shells, configs, SQL, paths and copies."""
import copy

import pytest
from vm5k_doc import checks
from vm5k_doc.errors import InputError
from vm5k_doc.schema import problem, schema


def test_the_schema_uses_the_layer_s_patterns():
    defs = schema()["$defs"]
    assert defs["id"]["pattern"] == checks.ID_PATTERN
    assert defs["address"]["pattern"] == checks.ADDRESS_PATTERN
    assert defs["domain"]["pattern"] == checks.DOMAIN_PATTERN
    assert defs["vm"]["properties"]["backing_file"]["pattern"] == checks.BACKING_FILE_PATTERN


@pytest.mark.parametrize("value", ["vm-1\n", "vm 1", "-oProxyCommand=x", "vm;rm", "vm$(id)", "", ".x", "a" * 254,
                                   "vm-1\r", "é", 3, None])
def test_bad_ids(value):
    with pytest.raises(InputError, match="not a valid id"):
        checks.check_id(value)


@pytest.mark.parametrize("value", ["vm-1", "taurus-3.lyon.grid5000.fr", "A_b.9"])
def test_good_ids(value):
    assert checks.check_id(value) == value


@pytest.mark.parametrize("value", ["10.77.0.11", "host1.lab", "fe80::1", "2001:db8::2"])
def test_good_addresses(value):
    assert checks.check_address(value) == value


@pytest.mark.parametrize("value", ["-oProxyCommand=touch /tmp/x", "root@host", "host 1", "host\n", "h/x", "h;id", ""])
def test_bad_addresses(value):
    with pytest.raises(InputError, match="not a host name"):
        checks.check_address(value)


@pytest.mark.parametrize("value", ["lab", "lyon.grid5000.fr", "x-1.example"])
def test_good_domains(value):
    assert checks.check_domain(value) == value


@pytest.mark.parametrize("value", ["lab\ndhcp-script=/tmp/x", "a..b", "-lab", "lab.", "a b", "$(id)", "a_b", "x" * 64])
def test_bad_domains(value):
    with pytest.raises(InputError, match="DNS domain"):
        checks.check_domain(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 1e9, "3", True])
def test_bad_numbers(value):
    with pytest.raises(InputError):
        checks.check_number(value, "--cpu-ratio", 0.01, 1000)


def test_image_files_only_under_image_dirs_and_only_images(tmp_path):
    images, home = tmp_path / "images", tmp_path / "home"
    images.mkdir(), home.mkdir()
    good = images / "debian.qcow2"
    good.write_bytes(checks.QCOW2_MAGIC + b"\0" * 600)
    assert checks.check_image_file(str(good), [images]) == str(good)
    key = images / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    outside = home / "disk.qcow2"
    outside.write_bytes(checks.QCOW2_MAGIC)
    link = images / "link.qcow2"
    link.symlink_to(outside)
    for path, why in ((key, "not a disk image"), (outside, "not under an image directory"),
                      (link, "not under an image directory"), ("/etc/shadow", "not under an image directory"),
                      (images, "not a regular file")):
        with pytest.raises(InputError, match=why):
            checks.check_image_file(str(path), [images])


DOC = {"vm5k": {"version": 1, "platform": "lab", "stages": []},
       "hosts": [{"id": "host1.lab"}, {"id": "host2.lab"}],
       "vms": [{"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1, "host": "host1.lab"},
               {"id": "vm-2", "mem": 128, "n_cpu": 1, "hdd": 1}]}


@pytest.mark.parametrize("change, line", [
    (lambda d: d["vms"].append(dict(d["vms"][0])), "$.vms[2].id: duplicate id 'vm-1' (also $.vms[0])"),
    (lambda d: d["hosts"].append({"id": "host1.lab"}), "$.hosts[2].id: duplicate id 'host1.lab'"),
    (lambda d: d["vms"][1].update(host="host9.lab"), "$.vms[1].host: 'host9.lab' is not one of"),
    (lambda d: d["hosts"][0].update(address="-oProxyCommand=x"), "$.hosts[0].address"),
    (lambda d: d.update(network={"domain": "lab\ndhcp-script=/tmp/x"}), "$.network.domain"),
    (lambda d: d.update(events=[{"stage": "oar", "at": "x", "ok": False, "status": 256}]), "$.events[0].status"),
    (lambda d: d["vms"][0].update(id="vm-1\n"), "$.vms[0].id"),
])
def test_documents_that_break_the_layer(change, line):
    doc = copy.deepcopy(DOC)
    assert problem(doc) is None
    change(doc)
    assert line in (problem(doc) or "")


def test_reference_data_is_checked_before_it_reaches_sql_or_ssh(tmp_path):
    from vm5k_doc import reference
    site = {"site": {"uid": "lab"}, "clusters": [{"uid": "lab"}],
            "nodes": [{"uid": "host1", "cluster": "lab", "network_address": "host1.lab') or ('1'='1"}]}
    path = tmp_path / "lab.json"
    path.write_text(__import__("json").dumps(site))
    with pytest.raises(InputError, match="network_address .* is not a valid id"):
        reference.load(str(path))
    with pytest.raises(InputError, match="neither a regular file nor a directory"):
        reference.load("/dev/zero")
    big = tmp_path / "big" / "lab.json"
    big.parent.mkdir()
    with open(big, "wb") as handle:
        handle.truncate(reference.MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="bigger than"):
        reference.load(str(big))
