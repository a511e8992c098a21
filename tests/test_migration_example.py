"""examples/migration: the precopy model, the parsers (workload calibration, libvirt's job
stats), the table and the plot (no lab), the workload itself (built and run here), and
QUICK mode on the lab (opt-in: VM5K_MIGRATION=1, ~8 min)."""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "migration"
sys.path.insert(0, str(EXAMPLE))
import migration  # noqa: E402

M, B = 145.0, 32.0


# ------------------------------------------------------------------ model

@pytest.mark.parametrize("d", [1, 4, 8, 16, 24, 30])
def test_rounds_match_the_closed_form(d):
    p = migration.precopy(M, B, d)
    n = migration.rounds_needed(M, B, d)
    assert p["converged"] and p["rounds"] == n + 1
    assert p["time"] == pytest.approx(migration.closed_form(M, B, d, n))
    assert p["time"] == pytest.approx(M / B * (1 - (d / B) ** (n + 1)) / (1 - d / B))
    assert p["downtime"] <= migration.DOWNTIME_LIMIT + 1e-9      # the last round fits the limit


def test_no_dirtying_is_one_copy_of_memory():
    p = migration.precopy(M, B, 0)
    assert p["time"] == pytest.approx(M / B) and p["rounds"] == 2 and p["downtime"] == 0


def test_memory_that_fits_the_downtime_is_one_stop_and_copy():
    p = migration.precopy(5, B, 20)
    assert p["rounds"] == 1 and p["time"] == pytest.approx(5 / B)
    assert migration.rounds_needed(5, B, 20) == 0


def test_time_grows_with_the_dirty_rate_and_diverges_at_the_bandwidth():
    times = [migration.precopy(M, B, d)["time"] for d in (0, 8, 16, 24, 28, 31)]
    assert times == sorted(times) and times[-1] > 4 * times[0]
    for d in (32, 40):
        p = migration.precopy(M, B, d)
        assert not p["converged"] and math.isinf(p["time"])
    assert migration.rounds_needed(M, B, 32) is None


def test_working_set_caps_the_rounds():
    # D*t of round 0 (24 MB/s x 4.5 s = 109 MB) is more than the 64 MB the guest writes to
    free, capped = migration.precopy(M, B, 24), migration.precopy(M, B, 24, ws=64)
    assert capped["time"] < free["time"]
    assert migration.precopy(M, B, 8, ws=64)["time"] == pytest.approx(migration.precopy(M, B, 8)["time"])
    # past the bandwidth, a working set too big for the downtime limit still never converges
    assert not migration.precopy(M, B, 40, ws=64)["converged"]
    assert migration.precopy(M, B, 40, ws=8)["converged"]     # 8 MB < 32 MB/s x 0.3 s


def test_bad_model_input():
    for args in ((M, 0, 1), (-1, B, 1), (M, B, -1)):
        with pytest.raises(ValueError):
            migration.precopy(*args)


# ------------------------------------------------------------------ parsers

CALIBRATE = """dirty: ready ws_mb=64 fill_s=0.15
dirty: calibrate ws_mb=64 seconds=2.00 mb=35422.0 max_mb_s=17710.6
"""

DONE = """dirty: ready ws_mb=64 fill_s=0.15
dirty: done ws_mb=64 target_mb_s=16 seconds=8.34 mb=133.5 rate_mb_s=16.0 late_ms=98
"""


def test_calibration_parsing():
    assert migration.calibration(CALIBRATE) == pytest.approx(17710.6)
    parsed = migration.parse_dirty(DONE)
    assert parsed["ready"] == {"ws_mb": 64, "fill_s": 0.15}
    assert parsed["done"]["rate_mb_s"] == 16.0 and parsed["done"]["late_ms"] == 98


@pytest.mark.parametrize("text", ["", "sh: dirty: not found\n", "dirty: calibrate max_mb_s=nan\n",
                                  "dirty: calibrate max_mb_s=inf\n", "dirty: calibrate max_mb_s=x\n",
                                  "xdirty: calibrate max_mb_s=3\n", "dirty: error: -r x: a number\n"])
def test_calibration_parsing_refuses_what_is_not_a_rate(text):
    assert migration.calibration(text) is None


JOBINFO = """Job type:         Completed
operation: 4
time_elapsed: 36709
downtime: 59
data_processed: 149434317
memory_total: 269230080
memory_bps: 35234780
memory_normal_bytes: 148877312
memory_iteration: 3
bogus line
Key: not a number
"""


def test_jobinfo_parsing_and_summary():
    stats = migration.parse_jobinfo(JOBINFO)
    assert stats["time_elapsed"] == 36709 and "Key" not in stats and "Job type" not in stats
    s = migration.summary(stats)
    assert s == {"migration_s": 36.709, "downtime_ms": 59, "rounds": 3, "bytes": 149434317,
                 "normal_bytes": 148877312, "memory_mb": 256.8, "measured_bandwidth": 33.6}
    assert migration.summary({}) == {}


# ------------------------------------------------------------------ table and plot

def record(d, t, state="converged", normal=M * migration.MB, b=32):
    return {"key": f"dirty_rate={d}", "dirty_rate": str(d), "bandwidth": str(b), "colocated": "0",
            "iteration": "1", "state": "done",
            "exit": 0, "migration": {"state": state, "migration_s": t, "downtime_ms": 100, "rounds": 3,
                                      "bytes": 1, "normal_bytes": normal, "ws_mb": 64}}


