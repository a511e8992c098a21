"""Claim combinations and run the command for each, N at a time, until none is left.

The command runs as argv (never through a shell unless the user writes `sh -c`), in the
caller's working directory, stdin from /dev/null, with:

    VM5K_P_<NAME>=value        every parameter, name upper-cased; no other variable is
                               set from a parameter, so none can be PATH, LD_PRELOAD, IFS...
    {name} in an argument      the value, as that argument's text ("" if the combination
                               lacks that sub-parameter); but in a shell's script, that is
                               from the -c of `sh -c` (any shell, any options, after `env`,
                               `timeout`...) on, "$VM5K_P_<NAME>": a value is never shell
                               text. Other braces are left alone.
    VM5K_SWEEP_DIR, VM5K_SWEEP_KEY, VM5K_SWEEP_RUN (the combination's directory)
    VM5K_SWEEP_DOC             where the command may write its deployment document

The command gets its own process group, so Ctrl-C, SIGTERM and --timeout stop a whole
pipeline; on Linux it is also killed if the runner dies (PR_SET_PDEATHSIG), so a
SIGKILLed runner leaves no orphan finishing a combination that will be run again.
"""
import ctypes
import json
import os
import re
import signal
import subprocess
import threading
import time

from vm5k_doc.errors import InputError
from vm5k_doc.status import ExitStatus

from .store import loads, now, proc_start

DOC_MAX = 64 << 20  # stdout bigger than this is not parsed as a document
GRACE = 10  # seconds between SIGTERM and SIGKILL when stopping a command

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before any fork
except (OSError, AttributeError):
    _prctl = None


def _child_setup(parent):
    # In the child between fork and exec. The death signal follows the forking *thread*,
    # which is fine: each worker thread waits for its command before doing anything else.
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the runner died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)


def variable(name):
    return f"VM5K_P_{name.upper()}"


def environment(sweep, key, combo, base=None):
    # only VM5K_P_*: a parameter named PATH or LD_PRELOAD must not change what runs;
    # inherited VM5K_P_* go, so that an absent sub-parameter is unset
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("VM5K_P_")}
    for n, v in combo.items():
        env[variable(n)] = v
    rd = sweep.run_dir(key).resolve()
    env.update(VM5K_SWEEP_DIR=str(sweep.dir.resolve()), VM5K_SWEEP_KEY=key,
               VM5K_SWEEP_RUN=str(rd), VM5K_SWEEP_DOC=str(rd / "deployment.json"))
    return env


SHELLS = {"sh", "ash", "bash", "dash", "zsh", "ksh", "mksh", "yash", "posh", "rbash", "csh", "tcsh", "fish"}
_C_OPTION = re.compile(r"-[A-Za-z]*c[A-Za-z]*|--command(=.*)?")


def substitute(argv, combo, names):
    """{name} -> the value as argument text, but "$VM5K_P_<NAME>" in a shell's script, so
    that a value never is shell text. The rule errs on the safe side: from the first -c
    (-ec, -xc...) after a shell's name on, every argument is taken as shell text, wherever
    the shell sits (`env sh -c`, `timeout 9 bash --norc -o errexit -c`, `env -S 'sh -c ...'`)."""
    if not names:
        return list(argv)
    pat = re.compile(r"\{(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\}")
    first = _shell_text_from(argv)
    plain = lambda m: combo.get(m[1], "")
    # a constant reference: whatever quotes surround it, the shell only expands a variable
    ref = lambda m: f'"${variable(m[1])}"' if m[1] in combo else "''"
    return [pat.sub(ref if i >= first else plain, a) for i, a in enumerate(argv)]


def _shell_text_from(argv):
    """The index of the first argument a shell may read as script (len(argv) if none): the
    one holding the -c that follows a shell's name. Words are split on blanks to see
    `env -S 'sh -c ...'` too."""
    shell = False
    for i, word in enumerate(argv):
        for token in word.split():
            if os.path.basename(token) in SHELLS:
                shell = True
            elif shell and _C_OPTION.fullmatch(token):
                return i
    return len(argv)


def _capture_document(rd):
    """Keep the command's document: the file it wrote at $VM5K_SWEEP_DOC, or its stdout if JSON."""
    doc = rd / "deployment.json"
    if doc.exists():
        return True
    out = rd / "stdout"
    if not 0 < out.stat().st_size <= DOC_MAX:
        return False
    try:
        obj = loads(out.read_bytes(), out)
    except InputError:  # not JSON, or JSON no document could be (NaN, too deep)
        return False
    if not isinstance(obj, dict):
        return False
    doc.write_text(json.dumps(obj, indent=1) + "\n")
    return True


