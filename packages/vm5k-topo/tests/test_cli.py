"""vm5k-topo as a user runs it: documents out, one-line errors and exit statuses."""
import pytest
from vm5k_doc.schema import validate

G5K = ("--platform", "g5k", "--dry-run")

TOPOLOGY = b"""<vm5k>
  <site id="lyon">
    <cluster id="taurus">
      <host id="taurus-1"><vm id="web" mem="2048" n_cpu="2"/><vm id="db" cpu="4"/></host>
      <host id="taurus-2"><vm id="cache" hdd="20" backing_file="/tmp/base.qcow2" real_file="true"/></host>
    </cluster>
    <cluster id="nova"><host id="nova-3"><vm id="lb"/></host></cluster>
  </site>
</vm5k>
"""


def test_100_vms_on_lyon(topo):
    status, doc, err = topo(*G5K, "-n", "100", "-r", "lyon")
    assert status == 0, err
    validate(doc)
    assert len(doc["vms"]) == 100 and doc["vms"][99]["id"] == "vm-100"
    assert doc["reservation"]["wanted"] == {"nova": 3}   # 16 cores x 3 = 48 VMs per nova node
    assert doc["vm5k"]["stages"] == ["topo"] and doc["vm5k"]["dry_run"] is True
    assert doc["request"]["max_vms"]["lyon"] > 100


def test_template_walltime_distribution_are_recorded(topo):
    status, doc, err = topo(*G5K, "-n", "3", "-r", "taurus:2", "-t", '<vm mem="512" hdd="4" n_cpu="2"/>',
                            "-w", "2:30:00", "-d", "concentrated", "-b", "taurus-1")
    assert status == 0, err
    assert doc["vms"][0]["mem"] == 512 and doc["vms"][0]["n_cpu"] == 2 and doc["vms"][0]["hdd"] == 4
    assert doc["request"]["walltime"] == "2:30:00" and doc["request"]["distribution"] == "concentrated"
    assert doc["request"]["blacklist"] == ["taurus-1"] and doc["reservation"]["wanted"] == {"taurus": 2}


def test_xml_round_trip_keeps_every_vm(topo, tmp_path):
    (tmp_path / "topo.xml").write_bytes(TOPOLOGY)
    status, doc, err = topo(*G5K, "-i", str(tmp_path / "topo.xml"))
    assert status == 0, err
    assert doc["reservation"]["wanted"] == {"taurus": 2, "nova": 1}
    assert doc["request"]["distribution"] == "explicit"
    status, _, err = topo(*G5K, "-i", str(tmp_path / "topo.xml"), "--xml", "-o", str(tmp_path / "state.xml"))
    assert status == 0, err
    status, again, err = topo(*G5K, "-i", str(tmp_path / "state.xml"))
    assert status == 0, err
    assert again["vms"] == doc["vms"] and again["reservation"] == doc["reservation"]


def test_rerun_on_own_output_changes_nothing_and_n_adds_vms(topo, tmp_path):
    _, doc, _ = topo(*G5K, "-n", "5", "-r", "nova")
    (tmp_path / "d.json").write_text(__import__("json").dumps(doc))
    status, again, _ = topo(*G5K, "-i", str(tmp_path / "d.json"))
    assert status == 0 and again["vms"] == doc["vms"] and again["request"] == doc["request"]
    status, more, _ = topo(*G5K, "-i", str(tmp_path / "d.json"), "-n", "7")
    assert status == 0 and [vm["id"] for vm in more["vms"]][-2:] == ["vm-6", "vm-7"]


@pytest.mark.parametrize("args, stdin, message", [
    (("-i", "-"), b"{not json", "stdin line 1 column 2: invalid JSON"),
    (("-i", "-"), b"", "stdin: empty input"),
    (("-i", "-"), b'<!DOCTYPE v [<!ENTITY e SYSTEM "file:///etc/passwd">]><vm5k>&e;</vm5k>', "DOCTYPE and entities"),
    (("-i", "-"), b"<vm5k><site id='lyon'><cluster id='taurus'><host id='taurus-1'>\n<vm id='a$(reboot)'/></host></cluster></site></vm5k>",
     "XML line 2: VM id 'a$(reboot)' is not a valid id"),
    (("-i", "-"), b"<vm5k><site id='lyon'>\n<cluster id='atlantis'><host id='a-1'/></cluster></site></vm5k>",
     "XML line 2: unknown cluster 'atlantis'"),
    (("-i", "-"), b"<vm5k><site id='lyon'><cluster id='taurus'>\n<host id='taurus-1'><vm id='a' mem='999999'/><vm id='b' mem='999999'/></host></cluster></site></vm5k>",
     "XML line 2: the 2 VMs of host 'taurus-1' do not fit"),
    (("-n", "-3"), b"", "-n must be between 1 and 1000000"),
    (("-n", "99999999"), b"", "-n must be between 1 and 1000000"),
    (("-n", "2", "-t", '<vm mem="-512"/>'), b"", "mem=-512 is out of range"),
    (("-n", "2", "-t", '{"mem": 100000000}'), b"", "-t: mem: 100000000 is greater than the maximum"),
    (("-n", "2", "-r", "atlantis"), b"", "unknown site or cluster 'atlantis'"),
    (("-n", "2", "-r", "lyon;rm -rf ~"), b"", "is not a valid id"),
    (("-n", "2", "-w", "forever"), b"", "walltime must be H:MM:SS"),
])
def test_bad_input_is_exit_2_with_one_line(topo, args, stdin, message):
    status, _, err = topo(*G5K, *args, stdin=stdin)
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_too_many_vms_is_exit_4_and_the_document_is_written(topo):
    status, doc, err = topo(*G5K, "-n", "5000", "-r", "taurus")
    assert status == 4 and "do not fit" in err
    assert len(doc["vms"]) == 5000 and doc["events"][-1]["status"] == 4


def test_rerun_on_own_failed_document_retries(topo, tmp_path):
    _, failed, _ = topo(*G5K, "-n", "5000", "-r", "taurus")
    (tmp_path / "failed.json").write_text(__import__("json").dumps(failed))
    status, doc, _ = topo(*G5K, "-i", str(tmp_path / "failed.json"), "-r", "grid5000")
    assert status == 0 and doc["events"][-1]["ok"] and len(doc["vms"]) == 5000


def test_auto_platform_without_lab_or_frontend_is_a_clear_error(topo, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not on Grid'5000 (no oarsub)...
    monkeypatch.setenv("VM5K_LAB", "/nonexistent/vm5k-lab")  # ...and no lab here, even if one runs
    status, _, err = topo("-n", "2")
    assert status == 2 and "no lab is running" in err
