"""The precopy model, the parsers of what the lab says, and migration.csv / migration.png.

    python3 migration.py table results.jsonl migration.csv   # vm5k-sweep results --format jsonl -> CSV + model
    python3 migration.py plot migration.csv migration.png

Pure Python (matplotlib only for the plot, the vm5k-doc[plot] extra): the unit tests
(tests/test_migration_example.py) import it without the lab.

The model (Hirofuchi, Lebre, Pouilloux, CloudCom 2013; the classic precopy analysis): round
0 sends the whole memory M at bandwidth B; each next round sends what the guest dirtied
during the previous one, D x t(i-1), so the rounds shrink by r = D/B; when what is left could
be sent within the downtime limit (QEMU's default 300 ms: left <= B x 0.3 s), the guest is
paused and the rest is sent (the last round, n). Hence

    T = M/B * (1 - r^(n+1)) / (1 - r),    n = the first round with M r^n <= B * downtime_limit

and no convergence when r >= 1. `ws` (optional) caps a round at the working set: a page
dirtied twice is sent once, so a round never holds more than the pages the guest writes to.
MB are MiB throughout (1 MB = 1048576 bytes), as dirty, virsh and tc count them.
"""
import csv
import json
import math
import re
import statistics
import sys

MB = 1048576
DOWNTIME_LIMIT = 0.3      # QEMU's default downtime-limit (s); libvirt leaves it
MAX_ROUNDS = 1000

COLUMNS = ("dirty_rate", "bandwidth", "colocated", "iteration", "ws_mb", "state", "migration_s", "memory_s", "disk_s", "downtime_ms",
           "rounds", "bytes", "normal_bytes", "memory_mb", "achieved_rate", "max_rate", "late_ms",
           "measured_bandwidth", "vm5k_migration_s", "vm5k_downtime_ms", "model_s", "model_rounds",
           "model_downtime_ms", "model_error", "model_ws_s", "model_ws_error", "key", "sweep_state", "exit")


# ------------------------------------------------------------------ the model

def rounds_needed(m, b, d, limit=DOWNTIME_LIMIT):
    """n: the index of the last (stop-and-copy) round of the uncapped model, None if never."""
    if m <= b * limit:
        return 0
    r = d / b
    if r <= 0:
        return 1
    if r >= 1:
        return None
    return math.ceil(math.log(b * limit / m) / math.log(r) - 1e-12)


def closed_form(m, b, d, n):
    """T = M/B * (1 - r^(n+1)) / (1 - r), r = D/B (the brief's formula; n+1 rounds)."""
    r = d / b
    if r == 1:
        return m / b * (n + 1)
    return m / b * (1 - r ** (n + 1)) / (1 - r)


def precopy(m, b, d, limit=DOWNTIME_LIMIT, ws=None, max_rounds=MAX_ROUNDS):
    """Round by round: {'time' (s), 'rounds' (n+1), 'downtime' (s), 'converged', 'sent'}.

    m, ws in MB; b, d in MB/s. Round i sends x(i); x(i+1) = min(d * x(i)/b, ws). Without
    convergence after max_rounds: time is inf (precopy alone never ends)."""
    if b <= 0 or m < 0 or d < 0:
        raise ValueError("need b > 0, m >= 0, d >= 0")
    x, total = float(m), 0.0
    for i in range(max_rounds):
        total += x
        if x <= b * limit:
            return {"time": total / b, "rounds": i + 1, "downtime": x / b, "converged": True, "sent": total}
        x = d * x / b
        if ws is not None:
            x = min(x, float(ws))
    return {"time": math.inf, "rounds": max_rounds, "downtime": math.inf, "converged": False, "sent": math.inf}


# ------------------------------------------------------------------ what the lab says

LINE_RE = re.compile(r"^dirty: (?P<what>[a-z]+)((?: [a-z_]+=\S+)*)\s*$")


