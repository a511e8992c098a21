"""examples/boot-time with STAND-IN stages (tests/stand_in/fake_stage.py), no lab.

What this proves: the reservation-reuse recipe reserves once, runs net|hosts|vms and
destroys once per combination, releases once, and produces the CSV and a PNG.
The real run on the lab is test_boot_time_lab.py (marked `lab`).
"""
import csv
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "boot-time"
STAND_IN = Path(__file__).resolve().parent / "stand_in" / "fake_stage.py"


def stand_in_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for stage in ("vm5k-lab", "vm5k-topo", "vm5k-oar", "vm5k-net", "vm5k-hosts", "vm5k-vms"):
        (bin_dir / stage).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" {stage} "$@"\n')
        (bin_dir / stage).chmod(0o755)
    # vm5k-sweep itself is the real one, from this interpreter's environment
    return f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"


def test_boot_time_example_with_stand_in_stages_makes_csv_and_png(tmp_path):
    out, log = tmp_path / "out", tmp_path / "stages.log"
    env = dict(os.environ, PATH=stand_in_path(tmp_path), FAKE_LOG=str(log), OUT=str(out), PER_HOST="1,2", REPEAT="2")
    p = subprocess.run(["bash", EXAMPLE / "run.sh"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr

    calls = [line.split()[0] + (" --destroy" if "--destroy" in line else "") + (" --release" if "--release" in line else "")
             for line in log.read_text().splitlines()]
    assert calls.count("vm5k-topo") == 1 and calls.count("vm5k-oar") == 1  # reserved once, for 2 hosts x 2 VMs
    assert "vm5k-topo -n 4 --platform lab -r lab:2 -t" in log.read_text()
    assert calls[0] == "vm5k-lab"  # vm5k-lab image mini, before reserving
    for stage in ("vm5k-net", "vm5k-hosts", "vm5k-vms", "vm5k-vms --destroy"):
        assert calls.count(stage) == 4, stage  # 2 sizes x 2 repetitions
    assert calls[-1] == "vm5k-oar --release"

    rows = list(csv.DictReader(open(out / "boot-time.csv")))
    assert [(r["vms_per_host"], r["iteration"], r["vms"], r["ready"]) for r in rows] == [
        ("1", "1", "2", "2"), ("1", "2", "2", "2"), ("2", "1", "4", "4"), ("2", "2", "4", "4")]
    assert float(rows[0]["boot_mean"]) < float(rows[2]["boot_mean"]) <= float(rows[2]["boot_max"])
    assert (out / "boot-time.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # rerun: everything is done and reserved already; nothing is deployed again
    before = log.read_text()
    p = subprocess.run(["bash", EXAMPLE / "run.sh"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in log.read_text()[len(before):].splitlines()] == ["vm5k-oar"]  # the release
