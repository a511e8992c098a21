"""One combination of the migration sweep, run by vm5k-sweep (`run.sh` says how).

Parameters (vm5k-sweep's environment): VM5K_P_DIRTY_RATE (MB/s), VM5K_P_BANDWIDTH (MB/s),
VM5K_P_COLOCATED (busy VMs beside the migrated one on the source), VM5K_P_ITERATION.
Knobs: RESERVED (the reservation document, made once by run.sh), WS_MB (working set, 64),
MAX_S (seconds of migration before the guest is paused to finish, like `virsh migrate
--timeout`: 120).

The bandwidth is libvirt's (`virsh migrate-setspeed`). It also throttles the copy of the
VM's blank 1 GiB disk (libvirt's NBD mirror, before the memory), so the memory phase is
timed apart: a loop on the source host reads the job's stats every ~0.1 s and notes when
the memory copy starts (`memory_total` > 0); `memory_s` = the job's time less that.

Steps: the first 1 + COLOCATED VMs of the reservation, all on its first host, deployed
(vm5k-net | vm5k-hosts | vm5k-vms); the co-located VMs run `dirty -c` (as fast as they
can: CPU and memory load); the migrated VM runs `dirty -w WS_MB -r RATE`; the bandwidth is
set; `vm5k-vms --migrate VM=second host` (the watch loop beside it); libvirt's completed job stats from the
destination (`virsh domjobinfo --completed --rawstats`); the workload stopped (its `done`
line: the rate it kept) and calibrated (`dirty -c -t 1`: the most this guest can dirty);
the document, with a top-level `migration` record, to $VM5K_SWEEP_DOC; the VMs destroyed
and the shaping removed whatever happened.

Exit: 0 measured (state converged, forced by MAX_S, or lost: the migration completed but
the guest does not answer on the destination; its console's panic line is recorded),
2 bad parameter, 5 the lab failed.
Every value that reaches a remote shell is checked by vm5k_doc.checks and quoted.
"""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from vm5k_doc import platforms
from vm5k_doc.checks import check_address, check_id, check_number
from vm5k_doc.errors import InputError
from vm5k_doc.ids import join, quote
from vm5k_doc.ssh import Ssh

sys.path.insert(0, str(Path(__file__).resolve().parent))
import migration  # noqa: E402

LOG = "/tmp/dirty.log"


def say(msg):
    print(f"migration: {msg}", file=sys.stderr, flush=True)


def params(env):
    def num(name, default=None, minimum=0, maximum=None, integer=False):
        raw = env.get(name, default)
        if raw is None:
            raise InputError(f"{name} is not set")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r}: not a number") from None
        return check_number(int(value) if integer and value == int(value) else value, name, minimum, maximum, integer)
    p = {"dirty_rate": num("VM5K_P_DIRTY_RATE", maximum=100000),
         "bandwidth": num("VM5K_P_BANDWIDTH", minimum=1, maximum=100000),
         "colocated": num("VM5K_P_COLOCATED", "0", maximum=64, integer=True),
         "iteration": num("VM5K_P_ITERATION", "1", minimum=1, maximum=100000, integer=True),
         "ws_mb": num("WS_MB", "64", minimum=1, maximum=65536),
         "max_s": num("MAX_S", "120", minimum=1, maximum=3600)}
    return p


def place(doc, k):
    """Keep the first 1+k VMs, all on the first host; returns (doc, source, destination)."""
    hosts = [h["id"] for h in doc.get("hosts", [])]
    if len(hosts) < 2:
        raise InputError("the reservation needs 2 hosts")
    if len(doc.get("vms", [])) < 1 + k:
        raise InputError(f"the reservation has {len(doc.get('vms', []))} VMs, {1 + k} needed: reserve for more")
    doc = dict(doc, vms=[dict(vm, host=hosts[0]) for vm in doc["vms"][:1 + k]])
    return doc, hosts[0], hosts[1]


def pipeline(commands, stdin_text, out_path):
    """commands[0] | commands[1] | ... with stdin_text, stdout to out_path; the last status."""
    procs, prev = [], subprocess.PIPE
    with open(out_path, "w") as out:
        for i, argv in enumerate(commands):
            last = i == len(commands) - 1
            p = subprocess.Popen(argv, stdin=prev, stdout=out if last else subprocess.PIPE, text=True)
            if i == 0:
                first = p
            else:
                prev.close()
            prev = p.stdout
            procs.append(p)
        first.stdin.write(stdin_text)
        first.stdin.close()
        codes = [p.wait() for p in procs]
    return codes[-1]