class Runner:
    def __init__(self, sweep, jobs=1, retry_failed=False, timeout=None, log=None, progress=None):
        self.sweep, self.jobs, self.retry_failed, self.timeout = sweep, max(1, jobs), retry_failed, timeout
        self.log = log or (lambda msg, verbose=False: None)
        self.progress = progress   # a vm5k_doc.progress.Progress: done/failed/running of N
        self.stop = threading.Event()
        self.procs = {}  # key -> Popen, to stop them on interrupt
        self.lock = threading.Lock()
        self.ran = 0
        self.error = None  # the first error a worker met outside a command (a bad record)

    def run(self):
        """Run until nothing is left to claim. Returns the exit status."""
        self.active = self.jobs
        self.finished = threading.Event()  # set when the last worker returns
        old = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
        try:
            for i in range(self.jobs):
                threading.Thread(target=self._worker, name=f"w{i}", daemon=True).start()
            # Event.wait, not Thread.join: a join interrupted by a signal may report a live
            # thread as finished (CPython < 3.12), and the process would exit under it
            while not self.finished.wait(0.2):
                pass
        except KeyboardInterrupt:
            self._interrupt()
            return ExitStatus.INTERRUPTED
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
        if self.error is not None:
            raise self.error
        c = self.sweep.counts()
        return ExitStatus.PARTIAL if c["failed"] else ExitStatus.OK

    def _interrupt(self):
        self.stop.set()
        self.log("interrupted: stopping the running commands")
        with self.lock:
            procs = list(self.procs.values())
        for p in procs:
            _killpg(p.pid, signal.SIGTERM)
        try:
            self.finished.wait(GRACE)
        except KeyboardInterrupt:  # a second Ctrl-C: no more patience
            pass
        for p in procs:
            _killpg(p.pid, signal.SIGKILL)
        self.finished.wait(2)  # the workers put their combinations back to todo

    def _worker(self):
        try:
            while not self.stop.is_set():
                got = self.sweep.claim(self.retry_failed)
                if got is None:
                    return
                key, combo, rec = got
                try:
                    self._run_one(key, combo)
                except Exception as e:  # a bug or a full disk: record it, do not leave it running
                    self.sweep.update(key, state="failed", end=now(), error=f"{type(e).__name__}: {e}")
                    self.log(f"failed {key}: {type(e).__name__}: {e}")
        except Exception as e:  # DIR itself is wrong (a crafted record): the others stop too
            with self.lock:
                self.error = self.error or e
            self.stop.set()
        finally:
            with self.lock:
                self.active -= 1
                if self.active == 0:
                    self.finished.set()

    def _run_one(self, key, combo):
        sw = self.sweep
        rd = sw.run_dir(key)
        for f in ("stdout", "stderr", "deployment.json"):  # a retry starts clean
            (rd / f).unlink(missing_ok=True)
        argv = substitute(sw.command, combo, sw.names)
        start, t0 = now(), time.monotonic()
        sw.update(key, start=start, argv=argv)
        self.log(f"start {key}", verbose=True)
        self._count(running=1)
        fields = {}
        with open(rd / "stdout", "wb") as out, open(rd / "stderr", "wb") as err:
            try:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     env=environment(sw, key, combo), process_group=0,
                                     preexec_fn=lambda parent=os.getpid(): _child_setup(parent))
            except OSError as e:
                err.write(f"vm5k-sweep: cannot run {argv[0]!r}: {e.strerror}\n".encode())
                p, rc = None, 127
            if p is not None:
                with self.lock:
                    self.procs[key] = p
                sw.update(key, pgid=p.pid, pgid_start=proc_start(p.pid))
                try:
                    rc = p.wait(self.timeout)
                except subprocess.TimeoutExpired:
                    fields["timeout"] = True
                    rc = _stop(p)
                with self.lock:
                    self.procs.pop(key, None)
        dur = round(time.monotonic() - t0, 3)
        self._count(running=-1)
        if self.stop.is_set() and rc != 0:
            # stopped by us: back to todo, the next run does it again
            sw.update(key, state="todo", end=now(), duration=dur, note="interrupted", pgid=None, pgid_start=None)
            return
        if rc < 0:
            fields["signal"] = -rc
            rc = 128 - rc
        state = "done" if rc == 0 else "failed"
        sw.update(key, state=state, exit=rc, end=now(), duration=dur, pgid=None, pgid_start=None,
                  document=_capture_document(rd), **fields)
        with self.lock:
            self.ran += 1
        self._count(**{state: 1})
        self.log(f"{state} {key} (exit {rc}, {dur:.1f}s)", verbose=state == "done")

    def _count(self, **delta):
        if self.progress is not None:
            with self.lock:
                self.progress.update(**{k: self.progress.counts.get(k, 0) + n for k, n in delta.items()})


def _stop(p):
    _killpg(p.pid, signal.SIGTERM)
    try:
        return p.wait(GRACE)
    except subprocess.TimeoutExpired:
        _killpg(p.pid, signal.SIGKILL)
        return p.wait()


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def run(sweep, jobs=1, retry_failed=False, timeout=None, log=None, progress=None):
    return Runner(sweep, jobs, retry_failed, timeout, log, progress).run()


def plan(sweep):
    """What `run` would do, without doing it: one {key, params, state, argv} per combination."""
    for k, c, _rec, st in sweep.records():
        yield {"key": k, "params": c, "state": st, "argv": substitute(sweep.command, c, sweep.names)}
