"""examples/boot-time for real, on the lab: real OAR job, real DHCP, real busybox VMs.

One reservation (2 lab hosts, for 2 x 2 VMs), then a sweep of 1 and 2 VMs per host (1
repetition): each combination runs `vm5k-net | vm5k-hosts | vm5k-vms` on that job, then
`vm5k-vms --destroy`; then the CSV, the PNG and the release of the job. Whatever happens,
the VMs left and the job are cleaned up at the end. About 1 to 2 minutes.
"""
import csv
import json
import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "boot-time"
BIN = pathlib.Path(sys.executable).parent


def env(**extra):
    # VM5K_LAB_LOCKED=1 comes from the `lab` fixture, which holds the lab lock: without it
    # `vm5k-lab image` in run.sh would wait for that lock forever.
    return dict(os.environ, PATH=f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", HOME="/root", LANG="C.UTF-8", **extra)


def clean_up(out):
    """VMs that a combination left (its destroy did not run) and the job if still held."""
    for doc in sorted(out.glob("sweep/runs/*/deployment.json")):
        if not (doc.parent / "destroyed.json").exists():
            subprocess.run(["vm5k-vms", "-q", "--destroy", "-i", doc], env=env(), capture_output=True, timeout=300)
    reserved = out / "reserved.json"
    if reserved.exists() and not (out / "released.json").exists():
        p = subprocess.run(["vm5k-oar", "-q", "--release", "-i", reserved, "-o", out / "released.json"],
                           env=env(), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.lab
def test_boot_time_example_on_the_lab_makes_csv_and_png(lab, tmp_path):
    out = tmp_path / "out"
    try:
        p = subprocess.run(["bash", EXAMPLE / "run.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                           env=env(OUT=str(out), PER_HOST="1,2", REPEAT="1", HOSTS="2", WALLTIME="0:30:00"))
        status = subprocess.run(["vm5k-sweep", "status", out / "sweep"], env=env(), capture_output=True, text=True)
        assert p.returncode == 0, (p.stderr[-3000:], status.stdout[-3000:])

        reserved = json.loads((out / "reserved.json").read_text())
        job = reserved["reservation"]["jobs"][0]
        assert isinstance(job["id"], int) and len(reserved["hosts"]) == 2

        rows = list(csv.DictReader(open(out / "boot-time.csv")))
        assert [(r["vms_per_host"], r["iteration"], r["state"], r["vms"], r["ready"]) for r in rows] == [
            ("1", "1", "done", "2", "2"), ("2", "1", "done", "4", "4")]
        for r in rows:
            assert 0 < float(r["boot_mean"]) <= float(r["boot_max"]) < 300, r
        print("boot time to SSH (s), per VMs per host:",
              {r["vms_per_host"]: (float(r["boot_mean"]), float(r["boot_max"])) for r in rows})

        for run in sorted(out.glob("sweep/runs/*")):
            deployed = json.loads((run / "deployment.json").read_text())
            assert deployed["reservation"]["jobs"][0]["id"] == job["id"]  # the one reservation, reused
            assert all(vm["state"] == "ready" for vm in deployed["vms"])
            destroyed = json.loads((run / "destroyed.json").read_text())
            assert all(vm["state"] == "destroyed" for vm in destroyed["vms"])

        png = (out / "boot-time.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR" and len(png) > 1000

        released = json.loads((out / "released.json").read_text())
        assert released["reservation"]["jobs"][0]["id"] == job["id"]
    finally:
        clean_up(out)
    oar_state = subprocess.run(["oarstat", "-s", "-j", str(job["id"])], capture_output=True, text=True)
    assert "Running" not in oar_state.stdout