class Lab:
    """ssh to hosts and VMs of the document, with the platform's key and user."""

    def __init__(self, doc):
        platform = platforms.of(doc)
        self.ssh = Ssh(user=platform.ssh_user() or "root", key=platform.ssh_key())
        self.address = {h["id"]: check_address(h["address"]) for h in doc["hosts"]}

    def run(self, where, script, timeout=60, check=False):
        p = subprocess.run(self.ssh.argv(where, "sh", "-s"), input=script, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"{where}: {(p.stderr or p.stdout).strip().splitlines()[-1:] or p.returncode}")
        return p


def watch_script(vm_id):
    """On the source: wait for the job, then print the elapsed ms when memory starts moving."""
    q = quote(vm_id)
    return (f"for i in $(seq 3000); do s=$(virsh domjobinfo --rawstats {q} 2>/dev/null) || exit 1\n"
            f"  case \"$s\" in *'memory_total: '[1-9]*) echo \"$s\" | grep '^time_elapsed:'; exit 0 ;; esac\n"
            f"  sleep 0.1; done; exit 1\n")


def resume_script(vm_id):
    """On the destination, after a forced finish: resume the guest once it has arrived paused."""
    q = quote(vm_id)
    return (f"for i in $(seq 600); do [ \"$(virsh domstate {q} 2>/dev/null)\" = paused ] "
            f"&& virsh resume {q} >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1\n")


def console_script(vm_id):
    """The guest's first panic or oops line in its console log on the host, if any."""
    name = quote(f"{vm_id}.console.log")
    return (f"f=$(find /tmp/vm5k /var/tmp /var/lib/vm5k -name {name} 2>/dev/null | head -1)\n"
            "[ -n \"$f\" ] && grep -m1 -E 'Kernel panic|BUG:|Oops|general protection' \"$f\"; true\n")


def start_dirty(ws, rate=None, log=LOG):
    args = ["dirty", "-w", f"{ws:g}", "-t", "3600"] + (["-r", f"{rate:g}"] if rate is not None else ["-c"])
    return (f"killall dirty 2>/dev/null; setsid {join(args)} > {log} 2>&1 < /dev/null &\n"
            f"for i in $(seq 50); do grep -q ready {log} && exit 0; sleep 0.1; done; cat {log}; exit 1\n")


