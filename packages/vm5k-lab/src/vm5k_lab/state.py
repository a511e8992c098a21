"""Where the lab keeps its state, and how it runs and stops processes (always by pid).

Layout (``VM5K_LAB_STATE``, default /var/lib/vm5k-lab; kept by ``down``: ``ssh/``,
``virt.json``, ``libvirt-cache/``; everything else is runtime and removed by ``down``):

    lab.json               what ``up`` was asked for (hosts, cores, mem_mb)
    virt.json              kvm|qemu decision, with what it was decided on
    ssh/id_ed25519[.pub]   the lab key; ssh/authorized_keys for the hosts' sshds
    net/                   dnsmasq.conf, dnsmasq.pid, leases, log, dhcp-hosts.d/, hosts.d/
    hosts/hostN/           sshd_config, host key, sshd.pid, private libvirt dirs, images/
    reference/             lab.json, kavlan-and-subnets.json
    libvirt-cache/         a copy of one host's /var/cache/libvirt (qemu capabilities)

Images are cached under ``VM5K_LAB_CACHE`` (default /var/cache/vm5k-lab).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from vm5k_doc.errors import PlatformError

log = logging.getLogger("vm5k_lab")


class LabError(PlatformError):
    """A one-line, user-facing failure of the lab (exit 5, like every platform failure)."""


def state_dir() -> Path:
    return Path(os.environ.get("VM5K_LAB_STATE", "/var/lib/vm5k-lab"))


def cache_dir() -> Path:
    return Path(os.environ.get("VM5K_LAB_CACHE", "/var/cache/vm5k-lab"))


def net_dir() -> Path:
    return state_dir() / "net"


def hosts_dir() -> Path:
    return state_dir() / "hosts"


def host_dir(name: str) -> Path:
    return hosts_dir() / name


def ssh_dir() -> Path:
    return state_dir() / "ssh"


def key_path() -> Path:
    return ssh_dir() / "id_ed25519"


def reference_dir() -> Path:
    return state_dir() / "reference"


def config_path() -> Path:
    return state_dir() / "lab.json"


LOCK_PATH = Path("/run/vm5k-lab.lock")


# ---------------------------------------------------------------- small file helpers

def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(data, indent=1, sort_keys=False) + "\n")


def read_json(path: Path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return default


# ---------------------------------------------------------------- commands

def run(argv, *, check=True, input=None, timeout=120, env=None) -> subprocess.CompletedProcess:
    """Run argv (a list, never a shell string), capture output, raise LabError on failure."""
    argv = [str(a) for a in argv]
    log.debug("run: %s", " ".join(argv))
    try:
        p = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise LabError(f"command not found: {argv[0]} (run `make setup`)") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"timed out after {timeout} s: {' '.join(argv)}") from None
    if check and p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv[:4])}{' ...' if len(argv) > 4 else ''} failed "
                       f"({p.returncode}): {msg[-1] if msg else 'no output'}")
    return p


# ---------------------------------------------------------------- processes, by pid

def proc_state(pid: int) -> str | None:
    """The one-letter state of pid ('R', 'S', 'Z', ...), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def proc_cmdline(pid: int) -> str:
    """pid's command line, arguments joined by spaces ("" if there is no such process)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int | None, comm: str | None = None, cmdline: str | None = None) -> bool:
    """pid runs and is not a zombie (PID 1 here reaps slowly), is `comm` if given and its
    command line holds `cmdline` if given (for interpreters and shells, whose comm says little)."""
    if not pid or pid <= 0:
        return False
    st = proc_state(pid)
    if st is None or st in ("Z", "X"):
        return False
    if comm is not None:
        c = proc_comm(pid) or ""
        # /proc/PID/comm is truncated to 15 characters
        if not (c == comm[:15] or c.startswith(comm[:15])):
            return False
    return cmdline is None or cmdline in proc_cmdline(pid)


def descendants(pid: int) -> list[int]:
    """Every descendant of pid (read from /proc, deepest last)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int(Path(d, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def read_pid(path: Path) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pidfile_alive(path: Path, comm: str | None = None, cmdline: str | None = None,
                  drop_stale: bool = False) -> int | None:
    """The pid in `path` if that process is alive (see alive()), else None; with
    `drop_stale`, a file naming no such process is removed."""
    pid = read_pid(path)
    if alive(pid, comm, cmdline):
        return pid
    if drop_stale and Path(path).exists():
        log.debug("stale pid file %s (%s)", path, pid)
        Path(path).unlink(missing_ok=True)
    return None


def wait_for(pred, timeout: float, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


def send_signal(pid: int, sig: int = signal.SIGTERM) -> None:
    """Signal pid; a process already gone (or no longer ours to signal) is no error."""
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_pids(pids: list[int], timeout: float = 5.0) -> None:
    """TERM every running pid, wait until they are gone (or zombies), then KILL the rest."""
    pids = [p for p in pids if alive(p)]
    for p in pids:
        send_signal(p)
    if pids and not wait_for(lambda: not any(alive(p) for p in pids), timeout):
        log.debug("pids %s ignored TERM; KILL", [p for p in pids if alive(p)])
        for p in pids:
            if alive(p):
                send_signal(p, signal.SIGKILL)
        wait_for(lambda: not any(alive(p) for p in pids), 5)


def stop_pid(pid: int | None, comm: str | None = None, timeout: float = 5.0,
             tree: bool = False) -> bool:
    """TERM pid, wait until it is gone (or a zombie), then KILL; with `tree`, then its
    descendants found before (daemons that leave children behind). True if it was running."""
    if not alive(pid, comm):
        return False
    kids = descendants(pid) if tree else []
    stop_pids([pid], timeout)
    stop_pids(kids, 2)
    return True


def stop_pidfile(path: Path, comm: str | None = None, timeout: float = 5.0) -> bool:
    pid = read_pid(path)
    was = stop_pid(pid, comm, timeout)
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
    return was


def lab_config() -> dict | None:
    return read_json(config_path())


# ---------------------------------------------------------------- the machine-wide lab lock

class lab_lock:
    """Exclusive flock on /run/vm5k-lab.lock: serialises lab sessions of everyone on this
    machine (pytest sessions, benches, `vm5k-lab up/down`). Re-entrant in a process, and a
    no-op when VM5K_LAB_LOCKED=1 (set by whoever holds it for its children)."""

    _depth = 0
    _fd = None

    def __init__(self, timeout: float | None = None, wait_message: str | None = None):
        self.timeout = timeout
        self.wait_message = wait_message

    def __enter__(self):
        import fcntl

        cls = type(self)
        if os.environ.get("VM5K_LAB_LOCKED") == "1" or cls._depth:
            cls._depth += 1
            return self
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self.wait_message:
                log.warning("%s", self.wait_message)
            if self.timeout is None:
                # a blocking wait: polling never wins against `flock` waiters (benches,
                # other sessions), which the kernel wakes first
                fcntl.flock(fd, fcntl.LOCK_EX)
            end = None if self.timeout is None else time.monotonic() + self.timeout
            while self.timeout is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if end is not None and time.monotonic() > end:
                        os.close(fd)
                        raise LabError(f"the lab is locked by another session ({LOCK_PATH}) "
                                       f"for more than {self.timeout:.0f} s") from None
                    time.sleep(0.5)
        cls._fd = fd
        cls._depth = 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        cls._depth -= 1
        if cls._depth == 0 and cls._fd is not None:
            os.close(cls._fd)   # releases the flock
            cls._fd = None
        return False
