import json
import pathlib
import subprocess
import sys

VM5K_NET = str(pathlib.Path(sys.executable).parent / "vm5k-net")


def run(doc, *args):
    done = subprocess.run([VM5K_NET, *args], input=json.dumps(doc), capture_output=True, text=True)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else None), done.stderr


def test_dry_run_pipeline_writes_network_and_vms(make_doc, tmp_path):
    code, out, err = run(make_doc(5, job_id=None), "--dry-run", "--lists", str(tmp_path))
    assert code == 0, err
    assert out["network"]["mode"] == "subnet" and out["network"]["planned"] is True
    assert out["network"]["subnets"] == ["10.140.0.0/22"]
    vm = out["vms"][0]
    assert (vm["ip"], vm["mac"], vm["hostname"], vm["state"]) == ("10.140.0.1", "00:16:3e:8c:00:01", "vm-1", "addressed")
    assert "net" in out["vm5k"]["stages"]
    assert (tmp_path / "vms.list").read_text().splitlines()[0] == "10.140.0.1\tvm-1"
    assert len((tmp_path / "hosts.list").read_text().splitlines()) == 2


def test_rerun_changes_nothing(make_doc):
    _, first, _ = run(make_doc(5, subnets=["10.140.8.0/22"]), "--dry-run")
    code, second, err = run(first, "--dry-run")
    assert code == 0, err
    assert [(v["ip"], v["mac"]) for v in second["vms"]] == [(v["ip"], v["mac"]) for v in first["vms"]]
    assert second["network"] == first["network"]


def test_kavlan_dry_run(make_doc):
    code, out, err = run(make_doc(3, vlan=5), "--dry-run", "--kavlan")
    assert code == 0, err
    net = out["network"]
    assert (net["mode"], net["vlan"], net["cidr"], net["gateway"]) == ("kavlan", 5, "10.12.64.0/18", "10.12.127.254")
    assert net["dhcp"] == net["service_address"] == "10.12.68.1" and net["service_node"] == "nova-1.lyon.grid5000.fr"
    assert out["vms"][0]["mac"].startswith("02:05:")


def one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_no_reservation_exit_2(make_doc):
    doc = make_doc(2)
    del doc["reservation"]
    code, out, err = run(doc)
    assert code == 2 and "no reservation" in one_error_line(err)
    assert out["events"][-1]["ok"] is False  # the document is still written


def test_vlan_out_of_range_exit_2(make_doc):
    code, _, err = run(make_doc(2, vlan=42), "--kavlan")
    assert code == 2 and "out of range" in one_error_line(err)


def test_more_vms_than_addresses_exit_4(make_doc):
    code, out, err = run(make_doc(1100, subnets=["10.140.8.0/22"]))
    assert code == 4 and "78 of 1100 VMs get none" in one_error_line(err)
    assert "ip" not in out["vms"][0]  # nothing half-assigned


def test_failed_input_passes_through(make_doc):
    doc = make_doc(2)
    doc["events"].append({"stage": "oar", "at": "2026-01-01T00:00:00+00:00", "ok": False, "status": 4})
    code, out, _ = run(doc)
    assert code == 4 and out == doc