def measure(p, reserved, run_dir, out):
    """Deploy, migrate, record; `out` holds the document and the record reached so far
    (main writes them whatever happens). Returns the exit status."""
    doc, src, dst = place(reserved, p["colocated"])
    lab = Lab(doc)
    placed = run_dir / "placed.json"
    placed.write_text(json.dumps(doc))
    deployed, migrated = run_dir / "deployed.json", run_dir / "migrated.json"
    record = {k: p[k] for k in ("dirty_rate", "bandwidth", "colocated", "iteration", "ws_mb", "max_s")}
    record.update(source=src, destination=dst, state="failed")
    out.update(doc=doc, record=record)
    current = placed
    t0 = time.monotonic()
    try:
        rc = pipeline([["vm5k-net"], ["vm5k-hosts"], ["vm5k-vms"]], placed.read_text(), deployed)
        current = deployed
        dep = out["doc"] = json.loads(deployed.read_text())
        if rc != 0 or any(vm.get("state") != "ready" for vm in dep["vms"]):
            record["error"] = f"deploy: exit {rc}"
            return 5
        record["deploy_s"] = round(time.monotonic() - t0, 1)
        vm, others = dep["vms"][0], dep["vms"][1:]
        vm_id = check_id(vm["id"])
        for o in others:
            lab.run(check_address(o["ip"]), start_dirty(16), check=True)
        lab.run(check_address(vm["ip"]), start_dirty(p["ws_mb"], p["dirty_rate"]), check=True)
        lab.run(lab.address[src], f"virsh migrate-setspeed {quote(vm_id)} {p['bandwidth']:g}\n", check=True)
        time.sleep(1)    # the workload at its pace before the migration starts
        forced, done, seen = threading.Event(), threading.Event(), {}

        def watchdog():
            if not done.wait(p["max_s"]):
                forced.set()
                say(f"{vm_id}: not finished after {p['max_s']:g} s: pausing it to finish")
                lab.run(lab.address[src], f"virsh suspend {quote(vm_id)}\n")
                lab.run(lab.address[dst], resume_script(vm_id), timeout=150)

        def watch():
            seen.update(migration.parse_jobinfo(lab.run(lab.address[src], watch_script(vm_id), timeout=400).stdout))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        dog = threading.Thread(target=watchdog, daemon=True)
        dog.start()
        m = subprocess.run(["vm5k-vms", "--migrate", f"{vm_id}={dst}", "-i", str(deployed), "-o", str(migrated)],
                           stderr=subprocess.PIPE, text=True, timeout=p["max_s"] + 600)
        done.set()
        dog.join()
        watcher.join(timeout=30)
        if migrated.exists() and migrated.stat().st_size:
            current = migrated
        dep = out["doc"] = json.loads(current.read_text())
        vm = dep["vms"][0]
        if vm.get("host") != dst:
            lines = [ln for ln in m.stderr.splitlines() if ln.strip()]
            record["error"] = f"migrate: exit {m.returncode}: {lines[-1] if lines else ''}"
            return 5
        lost = m.returncode != 0     # migrated, but the guest does not answer on the destination
        record.update(vm5k_migration_s=vm.get("timings", {}).get("migration"),
                      vm5k_downtime_ms=round(1000 * vm.get("timings", {}).get("downtime", 0)))
        stats = migration.parse_jobinfo(
            lab.run(lab.address[dst], f"virsh domjobinfo --completed --rawstats {quote(vm_id)}\n").stdout)
        record["jobinfo"] = stats
        record.update(migration.summary(stats))
        if seen.get("time_elapsed") is not None and record.get("migration_s") is not None:
            record["disk_s"] = round(seen["time_elapsed"] / 1000, 3)
            record["memory_s"] = round(record["migration_s"] - record["disk_s"], 3)
        record["state"] = "lost" if lost else "forced" if forced.is_set() else "converged"
        if lost:
            record["error"] = (vm.get("error") or {}).get("message")
            record["console"] = lab.run(lab.address[dst], console_script(vm_id)).stdout.strip()[-300:]
            say(f"{vm_id}: migrated in {record.get('migration_s')} s but lost on {dst}: {record['console'] or record['error']}")
            return 0
        said = lab.run(check_address(vm["ip"]), f"killall dirty; sleep 0.3; cat {LOG}; dirty -w {p['ws_mb']:g} -c -t 1\n").stdout
        parsed = migration.parse_dirty(said)
        record.update(achieved_rate=parsed.get("done", {}).get("rate_mb_s"), late_ms=parsed.get("done", {}).get("late_ms"),
                      max_rate=migration.calibration(said))
        say(f"D={p['dirty_rate']:g} B={p['bandwidth']:g} K={p['colocated']}: {record['state']}, "
            f"{record.get('migration_s')} s (memory {record.get('memory_s')} s), downtime {record.get('downtime_ms')} ms, {record.get('rounds')} rounds, "
            f"{(record.get('bytes') or 0) / migration.MB:.0f} MB sent; kept {record['achieved_rate']} MB/s")
        return 0
    finally:
        if current != placed:
            subprocess.run(["vm5k-vms", "--destroy", "-i", str(current), "-o", str(run_dir / "destroyed.json")])
            destroyed = run_dir / "destroyed.json"
            if destroyed.exists() and destroyed.stat().st_size:
                out["doc"] = json.loads(destroyed.read_text())


def main():
    try:
        p = params(os.environ)
        reserved = json.loads(Path(os.environ["RESERVED"]).read_text())
    except (InputError, KeyError, OSError, ValueError) as exc:
        print(f"combination.py: error: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(os.environ.get("VM5K_SWEEP_RUN", "."))
    doc_path = Path(os.environ.get("VM5K_SWEEP_DOC", run_dir / "deployment.json"))
    out = {"doc": reserved, "record": {"state": "failed"}}
    try:
        rc = measure(p, reserved, run_dir, out)
    except InputError as exc:
        out["record"]["error"], rc = str(exc), 2
    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        out["record"]["error"], rc = str(exc), 5
    finally:
        doc_path.write_text(json.dumps(dict(out["doc"], migration=out["record"])))
    if rc:
        print(f"combination.py: error: {out['record'].get('error')}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
