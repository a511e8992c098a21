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

A DIR may have been edited or crafted: sweep.json is checked exactly like a new sweep
(check_spec), run.json records like the ones written here (check_record), every file is a
regular file of at most 64 MB, and nothing is read or written through a link out of DIR.
"""
import contextlib
import datetime
import fcntl
import json
import os
import signal
import socket
import stat
import tempfile
from pathlib import Path

from vm5k_doc.errors import InputError

from . import params as P

FORMAT = "vm5k-sweep/1"
STATES = ("todo", "running", "stale", "done", "failed", "skipped")
RECORD_STATES = ("todo", "running", "done", "failed", "skipped")  # stale is never written
MAX_FILE = 64 << 20  # bytes of any JSON file read from DIR or --grid
MAX_ARG = 128 << 10  # a command argument (Linux's limit for one)
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
    """Atomic: readers (status, another runner) never see half a file. The temporary file
    is a new one (mkstemp), never a link left there."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(obj, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def loads(data, where):
    """JSON text of at most MAX_FILE: NaN, Infinity and deep nesting are errors, not values."""
    if len(data) > MAX_FILE:
        raise InputError(f"{where}: larger than {MAX_FILE >> 20} MB")
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(f"{where}: unreadable (nested too deeply)") from None
    except ValueError as e:
        raise InputError(f"{where}: unreadable ({e})") from None


def read_json(path, default=None):
    """A regular file's JSON, or default if there is no file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except FileNotFoundError:
        return default
    except OSError as e:
        raise InputError(f"{path}: unreadable ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path}: not a regular file")
        data = f.read(MAX_FILE + 1)
    return loads(data, path)


def check_spec(spec):
    """The one check of a sweep's definition, whether built from flags or read from a
    sweep.json: returns it normalized, and its combinations."""
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} sweep")
    grid, filters, combos = P.check(spec.get("grid"), spec.get("filters", []))
    command = spec.get("command", [])
    if not isinstance(command, list) or not all(
            isinstance(a, str) and "\0" not in a and len(a) <= MAX_ARG for a in command):
        raise InputError("command: expected a list of arguments (text without NUL)")
    return dict(spec, grid=grid, filters=filters, command=command), combos


def _pid(v):
    return v is None or (type(v) is int and 1 < v < 1 << 22)  # never 0, -1 or 1: killpg takes them


def _int(v):
    return v is None or type(v) is int


def check_record(rec, path):
    """A run.json as written here, else an error naming it (no traceback, no killpg of a
    crafted pgid)."""
    c = rec.get("claimed_by") if isinstance(rec, dict) else None
    ok = (isinstance(rec, dict) and rec.get("state", "todo") in RECORD_STATES
          and type(rec.get("attempts", 0)) is int and _pid(rec.get("pgid")) and _int(rec.get("pgid_start"))
          and _int(rec.get("exit")) and isinstance(rec.get("duration", 0), (int, float))
          and (c is None or (isinstance(c, dict) and _pid(c.get("pid")) and _int(c.get("pid_start")))))
    if not ok:
        raise InputError(f"{path}: not a vm5k-sweep record")
    return rec


class Sweep:
    def __init__(self, path, spec):
        """spec: the content of sweep.json, new or stored, checked here (check_spec)."""
        self.dir = Path(path)
        self.spec, combos = check_spec(spec)
        self.grid = self.spec["grid"]
        self.filters = self.spec["filters"]
        self.command = self.spec["command"]
        self.names = P.names(self.grid)
        self.combos = {P.key(c): c for c in combos}

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path, grid=None, filters=(), command=(), create=True):
        """Open DIR; with a grid, create the sweep (unless not create) or check that DIR holds this same sweep."""
        d = Path(path)
        if d.exists() and not d.is_dir():
            raise InputError(f"{d}: not a directory")
        if grid is None:
            stored = cls._stored(d)
            if stored is None:
                raise InputError(f"{d}: no sweep here (no sweep.json); start one with -p NAME=VALUES")
            return stored
        new = cls(d, {"format": FORMAT, "grid": grid, "filters": list(filters), "command": list(command)})
        want = new.spec
        stored = cls._stored(d)
        if stored is None:
            if not command:
                raise InputError(f"no command: give it after --, e.g. `vm5k-sweep run {d} -p n=1,2 -- echo {{n}}`")
            if not create or not (d / "lock").exists():
                cls._check_empty(d)   # a foreign directory is left untouched (no lock file made)
            if not create:
                return new
        d.mkdir(parents=True, exist_ok=True)
        with _flock(d / "lock"):  # two invocations creating the same DIR agree on one spec
            stored = cls._stored(d)
            if stored is None:
                # under the lock: outside it, another invocation's sweep.json being written
                # made the directory look foreign (seen in CI: one of two concurrent runs failed)
                cls._check_empty(d)
                want["created"] = now()
                write_json(d / "sweep.json", want)
                return new
            for k in ("grid", "filters", "command"):
                if k == "command" and not want["command"]:
                    continue  # `run DIR -p ...` without CMD reuses the stored one
                if stored.spec[k] != want[k]:
                    raise InputError(f"{d} holds another sweep: its {k} differs ({json.dumps(stored.spec[k])}); use another DIR")
        return stored

    @staticmethod
    def _check_empty(d):
        if d.exists() and any(p.name != "lock" for p in d.iterdir()):
            raise InputError(f"{d}: not empty and not a vm5k-sweep directory (no sweep.json)")

    @classmethod
    def _stored(cls, d):
        """The sweep in DIR, checked exactly like a new one; None if DIR holds none."""
        path = d / "sweep.json"
        if not (d.is_dir() and os.path.lexists(path)):
            return None
        spec = read_json(path)
        try:
            sweep = cls(d, spec)
            if not sweep.command:
                raise InputError("no command")
        except InputError as e:
            raise InputError(f"{path}: {e}") from None
        return sweep

    # --- records ------------------------------------------------------------------------

    def lock(self):
        return _flock(self.dir / "lock")

    def run_dir(self, key):
        """DIR/runs/<key>; refused if a link there leads out of DIR."""
        rd = self.dir / "runs" / key
        if rd.resolve() != self.dir.resolve() / "runs" / key:
            raise InputError(f"{rd}: leads out of {self.dir} (a link?)")
        return rd

    def record(self, key):
        path = self.run_dir(key) / "run.json"
        return check_record(read_json(path, {"state": "todo"}), path)

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
    # a fresh open() per use: flock() then excludes other threads of this process too;
    # O_NOFOLLOW: a link planted as DIR/lock must not create a file elsewhere
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise InputError(f"{path}: cannot lock ({e.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
