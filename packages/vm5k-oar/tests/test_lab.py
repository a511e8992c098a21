"""Acceptance on the lab's real OAR 2.5 server, as its unprivileged submit user."""
import json
import pathlib
import subprocess
import sys
import time

import pytest

VM5K_OAR = [sys.executable, "-m", "vm5k_oar.cli"]
pytestmark = pytest.mark.lab


def oar(argv, check=True):
    from vm5k_lab import oar as lab_oar
    return subprocess.run(lab_oar.command(argv), capture_output=True, text=True, check=check).stdout


def oarstat_job(job_id):
    return json.loads(oar(["oarstat", "-fJ", "-j", str(job_id)]))[str(job_id)]


def topo(n_vm=4, hosts=None):
    """vm5k-topo's document; built by hand (same shape) if vm5k-topo cannot size the lab."""
    done = subprocess.run([str(pathlib.Path(sys.executable).parent / "vm5k-topo"), "-n", str(n_vm), "--platform", "lab"],
                          capture_output=True, text=True)
    doc = json.loads(done.stdout)
    if done.returncode != 0:
        print(f"vm5k-topo failed ({done.stderr.strip()}): document built by hand")
        doc["events"] = []
        doc["vm5k"]["stages"] = ["topo"]
        doc["reservation"] = {"wanted": {"lab": hosts or 2}}
    elif hosts:
        doc["reservation"]["wanted"] = {"lab": hosts}
    return doc


def vm5k_oar(doc, *args, timeout=600):
    done = subprocess.run(VM5K_OAR + list(args), input=json.dumps(doc), capture_output=True, text=True, timeout=timeout)
    sys.stderr.write(done.stderr)
    return done.returncode, json.loads(done.stdout)


def wait_ended(job_id, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = oarstat_job(job_id)["state"]
        if state in ("Error", "Terminated"):
            return state
        time.sleep(1)
    return state


def test_reserve_confirm_reuse_release(lab):
    t0 = time.monotonic()
    code, out = vm5k_oar(topo(), "-w", "0:20:00")
    reserved_after = time.monotonic() - t0
    assert code == 0
    job = out["reservation"]["jobs"][0]
    assert job["state"] == "Running" and job["site"] == "lab"
    real = oarstat_job(job["id"])
    assert real["state"] == "Running" and real["owner"] == lab["oar"]["user"]
    assert sorted(h["id"] for h in out["hosts"]) == sorted(set(real["assigned_network_address"]))
    assert all(h["state"] == "reserved" and h["job"] == job["id"] and h["mem_mb"] for h in out["hosts"])
    assert out["reservation"]["subnets"] and all(v["state"] == "placed" and v["host"] for v in out["vms"])

    code, again = vm5k_oar(out)            # rerun on its own output: the same job
    assert code == 0 and [j["id"] for j in again["reservation"]["jobs"]] == [job["id"]]
    code, by_id = vm5k_oar(topo(), "-j", f"lab:{job['id']}")
    assert code == 0 and by_id["reservation"]["jobs"][0]["id"] == job["id"]
    code, by_name = vm5k_oar(topo(), "--name", "vm5k")
    assert code == 0 and [j["id"] for j in by_name["reservation"]["jobs"]] == [job["id"]]

    code, released = vm5k_oar(out, "--release")
    assert code == 0 and released["reservation"]["jobs"][0]["state"] == "released"
    assert wait_ended(job["id"]) in ("Error", "Terminated")  # oardel ends a job in Error on OAR 2.5
    print(f"lab: reserved and running after {reserved_after:.1f} s")


def test_busy_hosts_next_window(lab):
    """Two hosts held by another job for 1 min: three hosts start when it ends."""
    n_hosts = len(lab["hosts"])
    blocker = oar(["oarsub", "-l", f"nodes={n_hosts - 1},walltime=0:01:00", "-n", "blocker", "sleep 3600"])
    blocker_id = int(blocker.split("OAR_JOB_ID=")[1].split()[0])
    try:
        t0 = time.time()
        code, out = vm5k_oar(topo(hosts=n_hosts), "-w", "0:05:00", "--name", "vm5k-busy")
        assert code == 0
        job = out["reservation"]["jobs"][0]
        blocker_job = oarstat_job(blocker_id)
        blocker_end = blocker_job["startTime"] + 60
        assert oarstat_job(job["id"])["startTime"] >= blocker_end
        assert len(out["hosts"]) == n_hosts
        print(f"lab: blocked job started {time.time() - t0:.0f} s after submission")
    finally:
        oar(["oardel", str(blocker_id)], check=False)  # it may have ended already
        if "out" in locals():
            vm5k_oar(out, "--release")
