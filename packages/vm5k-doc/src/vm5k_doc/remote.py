"""Run one script per host, all hosts in parallel, one ssh connection each (vm5k_doc.ssh).

The script goes on the ssh session's stdin (SH_STDIN), so its size is not bounded by
ARG_MAX and nothing of it is on a command line. Output lines are handed to a callback as
they arrive. Each host gets a HostResult (exit status, stdout, stderr, seconds); the group
is a GroupResult, a dict {name: HostResult} with `succeeded` and `failed` as fabric's
ThreadingGroup has.

`ssh` is a vm5k_doc.ssh.Ssh (anything with `argv(address, *command)`); tests give it a
`program` that runs the command here instead of on a host.
"""
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from .errors import PlatformError

# the remote command: sh reads the script from the ssh session's stdin (as fd 3) while the
# script's commands read /dev/null, so one that reads stdin (apt-get, cat) cannot eat the
# rest of the script (dash reads a script on stdin by blocks, not by lines)
SH_STDIN = ("sh", "/dev/fd/3", "3<&0", "</dev/null")


@dataclass
class HostResult:
    host: str
    returncode: int | None = None   # None: could not run at all; -9: killed at the timeout
    stderr: str = ""
    lines: list = field(default_factory=list)
    seconds: float = 0.0
    timed_out: float | None = None  # the timeout, when it was reached

    @property
    def ok(self):
        return self.returncode == 0

    @property
    def stdout(self):
        return "".join(line + "\n" for line in self.lines)

    def error(self):
        """One line saying why the host's script failed as a whole, or None."""
        if self.ok:
            return None
        if self.timed_out is not None:
            return f"timed out after {self.timed_out:g} s"
        # stderr only: stdout holds the script's reports, the last of which may be another VM's "ok"
        last = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        if self.returncode is None:
            return last[-1] if last else "could not run"
        if self.returncode == 255:   # ssh's own failure: the host, not the script
            return f"ssh to {self.host}: {last[-1] if last else 'unreachable'}"
        return f"exit {self.returncode}: {last[-1]}" if last else f"exit {self.returncode}"

    def tail(self, lines=20):
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])


class GroupResult(dict):
    """{name: HostResult} of one parallel run."""

    @property
    def succeeded(self):
        return {name: r for name, r in self.items() if r.ok}

    @property
    def failed(self):
        return {name: r for name, r in self.items() if not r.ok}


def kill(proc):
    """Kill ssh and what it started here (a ProxyCommand): its own session's process group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_scripts(ssh, scripts, on_line=None, timeout=600, on_done=None, stop=None):
    """scripts: {name: (address, script text)}; returns a GroupResult {name: HostResult}.

    on_line(name, line) is called from the reader threads (under one lock) as lines
    arrive; on_done(name, result) as each host finishes (progress counts). A host that
    does not finish within `timeout` is killed (returncode -9); so is every one once `stop`
    (a threading.Event) is set: a script that reports until told to stop.
    """
    results, lock, threads, procs = GroupResult(), threading.Lock(), [], []

    def one(name, argv, script):
        result = results[name] = HostResult(name)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)  # Ctrl-C is ours to handle, not ssh's
        except OSError as exc:
            result.stderr = f"cannot run ssh: {exc.strerror or exc}"
            return
        procs.append(proc)

        def timed_out():
            result.timed_out = timeout
            kill(proc)

        timer = threading.Timer(timeout, timed_out)
        timer.daemon = True   # a script left behind (a stage's ending) must not hold the exit
        timer.start()
        if stop is not None:
            threading.Thread(target=lambda: stop.wait() and proc.poll() is None and kill(proc), daemon=True).start()
        err = []
        err_thread = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        err_thread.start()
        try:
            try:
                proc.stdin.write(script)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            for line in proc.stdout:
                line = line.rstrip("\n")
                with lock:
                    result.lines.append(line)
                    if on_line:
                        on_line(name, line)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                kill(proc)
                proc.wait()
        err_thread.join(5)
        result.returncode = proc.returncode
        result.stderr = "".join(err)
        result.seconds = round(time.monotonic() - start, 3)

    # every destination is checked (vm5k_doc.ssh) before any host is reached
    argvs = {name: ssh.argv(address, *SH_STDIN) for name, (address, _) in scripts.items()}

    def one_then_done(name, argv, script):
        try:
            one(name, argv, script)
        finally:
            if on_done and name in results:
                with lock:
                    on_done(name, results[name])

    for name, (_, script) in scripts.items():
        thread = threading.Thread(target=one_then_done, args=(name, argvs[name], script), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        for thread in threads:
            while thread.is_alive():  # join with a timeout so that Ctrl-C is seen at once
                thread.join(0.2)
    except KeyboardInterrupt:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)
        raise
    return results


def run_script(ssh, address, script, timeout=300):
    """One script on one host: its stdout, or PlatformError with one line saying why."""
    result = run_scripts(ssh, {address: (address, script)}, timeout=timeout)[address]
    if not result.ok:
        raise PlatformError(f"{address}: {result.error()}")
    return result.stdout
