"""vm5k-topo -i on vm5k's real topology and state files (vm5k-doc/tests/fixtures/vm5k-xml):
clusters retired since are one line naming --reference, or sized from the host cpu/mem the
file carries."""
import json
import pathlib
import subprocess
import sys

from lxml import etree

REAL = pathlib.Path(__file__).parents[2] / "vm5k-doc" / "tests" / "fixtures" / "vm5k-xml"
G5K = ("--platform", "g5k", "--dry-run")
BIN = pathlib.Path(sys.executable).parent


def snapshot_2018():
    from vm5k_doc.reference import snapshot_path
    return str(pathlib.Path(snapshot_path()) / "2018-03")


def test_a_retired_cluster_names_reference_and_the_snapshot_that_has_it(topo):
    status, doc, err = topo(*G5K, "-i", str(REAL / "infile.xml"))
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("vm5k-topo: error: XML line 3: unknown cluster 'granduc' (not in the reference data ")
    assert f"give --reference with data that has it ({snapshot_2018()} has it)" in err
    assert doc["events"][-1]["status"] == 2  # the document is written all the same


def test_the_docs_topology_runs_on_the_2018_snapshot(topo):
    status, doc, err = topo(*G5K, "-i", str(REAL / "infile.xml"), "--reference", snapshot_2018())
    assert status == 0, err
    assert doc["reservation"]["wanted"] == {"granduc": 4, "hercule": 1, "orion": 2}
    assert len(doc["vms"]) == 18 and {vm["n_cpu"] for vm in doc["vms"]} == {1}


def test_a_cluster_no_snapshot_has_and_no_host_data(topo):
    status, _, err = topo(*G5K, "-i", str(REAL / "lyon_nancy_stremi.xml"), "--reference", snapshot_2018())
    assert status == 2 and err.count("\n") == 1
    assert "unknown cluster 'stremi'" in err
    assert err.endswith("give --reference with data that has it, or cpu and mem on its <host> elements\n")


def test_host_data_of_a_state_file_sizes_a_retired_cluster(topo):
    """vm5k's final_topo.xml carries each host's cpu (cores x 100) and mem (MB): enough to
    size adonis; but vm5k ran 24 VMs of 1 GiB on its 24157 MiB (memory overcommitted),
    which vm5k-doc's placement rule (RAM minus the host's reserve) does not allow."""
    status, _, err = topo(*G5K, "-i", str(REAL / "challenge-final_topo.xml"))
    assert status == 2 and err.count("error:") == 1
    assert "XML: 79 hosts and 1082 VMs in states of an earlier run are planned again" in err
    assert "XML line 4: the 24 VMs of host 'adonis-1-kavlan-13.grenoble.grid5000.fr' do not fit " \
           "on a adonis node (24157 MB, 8 cores)" in err


def test_host_data_is_enough(topo, tmp_path):
    (tmp_path / "stremi.xml").write_text(
        '<deployment><site id="reims"><cluster id="stremi">\n'
        '<host id="stremi-1" cpu="2400" mem="50755"><vm id="vm-0" ip="X.X.X.X" mem="256"/><vm id="vm-1"/></host>\n'
        '</cluster></site></deployment>')
    status, doc, err = topo(*G5K, "-i", str(tmp_path / "stremi.xml"))
    assert status == 0, err
    assert "stremi not in the reference data: sized from the file's host cpu and mem" in err
    assert doc["reservation"]["wanted"] == {"stremi": 1}
    assert doc["hosts"][0]["cores"] == 24 and doc["hosts"][0]["mem_mb"] == 48404
    assert doc["vms"][0]["ip"] is None


def test_a_state_file_is_a_request_again(topo, tmp_path):
    """vm5k's state XML as -i (states OK/KO, a `load` attribute, X.X.X.X): planned again as
    vm5k read it, reserved and addressed by the next stages, its own attributes kept."""
    (tmp_path / "state.xml").write_text(
        '<deployment><site id="lyon"><cluster id="nova"><host id="nova-1" state="OK">\n'
        '<vm id="vm-9" ip="X.X.X.X" load="0.3" mem="1024" state="OK"/><vm id="vm-10" load="0.0" state="KO"/>\n'
        '</host></cluster></site></deployment>')
    status, doc, err = topo(*G5K, "-i", str(tmp_path / "state.xml"))
    assert status == 0, err
    assert "XML: 1 hosts and 2 VMs in states of an earlier run are planned again" in err
    assert [vm["state"] for vm in doc["vms"]] == ["placed", "placed"] and doc["hosts"][0]["state"] == "planned"
    oar = subprocess.run([BIN / "vm5k-oar", "--dry-run"], input=json.dumps(doc).encode(), capture_output=True)
    net = subprocess.run([BIN / "vm5k-net", "--dry-run", "--xml"], input=oar.stdout, capture_output=True)
    assert net.returncode == 0, net.stderr
    vms = {el.get("id"): el for el in etree.fromstring(net.stdout).iter("vm")}
    assert vms["vm-9"].get("load") == "0.3" and vms["vm-10"].get("load") == "0.0"
    assert vms["vm-9"].get("ip") != "X.X.X.X" and vms["vm-9"].get("state") == "addressed"
