"""Boot policy, without ssh or clocks of its own (unit-tested with a simulated clock):

- **Admission**: a host boots at most `slots` guests at once; the next one starts when one
  of them is booted (or KO), so the CPU stays busy and no guest starves.
- **Stall detection on progress, not on a wall clock**: a booting guest is restarted when it
  shows no progress (console output, CPU time, a DHCP lease, TCP 22) for `window` seconds,
  or at once when its console shows a kernel panic, with that as the reason; a guest that
  is slow but moving is left alone. Once its TCP 22 is open, only SSH answering is
  progress: a booted guest that burns CPU without its sshd answering is stuck, not slow;
  as the SSH handshake of a starved guest is slow (45-57 s measured with 100 guests booting
  on 2 cores), that window is 3 times longer. Stalls are judged at the host's reports, not
  on the wall clock: a loaded host that reports late does not make its guests look stuck
  (measured: judged on the wall clock, 100 guests on 10 lab hosts thrashed, 56 KO), and a
  host that stops reporting is left to the deployment's ceiling.
  After `max_restarts` restarts it is KO with the reason.
"""
from dataclasses import dataclass, field

# a guest whose CPU demand (CPU time + time waiting for a CPU) grows by less than this
# share of the wall time is idle: an idle TCG guest still ticks (0.7-1 % of a core,
# measured), a booting one wants the CPU all the time, however little it gets
MIN_CPU_SHARE = 0.02
PANIC_MARK = "Kernel panic - not syncing"


PER_CORE = 8   # guests booting at once per core, KVM or TCG


def host_slots(host, per_core=PER_CORE):
    """Guests a host boots at once: 8 per core. Under KVM boots are short and mostly
    waiting. Under TCG a boot is CPU-bound, and measured on the lab (2 cores, 10 hosts):
    100 guests at once were ready in 334 s, while 4 per core (80 at once, then a second
    wave as ports 22 opened) took 534 s against a bare `virsh start` loop's 397 s in the
    same run: the second wave starts late and boots alone. 8 per core keeps the CPUs fed
    and still bounds a big host's start burst."""
    cores = max(1, int(host.get("cores") or 1))
    return max(1, round(cores * per_core))


class Admission:
    """Which waiting guests may start now. `slots`: {host id: guests booting at once}."""

    def __init__(self, slots):
        self.slots = dict(slots)
        self.booting = {}            # vm id -> host id

    def count(self, host=None):
        return sum(1 for h in self.booting.values() if host is None or h == host)

    def admit(self, waiting):
        """Take guests from `waiting` (a list of (vm id, host id), in order) that fit now,
        round-robin over hosts so that every host gets going; they count as booting."""
        chosen, queues = [], {}
        for vm_id, host in waiting:
            queues.setdefault(host, []).append(vm_id)
        while queues:
            for host in list(queues):
                if self.count(host) >= self.slots.get(host, 1):
                    del queues[host]
                    continue
                vm_id = queues[host].pop(0)
                self.booting[vm_id] = host
                chosen.append((vm_id, host))
                if not queues[host]:
                    del queues[host]
        return chosen

    def done(self, vm_id):
        self.booting.pop(vm_id, None)


@dataclass
class Progress:
    """What is known of one booting guest's progress."""
    started_at: float            # its last (re)start
    first_start: float = None
    last_progress: float = None
    console: int = 0
    cpu_ns: int = None
    seen_at: float = None        # when console/cpu were last read
    restarts: int = 0
    reasons: list = field(default_factory=list)
    booted: bool = False         # TCP 22 open: from then on only SSH answering is progress

    def __post_init__(self):
        if self.first_start is None:
            self.first_start = self.started_at
        if self.last_progress is None:
            self.last_progress = self.started_at

    def restarted(self, now, reason):
        self.restarts += 1
        self.reasons.append(reason)
        self.started_at = self.last_progress = now
        self.console, self.cpu_ns, self.seen_at = 0, None, None
        self.booted = False


class Stall:
    """Decides, from what a host reports of its guests, which to leave, restart or give up."""

    def __init__(self, window=60.0, max_restarts=2, ssh_window=None):
        self.window, self.max_restarts = window, max_restarts
        self.ssh_window = 3 * window if ssh_window is None else ssh_window

    def moved(self, progress, now, booted=False):
        """A readiness step (lease, TCP 22) was seen: progress. `booted`: TCP 22 is open."""
        progress.last_progress = now
        progress.booted = progress.booted or booted

    def observe(self, progress, now, console, cpu_ns, panic=None):
        """Record one report of the host (console bytes, CPU ns, a panic line or None)."""
        if panic:
            return self.act(progress, f"kernel panic: {panic.strip()[:160]}")
        grew = console > progress.console
        if cpu_ns is not None and progress.cpu_ns is not None and progress.seen_at is not None:
            wall_ns = (now - progress.seen_at) * 1e9
            grew = grew or (cpu_ns - progress.cpu_ns) > MIN_CPU_SHARE * wall_ns
        elif cpu_ns is not None and progress.cpu_ns is None and cpu_ns > 0:
            grew = True          # first report: it has run since it started
        if grew and not progress.booted:
            progress.last_progress = now
        progress.console, progress.cpu_ns, progress.seen_at = console, cpu_ns, now
        return self.check(progress, now)

    def check(self, progress, now):
        """None (leave it), ("restart", reason) or ("ko", reason), judged at the host's last
        report (`now` is only the time of the question): no report since the (re)start, no verdict."""
        if progress.seen_at is None:
            return None
        idle = progress.seen_at - progress.last_progress
        if idle < (self.ssh_window if progress.booted else self.window):
            return None
        if progress.booted:
            return self.act(progress, f"TCP 22 open but no SSH answer for {idle:.0f} s")
        return self.act(progress, f"no progress for {idle:.0f} s (console {progress.console} bytes"
                                  f"{'' if progress.cpu_ns is None else f', CPU demand {progress.cpu_ns / 1e9:.1f} s'})")

    def act(self, progress, reason):
        if progress.restarts >= self.max_restarts:
            return ("ko", reason)
        return ("restart", reason)
