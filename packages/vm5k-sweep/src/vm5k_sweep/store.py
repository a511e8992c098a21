"""A sweep's state, kept in its directory as plain files a human can read and edit.

    DIR/sweep.json             what the sweep is: grid, filters, command (fixed at creation)
    DIR/lock                   every state change happens under flock() on this file
    DIR/runs/<key>/params.json the combination, {name: value}
    DIR/runs/<key>/run.json    state, attempts, claimer, start, end, duration, exit, argv
    DIR/runs/<key>/stdout, stderr, deployment.json (if the command produced a document)

States: todo (no run.json yet, or reset), running, done, failed, skipped.
A `running` combination whose runner is gone is `stale` and is claimed again (what is left
of its command is killed first): the runner is a (host, pid, pid start time) triple, so a
reused pid or a SIGKILLed runner cannot leave it stuck (execo's ParamSweeper could).
"""
import contextlib
import datetime
import fcntl
import json
import os
import signal
import socket
from pathlib import Path

from vm5k_doc.errors import InputError

from . import params as P

FORMAT = "vm5k-sweep/1"
STATES = ("todo", "running", "stale", "done", "failed", "skipped")
HOST = socket.gethostname()


def now():
    return datetime.datetime.now(datetime.UTC).astimezone().isoformat(timespec="milliseconds")


def proc_start(pid):
    """A process's start time in clock ticks since boot (Linux), to tell reused pids apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def me():
    return {"host": HOST, "pid": os.getpid(), "pid_start": proc_start(os.getpid())}


def _pid_alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start is None or proc_start(pid) in (None, start)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def claim_alive(rec):
    """Is the runner that claimed a `running` combination alive? Unknown (other host) = yes."""
    c = rec.get("claimed_by") or {}
    if c.get("host") != HOST:
        return True
    return bool(c.get("pid")) and _pid_alive(c["pid"], c.get("pid_start"))


def kill_orphans(rec):
    """A dead runner's command may live on (a pipeline's children): nobody will record its
    result and it would race with the retry, so it goes. Its group leader alive with another
    start time means the pgid was reused: not ours, left alone."""
    pg = rec.get("pgid")
    if not pg or (rec.get("claimed_by") or {}).get("host") != HOST:
        return
    start = proc_start(pg)
    if start is not None and start != rec.get("pgid_start"):
        return
    if _group_alive(pg):
        try:
            os.killpg(pg, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def write_json(path, obj):
    """Atomic: readers (status, another runner) never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(obj)}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: unreadable ({e})") from None


class Sweep:
    def __init__(self, path, spec):
        self.dir = Path(path)
        self.spec = spec  # the content of sweep.json
        self.grid = spec["grid"]
        self.filters = spec.get("filters", [])
        self.command = spec.get("command", [])
        self.names = P.names(self.grid)
        self.combos = {P.key(c): c for c in P.combinations(self.grid, self.filters)}

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path, grid=None, filters=(), command=(), create=True):
        """Open DIR; with a grid, create the sweep (unless not create) or check that DIR holds this same sweep."""
        d = Path(path)
        if d.exists() and not d.is_dir():
            raise InputError(f"{d}: not a directory")
        if grid is None:
            spec = cls._read_spec(d)
            if spec is None:
                raise InputError(f"{d}: no sweep here (no sweep.json); start one with -p NAME=VALUES")
            return cls(d, spec)
        if not P.combinations(grid, filters):
            raise InputError("empty grid: no combination to run (check -p and --filter)")
        want = {"format": FORMAT, "grid": grid, "filters": list(filters), "command": list(command)}
        if cls._read_spec(d) is None and d.exists() and any(p.name != "lock" for p in d.iterdir()):
            raise InputError(f"{d}: not empty and not a vm5k-sweep directory (no sweep.json)")
        if cls._read_spec(d) is None:
            if not command:
                raise InputError(f"no command: give it after --, e.g. `vm5k-sweep run {d} -p n=1,2 -- echo {{n}}`")
            if not create:
                return cls(d, want)
        d.mkdir(parents=True, exist_ok=True)
        with _flock(d / "lock"):  # two invocations creating the same DIR agree on one spec
            spec = cls._read_spec(d)
            if spec is None:
                spec = dict(want, created=now())
                write_json(d / "sweep.json", spec)
            else:
                for k in ("grid", "filters", "command"):
                    if k == "command" and not want["command"]:
                        continue  # `run DIR -p ...` without CMD reuses the stored one
                    if spec.get(k) != want[k]:
                        raise InputError(f"{d} holds another sweep: its {k} differs ({json.dumps(spec.get(k))}); use another DIR")
        return cls(d, spec)

    @staticmethod
    def _read_spec(d):
        spec = read_json(d / "sweep.json") if d.is_dir() else None
        if spec is not None and (not isinstance(spec, dict) or spec.get("format") != FORMAT or "grid" not in spec):
            raise InputError(f"{d}/sweep.json: not a {FORMAT} sweep")
        return spec

    # --- records ------------------------------------------------------------------------

    def lock(self):
        return _flock(self.dir / "lock")

    def run_dir(self, key):
        return self.dir / "runs" / key

    def record(self, key):
        return read_json(self.run_dir(key) / "run.json", {"state": "todo"})

    def state(self, rec):
        """The effective state: `running` with a dead claimer is `stale`."""
        s = rec.get("state", "todo")
        return "stale" if s == "running" and not claim_alive(rec) else s

    def save(self, key, rec):
        rd = self.run_dir(key)
        if not rd.exists():
            rd.mkdir(parents=True, exist_ok=True)
            write_json(rd / "params.json", self.combos[key])
        write_json(rd / "run.json", rec)

    def records(self):
        """(key, params, record, effective state) for every combination, in grid order."""
        for k, c in self.combos.items():
            rec = self.record(k)
            yield k, c, rec, self.state(rec)

    # --- transitions (all under the lock) -----------------------------------------------

    def claim(self, retry_failed=False):
        """Take the first combination to run; None when there is nothing left to take."""
        wanted = {"todo", "stale"} | ({"failed"} if retry_failed else set())
        with self.lock():
            for k, c, rec, st in self.records():
                if st in wanted and not (st == "failed" and rec.get("retried_by") == me()):
                    new = {"state": "running", "attempts": rec.get("attempts", 0) + 1,
                           "claimed_by": me(), "claimed": now()}
                    if st == "failed":
                        new["retried_by"] = me()  # --retry-failed retries once per invocation
                    if st == "stale":
                        kill_orphans(rec)
                        new["note"] = f"retried after a dead claimer (pid {rec['claimed_by'].get('pid')})"
                    self.save(k, new)
                    return k, c, new
        return None

    def update(self, key, **fields):
        with self.lock():
            rec = self.record(key)
            rec.update(fields)
            for k in [k for k, v in fields.items() if v is None]:
                del rec[k]  # None clears a field: run.json stays short
            self.save(key, rec)
            return rec

    def set_state(self, keys, state, force=False):
        """reset (-> todo) or skip: returns the keys changed; live runs are left alone unless force."""
        changed = []
        with self.lock():
            for k in keys:
                rec = self.record(k)
                if self.state(rec) == "running" and not force:
                    continue
                attempts = rec.get("attempts", 0)
                self.save(k, {"state": state, "attempts": attempts, "changed": now()})
                changed.append(k)
        return changed

    def counts(self):
        n = dict.fromkeys(STATES, 0)
        for *_, st in self.records():
            n[st] += 1
        return n


@contextlib.contextmanager
def _flock(path):
    # a fresh open() per use: flock() then excludes other threads of this process too
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
