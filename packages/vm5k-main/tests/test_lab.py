"""vm5k's own command line on the lab, for real, with no platform flag: the lab's defaults
(hosts, VM template, image) come from the platform layer. Always destroys the VMs and
releases the job, even on failure."""
import json
import pathlib
import shlex
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "VM5K_LAB_LOCKED": "1"}   # the `lab` fixture holds the lab lock for us
DOCS = ["topo.json", "oar.json", "net.json", "hosts.json", "deployment.json"]


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=900)


@pytest.mark.lab
def test_vm5k_3_vms_on_the_lab(lab, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([str(BIN / "vm5k"), "--n_vm", "3", "-w", "0:20:00", "-o", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, env=ENV, timeout=900)
    reached = [d for d in DOCS if (out / d).exists()]
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        assert reached == DOCS
        doc = json.loads((out / "deployment.json").read_text())
        assert doc["vm5k"]["platform"] == "lab" and doc["vm5k"]["stages"] == ["topo", "oar", "net", "hosts", "vms"]
        assert [vm["state"] for vm in doc["vms"]] == ["ready"] * 3
        assert doc["reservation"]["jobs"][0]["state"] == "Running"
        assert doc["reservation"]["jobs"][0]["walltime"] == "0:20:00"
        assert (out / "hosts.list").read_text().split() == [h["id"] for h in doc["hosts"]]
        assert (out / "vms.list").read_text().splitlines() == [f"{vm['ip']}\t{vm['id']}" for vm in doc["vms"]]
        assert (out / "final_topo.xml").read_text().count("<vm ") == 3
        assert done.stdout.splitlines()[-3:] == [f"{vm['id']}\t{vm['host']}\t{vm['ip']}\tready" for vm in doc["vms"]]
        by_name = sh("vm5k-lab ssh vm-1 hostname", tmp_path)
        assert by_name.returncode == 0 and by_name.stdout.strip().split(".")[0] == "vm-1", by_name.stderr
    finally:
        if reached:   # the last document reached holds what there is to give back
            last = out / reached[-1]
            clean = sh(f"vm5k-vms --destroy -i {shlex.quote(str(last))} | vm5k-oar --release > released.json", tmp_path)
            assert clean.returncode == 0, clean.stderr[-3000:]
    released = json.loads((tmp_path / "released.json").read_text())
    assert all(vm["state"] == "destroyed" for vm in released["vms"])
    assert all(job["state"] != "Running" for job in released["reservation"]["jobs"])
