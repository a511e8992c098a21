"""Per-VM readiness as a stream: lease seen, TCP 22 open, SSH answers with the VM's name.

Each step is timed (seconds since the stage started, in `vm.timings`) and emitted as an
event the moment it is seen; `Watch.last` always says the last thing seen, so a VM that
ends KO comes with a reason. Probes from the control node cost no process until TCP 22 is
open (a non-blocking connect per tick), then one `ssh VM hostname` per second at most.
"""
import errno
import select
import socket
import subprocess
import time
from dataclasses import dataclass, field

TCP_ATTEMPT = 1.0      # give up one connect() after this long, then try again
SSH_PROBE_EVERY = 1.0  # seconds between two ssh probes of one VM
TICK = 0.25


def read_leases(path):
    """dnsmasq lease file -> {mac: ip}; missing or unreadable -> {}."""
    leases = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                words = line.split()
                if len(words) >= 3:
                    leases[words[1].lower()] = words[2]
    except OSError:
        pass
    return leases


def short(name):
    return (name or "").split(".")[0]


@dataclass
class Watch:
    vm: dict
    started_at: float
    restarted: bool = False
    seen: set = field(default_factory=set)
    last: str = "started; no sign of life yet"
    sock: socket.socket | None = None
    sock_since: float = 0.0
    probe: subprocess.Popen | None = None
    next_probe: float = 0.0
    progress: object = None      # boot.Progress: what the host reports of its boot
    restarting: bool = False     # a restart is in flight: not probed meanwhile

    @property
    def id(self):
        return self.vm["id"]

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.probe and self.probe.poll() is None:
            self.probe.kill()
            self.probe.wait()
        self.probe = None


class Readiness:
    """Probes started VMs, one tick at a time (the boot loop, booting.py, drives it)."""

    def __init__(self, ssh, t0, emit, leases_path=None, clock=time.monotonic):
        self.ssh, self.t0, self.emit = ssh, t0, emit
        self.leases_path, self.clock = leases_path, clock

    def leases(self):
        return read_leases(self.leases_path) if self.leases_path else {}

    def mark(self, watch, step, message):
        now = self.clock()
        watch.seen.add(step)
        watch.vm.setdefault("timings", {})[step] = round(now - self.t0, 2)
        watch.last = f"{message} at {now - self.t0:.1f} s"
        self.emit(watch.vm, step)

    def step(self, watch, leases):
        """Advance one VM; True when it is ready."""
        vm = watch.vm
        mac = (vm.get("mac") or "").lower()
        if "lease" not in watch.seen and mac in leases:
            got = leases[mac]
            self.mark(watch, "lease", f"lease {got}" + ("" if got == vm.get("ip") else f" (planned {vm.get('ip')})"))
        if "tcp22" not in watch.seen:
            if self.tcp_open(watch):
                self.mark(watch, "tcp22", "TCP 22 open")
            return False
        return self.ssh_probe(watch)

    def tcp_open(self, watch):
        """Non-blocking connect to ip:22, checked once per tick."""
        now = self.clock()
        if watch.sock is None:
            watch.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            watch.sock.setblocking(False)
            watch.sock_since = now
            code = watch.sock.connect_ex((watch.vm["ip"], 22))
            if code not in (0, errno.EINPROGRESS):
                watch.close()
                return False
        _, writable, _ = select.select([], [watch.sock], [], 0)
        if writable:
            code = watch.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            watch.close()
            return code == 0
        if now - watch.sock_since > TCP_ATTEMPT:
            watch.close()
        return False

    def ssh_probe(self, watch):
        """`ssh VM hostname`: ready when the VM answers with its own name."""
        now = self.clock()
        if watch.probe is None:
            if now < watch.next_probe:
                return False
            argv = self.ssh.argv(watch.vm["ip"], "hostname")
            watch.probe = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True, start_new_session=True)
            return False
        if watch.probe.poll() is None:
            return False
        out, err = watch.probe.communicate()
        code, watch.probe = watch.probe.returncode, None
        watch.next_probe = now + SSH_PROBE_EVERY
        expected = short(watch.vm.get("hostname") or watch.vm["id"])
        answer = out.strip()
        if code == 0 and short(answer) == expected:
            self.mark(watch, "ssh", f"ssh answers as {answer}")
            return True
        if code == 0:
            watch.last = f"ssh answers as {answer!r}, expected {expected!r}"
        else:
            lines = [ln for ln in err.strip().splitlines() if ln.strip()]
            watch.last = f"TCP 22 open but ssh fails: {lines[-1] if lines else f'exit {code}'}"
        return False