def parse_dirty(text):
    """The `dirty: WHAT k=v ...` lines of /bin/dirty -> {WHAT: {k: float}} (last one wins)."""
    out = {}
    for line in text.splitlines():
        m = LINE_RE.match(line.strip())
        if not m:
            continue
        values = {}
        for kv in m[2].split():
            k, _, v = kv.partition("=")
            try:
                values[k] = float(v)
            except ValueError:
                continue
            if not math.isfinite(values[k]):
                del values[k]
        out[m["what"]] = values
    return out


def calibration(text):
    """max_mb_s of a `dirty -c` run, or None."""
    return parse_dirty(text).get("calibrate", {}).get("max_mb_s")


def parse_jobinfo(text):
    """`virsh domjobinfo --completed --rawstats` -> {key: int} (the typed parameters)."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep and re.fullmatch(r"[a-z_]+", k.strip()) and re.fullmatch(r"-?\d+", v.strip()):
            out[k.strip()] = int(v.strip())
    return out


def summary(stats):
    """The measured figures from parsed job stats (time in s, downtime in ms, bytes)."""
    if "time_elapsed" not in stats:
        return {}
    out = {"migration_s": round(stats["time_elapsed"] / 1000, 3), "downtime_ms": stats.get("downtime"),
           "rounds": stats.get("memory_iteration"), "bytes": stats.get("data_processed"),
           "normal_bytes": stats.get("memory_normal_bytes"), "memory_mb": None, "measured_bandwidth": None}
    if stats.get("memory_total"):
        out["memory_mb"] = round(stats["memory_total"] / MB, 1)
    if stats.get("memory_bps"):
        out["measured_bandwidth"] = round(stats["memory_bps"] / MB, 1)
    return out


# ------------------------------------------------------------------ the table

def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def measured(row):
    """The time the model predicts: the memory phase (memory_s) when it was timed apart from
    the disk copy before it, else the whole migration."""
    t = _num(row.get("memory_s"))
    return t if t is not None else _num(row.get("migration_s"))


def reference_memory(rows):
    """M for the model: what precopy sends when nothing is dirtied (the guest's non-zero
    memory, working set included), the median normal bytes of the dirty_rate 0 runs (MB)."""
    idle = [r["normal_bytes"] / MB for r in rows if _num(r.get("dirty_rate")) == 0 and r.get("normal_bytes")]
    return statistics.median(idle) if idle else None


def table(records, ws=None, limit=DOWNTIME_LIMIT):
    """vm5k-sweep results (jsonl records, a `migration` field each) -> migration.csv rows."""
    rows = []
    for rec in records:
        mig = rec.get("migration") or {}
        row = {c: mig.get(c) for c in COLUMNS}
        for p in ("dirty_rate", "bandwidth", "colocated", "iteration"):
            row[p] = rec.get(p) if rec.get(p) is not None else mig.get(p)
        row["state"] = mig.get("state") or "failed"
        row.update(key=rec.get("key"), sweep_state=rec.get("state"), exit=rec.get("exit"))
        rows.append(row)
    m = reference_memory(rows)
    for row in rows:
        b, d = _num(row["bandwidth"]), _num(row["dirty_rate"])
        w = ws if ws is not None else _num(row.get("ws_mb"))
        if m is None or not b or d is None:
            continue
        t = measured(row) if row["state"] in ("converged", "lost") else None
        for name, cap in (("model", None), ("model_ws", w)):
            if name == "model_ws" and cap is None:
                continue
            p = precopy(m, b, d, limit=limit, ws=cap)
            row[f"{name}_s"] = round(p["time"], 3) if p["converged"] else "inf"
            if name == "model":
                row["model_rounds"] = p["rounds"] if p["converged"] else ""
                row["model_downtime_ms"] = round(p["downtime"] * 1000) if p["converged"] else ""
            if p["converged"] and t is not None:
                row[f"{name}_error"] = round(t / p["time"] - 1, 3)
    return rows, m


def write_table(rows, out):
    w = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS})


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ the plot

def plot(rows, out, m=None, ws=None, limit=DOWNTIME_LIMIT):
    """Measured migration time vs dirty rate, one colour per (bandwidth, co-located VMs),
    the model's curve for each bandwidth; forced runs (no convergence) as crosses."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = m if m is not None else reference_memory([dict(r, normal_bytes=_num(r.get("normal_bytes"))) for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = sorted({(_num(r["bandwidth"]), int(_num(r["colocated"]) or 0)) for r in rows if _num(r["bandwidth"])})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ymax = 0.0
    for gi, (b, k) in enumerate(groups):
        c = colors[gi % len(colors)]
        mine = [r for r in rows if _num(r["bandwidth"]) == b and int(_num(r["colocated"]) or 0) == k]
        for state, marker in (("converged", "o"), ("lost", "s"), ("forced", "x")):
            pts = [(_num(r["dirty_rate"]), measured(r)) for r in mine if r["state"] == state
                   and measured(r) is not None]
            if pts:
                ax.scatter(*zip(*pts, strict=True), color=c, marker=marker, zorder=3,
                           label=f"B={b:g} MB/s, {k} co-located" + {"forced": " (forced: no convergence)", "lost": " (guest lost after it)"}.get(state, ""))
                ymax = max(ymax, max(p[1] for p in pts))
    if m:
        xmax = max([_num(r["dirty_rate"]) or 0 for r in rows] + [1])
        bs = [g[0] for g in groups]
        for b in sorted(set(bs)):
            c = colors[bs.index(b) % len(colors)]
            xs = [i * min(xmax * 1.05, b * 0.99) / 300 for i in range(301)]
            for cap, style, what in ((None, "--", "model"), (ws, ":", f"model, rounds capped at ws={ws:g} MB")):
                if style == ":" and not cap:
                    continue
                fin = [(x, y) for x in xs if math.isfinite(y := precopy(m, b, x, limit=limit, ws=cap)["time"])]
                if fin:
                    ax.plot(*zip(*fin, strict=True), color=c, linestyle=style, label=f"{what}, M={m:.0f} MB, B={b:g} MB/s")
                    ymodel = max(y for x, y in fin if x <= xmax)
                    ymax = max(ymax, min(ymodel, max(3 * ymax, 30)))
            ax.axvline(b, color="grey", linestyle="-", linewidth=0.5,
                       label="D = B: precopy never converges" if b == min(bs) else None)
    ax.set_xlabel("dirty rate D (MB/s, MiB)")
    ax.set_ylabel("migration time, memory phase (s)")
    ax.set_ylim(0, ymax * 1.1 or 1)
    ax.set_xlim(left=0)
    ax.set_title("Live migration time vs dirty rate (lab, QEMU TCG)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main(argv):
    if len(argv) >= 3 and argv[0] == "table":
        ws = float(argv[3]) if len(argv) > 3 else None
        with open(argv[1]) as f:
            records = [json.loads(line) for line in f if line.strip()]
        rows, m = table(records, ws=ws)
        with open(argv[2], "w") as out:
            write_table(rows, out)
        print(f"migration: {len(rows)} rows, model M={m if m is None else round(m, 1)} MB", file=sys.stderr)
        return 0
    if len(argv) >= 3 and argv[0] == "plot":
        ws = float(argv[3]) if len(argv) > 3 else None
        rows = read_table(argv[1])
        if not any(r["state"] in ("converged", "lost", "forced") and measured(r) is not None for r in rows):
            print(f"migration.py: error: {argv[1]}: no measured migration to plot", file=sys.stderr)
            return 2
        plot(rows, argv[2], ws=ws)
        return 0
    print("usage: migration.py table RESULTS.jsonl OUT.csv [WS_MB] | plot IN.csv OUT.png [WS_MB]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
