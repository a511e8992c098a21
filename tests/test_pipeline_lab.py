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
DEBIAN_TEMPLATE = '{"mem": 192, "hdd": 2, "backing_file": "debian"}'


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": ENV_PATH, "HOME": "/root", "LANG": "C.UTF-8", "VM5K_LAB_LOCKED": "1"}, timeout=900)


def ssh(lab, address, *argv):
    key, options = lab["ssh"]["key"], lab["ssh"]["options"]
    return subprocess.run(["ssh", "-i", key, *options, f"root@{address}", *argv],
                          capture_output=True, text=True, timeout=60)


def deploy_check_and_clean(lab, tmp_path, template, n=3, timeout=None):
    """The whole pipeline for n VMs over the 3 lab hosts; every VM answers SSH, at its
    planned IP, with its planned name; `vm5k-lab ssh vm-1` reaches it by name (lab DNS);
    then destroy + release, always. Returns the deployed document."""
    vms_opts = f" --timeout {timeout}" if timeout else ""
    deploy = sh(f"vm5k-topo --platform lab -n {n} -r lab:3 -t '{template}' -w 0:30:00"
                f" | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms{vms_opts} --events events.ndjson > deployed.json",
                tmp_path)
    job = None
    try:
        doc = json.loads((tmp_path / "deployed.json").read_text())
        job = (doc.get("reservation") or {}).get("jobs", [{}])[0]
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        assert doc["vm5k"]["stages"] == ["topo", "oar", "net", "hosts", "vms"]
        assert job["state"] == "Running" and isinstance(job["id"], int)
        assert sorted({vm["host"] for vm in doc["vms"]}) == ["host1.lab", "host2.lab", "host3.lab"][:min(n, 3)]
        for vm in doc["vms"]:
            assert vm["state"] == "ready", vm
            answer = ssh(lab, vm["ip"], "hostname; ip addr")
            assert answer.returncode == 0, answer.stderr
            assert answer.stdout.splitlines()[0].strip() in names(vm)
            assert f"inet {vm['ip']}/" in answer.stdout, answer.stdout       # the planned address
        # by name from the control node: the lab DNS, not /etc/resolv.conf
        first = doc["vms"][0]
        by_name = sh(f"vm5k-lab ssh {first['id']} hostname", tmp_path)
        assert by_name.returncode == 0, by_name.stderr
        assert by_name.stdout.strip() in names(first)
        by_fqdn = sh(f"vm5k-lab ssh {first['id']}.lab hostname", tmp_path)
        assert by_fqdn.stdout.strip() in names(first), by_fqdn.stderr
        events = [json.loads(line) for line in (tmp_path / "events.ndjson").read_text().splitlines()]
        assert {e["stage"] for e in events} == {"vms"}
        print("boot to SSH (s):", [vm["timings"].get("ready") for vm in doc["vms"]])
    finally:
        clean = sh("vm5k-vms --destroy -i deployed.json | vm5k-oar --release > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
    released = json.loads((tmp_path / "released.json").read_text())
    assert all(vm["state"] == "destroyed" for vm in released["vms"])
    # vm5k-oar --release returns once OAR has ended the job (Terminated or Error)
    oar_state = subprocess.run(["oarstat", "-s", "-j", str(job["id"])], capture_output=True, text=True)
    assert "Running" not in oar_state.stdout and "Finishing" not in oar_state.stdout, oar_state.stdout
    return doc


def names(vm):
    """What `hostname` may answer in a VM: its id, its planned hostname, or its short form."""
    return {vm["id"], vm.get("hostname") or vm["id"], (vm.get("hostname") or vm["id"]).split(".")[0]}


@pytest.mark.lab
def test_pipeline_deploys_reachable_vms_then_cleans_up(lab, tmp_path):
    deploy_check_and_clean(lab, tmp_path, TEMPLATE)


@pytest.mark.lab
@pytest.mark.slow
def test_pipeline_three_debian_vms_over_three_hosts(lab, tmp_path):
    """A disk image: vm5k-hosts broadcasts its disk (kernel, initrd, disk.qcow2) and
    vm5k-vms boots each VM on a qcow2 overlay of it."""
    subprocess.run([str(BIN / "vm5k-lab"), "-q", "image", "debian"], check=True, capture_output=True, timeout=900)
    doc = deploy_check_and_clean(lab, tmp_path, DEBIAN_TEMPLATE, timeout=240)
    for vm in doc["vms"]:
        host = next(h for h in doc["hosts"] if h["id"] == vm["host"])
        assert host["images"]["debian"]["disk"]["sha256"], host["images"]


@pytest.mark.lab
def test_stages_refuse_the_hosts_of_an_ended_job(lab, tmp_path):
    """When the job ends under the pipeline (walltime, oardel), its hosts are no longer the
    user's: vm5k-hosts and vm5k-vms stop with exit 5 naming the job, and touch nothing."""
    reserved = sh(f"vm5k-topo --platform lab -n 2 -r lab:2 -t '{TEMPLATE}' -w 0:10:00 | vm5k-oar > reserved.json",
                  tmp_path)
    try:
        assert reserved.returncode == 0, reserved.stderr[-2000:]
        job = json.loads((tmp_path / "reserved.json").read_text())["reservation"]["jobs"][0]
        released = sh("vm5k-oar --release -i reserved.json > released.json", tmp_path)
        assert released.returncode == 0, released.stderr[-2000:]
        for stage in ("vm5k-hosts", "vm5k-vms"):
            done = sh(f"{stage} -q -i reserved.json > {stage}.json", tmp_path)
            assert done.returncode == 5, done.stderr
            assert f"job lab:{job['id']} is" in done.stderr and "no longer yours" in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            doc = json.loads((tmp_path / f"{stage}.json").read_text())
            assert doc["events"][-1]["status"] == 5
            assert all(h.get("state") == "reserved" for h in doc["hosts"])   # nothing was done to them
    finally:
        sh("vm5k-oar --release -i reserved.json > /dev/null", tmp_path)
