"""The whole pipeline on the lab, as a user types it: real OAR, real DHCP, real VMs.

    vm5k-topo | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms

then SSH into every VM, then `vm5k-vms --destroy | vm5k-oar --release` (always, even on
failure). The `lab` fixture brings the lab up if it is down and tears it down after.
"""
import json
import pathlib
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent
ENV_PATH = f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": ENV_PATH, "HOME": "/root", "LANG": "C.UTF-8"}, timeout=900)


def ssh(lab, address, *argv):
    key, options = lab["ssh"]["key"], lab["ssh"]["options"]
    return subprocess.run(["ssh", "-i", key, *options, f"root@{address}", *argv],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.lab
def test_pipeline_deploys_reachable_vms_then_cleans_up(lab, tmp_path):
    deploy = sh(f"vm5k-topo --platform lab -n 3 -r lab:3 -t '{TEMPLATE}' -w 0:30:00"
                " | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms --events events.ndjson > deployed.json", tmp_path)
    try:
        doc = json.loads((tmp_path / "deployed.json").read_text())
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        assert doc["vm5k"]["stages"] == ["topo", "oar", "net", "hosts", "vms"]
        job = doc["reservation"]["jobs"][0]
        assert job["state"] == "Running" and isinstance(job["id"], int)
        assert sorted({vm["host"] for vm in doc["vms"]}) == ["host1.lab", "host2.lab", "host3.lab"]
        for vm in doc["vms"]:
            assert vm["state"] == "ready", vm
            answer = ssh(lab, vm["ip"], "hostname")
            assert answer.returncode == 0, answer.stderr
            assert answer.stdout.strip() in (vm["id"], vm.get("hostname"), (vm.get("hostname") or "").split(".")[0])
        events = [json.loads(line) for line in (tmp_path / "events.ndjson").read_text().splitlines()]
        assert {e["stage"] for e in events} == {"vms"}
        print("boot to SSH (s):", [vm["timings"].get("ready") for vm in doc["vms"]])
    finally:
        clean = sh("vm5k-vms --destroy -i deployed.json | vm5k-oar --release > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
    released = json.loads((tmp_path / "released.json").read_text())
    assert all(vm["state"] == "destroyed" for vm in released["vms"])
    oar_state = subprocess.run(["oarstat", "-s", "-j", str(job["id"])], capture_output=True, text=True)
    assert "Running" not in oar_state.stdout