def test_table_uses_the_idle_run_as_memory_and_compares(tmp_path):
    recs = [record(0, 4.6), record(16, 9.0, normal=300 * migration.MB), record(40, 61, state="forced"),
            {"key": "dirty_rate=8", "dirty_rate": "8", "bandwidth": "32", "colocated": "0", "state": "failed",
             "exit": 5, "migration": None}]
    rows, m = migration.table(recs)
    assert m == pytest.approx(M)
    by = {r["dirty_rate"]: r for r in rows}
    assert by["0"]["model_s"] == pytest.approx(M / B, abs=1e-3)
    assert by["16"]["model_error"] == pytest.approx(9.0 / migration.precopy(M, B, 16)["time"] - 1, abs=1e-3)
    assert by["40"]["model_s"] == "inf" and by["40"]["model_error"] is None
    assert by["8"]["state"] == "failed" and by["8"]["migration_s"] is None
    assert by["16"]["model_ws_s"] == pytest.approx(migration.precopy(M, B, 16, ws=64)["time"], abs=1e-3)
    out = tmp_path / "migration.csv"
    with open(out, "w") as f:
        migration.write_table(rows, f)
    back = list(csv.DictReader(open(out)))
    assert list(back[0])[:6] == ["dirty_rate", "bandwidth", "colocated", "iteration", "ws_mb", "state"]
    assert {"migration_s", "downtime_ms", "rounds", "bytes"} <= set(back[0])
    pytest.importorskip("matplotlib")
    png = tmp_path / "migration.png"
    assert migration.main(["plot", str(out), str(png), "64"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_without_an_idle_run_has_no_model():
    rows, m = migration.table([record(16, 9.0)])
    assert m is None and rows[0]["model_s"] is None


def test_plot_refuses_a_table_without_measurements(tmp_path, capsys):
    out = tmp_path / "migration.csv"
    with open(out, "w") as f:
        migration.write_table(migration.table([record(8, None, state="failed")])[0], f)
    assert migration.main(["plot", str(out), str(tmp_path / "m.png")]) == 2
    assert "no measured" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()


def test_combination_refuses_bad_parameters(tmp_path):
    reserved = tmp_path / "reserved.json"
    reserved.write_text(json.dumps({"hosts": [], "vms": []}))
    env = {**os.environ, "RESERVED": str(reserved), "VM5K_SWEEP_RUN": str(tmp_path),
           "VM5K_SWEEP_DOC": str(tmp_path / "doc.json")}
    for extra, word in (({"VM5K_P_DIRTY_RATE": "1; reboot", "VM5K_P_BANDWIDTH": "32"}, "VM5K_P_DIRTY_RATE"),
                        ({"VM5K_P_DIRTY_RATE": "8", "VM5K_P_BANDWIDTH": "0"}, "VM5K_P_BANDWIDTH"),
                        ({"VM5K_P_DIRTY_RATE": "nan", "VM5K_P_BANDWIDTH": "32"}, "VM5K_P_DIRTY_RATE"),
                        ({"VM5K_P_DIRTY_RATE": "8", "VM5K_P_BANDWIDTH": "32", "MAX_S": "0"}, "MAX_S")):
        p = subprocess.run([sys.executable, str(EXAMPLE / "combination.py")], env={**env, **extra},
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and word in p.stderr
    p = subprocess.run([sys.executable, str(EXAMPLE / "combination.py")], capture_output=True, text=True, timeout=60,
                       env={**env, "VM5K_P_DIRTY_RATE": "8", "VM5K_P_BANDWIDTH": "32"})
    assert p.returncode == 2 and "2 hosts" in p.stderr
    assert json.loads((tmp_path / "doc.json").read_text())["migration"]["state"] == "failed"


# ------------------------------------------------------------------ the workload, here

@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    if not shutil.which("gcc"):
        pytest.skip("no gcc")
    from vm5k_lab import images
    out = tmp_path_factory.mktemp("dirty") / "dirty"
    images.build_dirty(out)
    return str(out)


def test_workload_keeps_its_rate_and_calibrates(dirty):
    p = subprocess.run([dirty, "-w", "8", "-r", "40", "-t", "0.5"], capture_output=True, text=True, timeout=30)
    done = migration.parse_dirty(p.stdout)["done"]
    assert p.returncode == 0 and done["rate_mb_s"] == pytest.approx(40, rel=0.1) and done["ws_mb"] == 8
    c = subprocess.run([dirty, "-w", "8", "-c", "-t", "0.3"], capture_output=True, text=True, timeout=30)
    assert migration.calibration(c.stdout) > 40
    bad = subprocess.run([dirty, "-r", "x"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ QUICK on the lab

@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("VM5K_MIGRATION") != "1", reason="opt-in: VM5K_MIGRATION=1 (~8 min on the lab)")
def test_quick_sweep_on_the_lab(lab, tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([str(EXAMPLE / "run.sh")], env={**os.environ, "QUICK": "1", "OUT": str(out)},
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "migration.csv")))
    # every migration measured; "lost": it completed but the TCG guest died after it (README)
    assert len(rows) >= 3 and all(r["state"] in ("converged", "lost") and r["migration_s"] for r in rows)
    rows.sort(key=lambda r: float(r["dirty_rate"]))
    times = [float(r["memory_s"] or r["migration_s"]) for r in rows]
    assert times[-1] > times[0] and all(float(r["downtime_ms"]) >= 0 and int(r["rounds"]) >= 1 for r in rows)
    assert (out / "migration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "released.json").read_text())["reservation"]["jobs"][0]["state"] == "released"
