"""Run one generated script per host, all hosts in parallel, one ssh connection each.

The script goes on stdin of `sh -s`, so its size is not bounded by ARG_MAX and nothing
of it is on a command line. Output lines are handed to a callback as they arrive.
"""
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vm5k_doc.errors import InputError

SSH_OPTIONS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
               "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")


@dataclass
class Ssh:
    """How the control node reaches hosts and VMs: user and private key (stays here)."""
    user: str = "root"
    key: str | None = None

    def argv(self, address, *command):
        argv = ["ssh", *SSH_OPTIONS]
        if self.key:
            argv += ["-i", self.key, "-o", "IdentitiesOnly=yes"]
        return argv + ["-l", self.user, "--", address, *command]

    def public_key(self):
        if not self.key:
            return ""
        try:
            return Path(self.key + ".pub").read_text().strip()
        except OSError as exc:
            raise InputError(f"cannot read the public key {self.key}.pub: {exc.strerror}") from None


def default_key(platform):
    """VM5K_SSH_KEY, else the lab key on the lab, else the user's usual keys."""
    if os.environ.get("VM5K_SSH_KEY"):
        return os.environ["VM5K_SSH_KEY"]
    candidates = []
    if platform == "lab":
        state = os.environ.get("VM5K_LAB_STATE", "/var/lib/vm5k-lab")
        candidates.append(f"{state}/ssh/id_ed25519")
    home = Path.home() / ".ssh"
    candidates += [str(home / "id_ed25519"), str(home / "id_rsa")]
    return next((c for c in candidates if Path(c).exists()), None)


@dataclass
class HostResult:
    host: str
    returncode: int | None = None
    stderr: str = ""
    lines: list = field(default_factory=list)
    seconds: float = 0.0

    def error(self):
        """One line saying why the host's script failed as a whole, or None."""
        if self.returncode == 0:
            return None
        last = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        why = last[-1] if last else f"exit status {self.returncode}"
        return f"ssh to {self.host}: {why}" if self.returncode == 255 else why


def run_scripts(ssh, scripts, on_line=None, timeout=600):
    """scripts: {host_id: (address, script text)}; returns {host_id: HostResult}.

    on_line(host_id, line) is called from the reader threads (under one lock) as lines
    arrive. A host that does not finish within `timeout` is killed (returncode -9).
    """
    results, lock, threads, procs = {}, threading.Lock(), [], []

    def one(host, address, script):
        result = results[host] = HostResult(host)
        start = time.monotonic()
        proc = subprocess.Popen(ssh.argv(address, "sh", "-s"), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # Ctrl-C is ours to handle, not ssh's
        procs.append(proc)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
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
                        on_line(host, line)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err_thread.join(5)
        result.returncode = proc.returncode
        result.stderr = "".join(err)
        result.seconds = time.monotonic() - start

    for host, (address, script) in scripts.items():
        thread = threading.Thread(target=one, args=(host, address, script), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        for thread in threads:
            while thread.is_alive():  # join with a timeout so that Ctrl-C is seen at once
                thread.join(0.2)
    except KeyboardInterrupt:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        raise
    return results
