"""The boot loop: start defined VMs as their hosts can boot them, watch each one's progress,
restart the stuck and the panicked, until every VM is ready or KO.

One thread (this loop) owns every VM record; the per-host scripts run in a thread pool
and report through a queue. Per host and step, one ssh connection at a time:

    create    disks and domains of the host's VMs; the first ones admission lets in are
              started as soon as they are defined (no second connection); the loop probes
              and admits meanwhile (a host's creation takes minutes on a loaded machine)
    start     the next VMs admission lets in (boot.Admission), as a batch
    progress  one session while the host has booting VMs, a report every POLL seconds:
              console bytes, CPU time and a panic line of each (scripts.monitor_script),
              judged by boot.Stall; stopped (killed) when the host has none left
    restart   the VMs Stall gives up on, as a batch

Readiness (lease, TCP 22, SSH answers with its name) is probed from the control node
(readiness.py), without a process until TCP 22 opens.
"""
import queue
import threading
import time

from . import boot, scripts
from .plan import vm_dir_of
from .readiness import TICK, Watch

POLL = 15.0  # seconds between two progress reports of one host (each costs the host a virsh)


class BootLoop:
    def __init__(self, dep, readiness, admission, stall, timeout, bar=None, clock=time.monotonic):
        self.dep, self.readiness, self.admission, self.stall = dep, readiness, admission, stall
        self.timeout, self.bar, self.clock = timeout, bar, clock
        self.reports = queue.Queue()    # (kind, host, vm id, step, ok, rest, at) from the workers
        self.creating = {}              # host -> vm ids its create script has not defined (or started) yet
        self.first = set()              # vm ids the create scripts start themselves
        self.waiting = []               # (vm id, host) defined, waiting for admission
        self.starting = {}              # host -> vm ids of its start batch in flight
        self.restarting = {}            # host -> vm ids of its restart batch in flight
        self.to_restart = {}            # host -> vm ids decided, not sent yet
        self.monitors = {}              # host -> the Event that stops its progress reports
        self.live = set()               # those Events whose session has not ended yet
        self.next_poll = {}             # host -> when its monitor may start (again)
        self.watches = {}               # vm id -> Watch, for started VMs not ready nor KO
        self.failed = []
        self.counts = {"defined": 0, "started": 0, "ready": 0, "ko": 0, "restarts": 0}

    def submit(self, slots, host, kind, script, timeout=300, stop=None):
        """Run one host's script in a daemon thread, at most `slots` (a semaphore) at once; its
        lines, then its end, come as reports. Daemon: the stage does not wait, at its end or
        on Ctrl-C, for a progress report still in flight (its document goes out at once)."""
        def work():
            result = None
            slots.acquire()
            try:
                def on_line(_, line):
                    parsed = scripts.parse_line(line)
                    if parsed:
                        self.reports.put((kind, host, *parsed, self.clock()))
                result = self.dep.run_per_host(kind, lambda h, group: script, [{"host": host}],
                                               on_line=on_line, timeout=timeout, stop=stop)[host]
            finally:
                slots.release()
                ok, error = (result.ok, result.error()) if result else (False, "the script did not run")
                self.reports.put((kind + "-done", host, stop, None, ok, error, self.clock()))
        threading.Thread(target=work, daemon=True).start()

    def busy(self):
        """Host scripts the loop must see the end of (not progress reports: information only)."""
        return bool(self.creating or self.starting or self.restarting or self.to_restart
                    or not self.reports.empty())

    def run(self, vms, create_script):
        """Create and boot these VMs; `create_script(host, vms, start=vm ids)` makes a host's
        create script. Returns the watches of those that ended KO."""
        by_id = {vm["id"]: vm for vm in vms}
        hosts = sorted({vm["host"] for vm in vms})
        # per host at most a create, a start or restart, and its progress reports at once
        slots = threading.Semaphore(min(512, 3 * len(hosts) + 2))
        self.first = {v for v, _ in self.admission.admit([(vm["id"], vm["host"]) for vm in vms])}
        for host in hosts:
            group = [vm for vm in vms if vm["host"] == host]
            self.creating[host] = {vm["id"] for vm in group}
            # a loaded host's creation took minutes (10 VMs: 194 s): the ceiling, not 300 s
            self.submit(slots, host, "create", create_script(host, group, self.first),
                        timeout=max(300, self.timeout))
        try:
            while self.waiting or self.watches or self.admission.booting or self.busy():
                self.waiting = self.admit(slots, self.waiting)
                self.drain(by_id)
                self.probe()
                self.judge()
                self.send_restarts(slots)
                self.monitor(slots)
                self.show()
                time.sleep(TICK)
        finally:
            for watch in self.watches.values():
                watch.close()
            for stop in self.monitors.values():
                stop.set()
            deadline = self.clock() + 3   # their ssh killed here, not left to the remote tick bound
            while self.live and self.clock() < deadline:
                self.drain(by_id)
                time.sleep(0.02)
        return self.failed

    # ------------------------------------------------------------ create, start

    def created(self, vm, step, ok, message, at):
        """One line of a host's create script: disk, seed, define, and start for its first VMs."""
        vm_id = vm["id"]
        if not ok:
            self.creating[vm["host"]].discard(vm_id)
            self.create_failed(vm, step, message or f"{step} failed")
        elif step == "define":
            self.dep.set_state(vm, "defined", "defined")
            self.counts["defined"] += 1
            if vm_id not in self.first:
                self.creating[vm["host"]].discard(vm_id)
                self.waiting.append((vm_id, vm["host"]))
        elif step == "start":
            self.creating[vm["host"]].discard(vm_id)
            self.started(vm, True, None, at)

    def create_failed(self, vm, step, message):
        self.admission.done(vm["id"])
        self.counts["ko"] += 1
        self.dep.ko(vm, step, message)

    def admit(self, slots, waiting):
        free = [(v, h) for v, h in waiting if h not in self.starting]
        batches = {}
        for vm_id, host in self.admission.admit(free):
            batches.setdefault(host, []).append(vm_id)
        for host, ids in batches.items():
            self.starting[host] = set(ids)
            self.submit(slots, host, "start", scripts.start_script(host, ids))
        admitted = {v for ids in batches.values() for v in ids}
        return [(v, h) for v, h in waiting if v not in admitted]

    def started(self, vm, ok, message, at):
        if not ok:
            self.create_failed(vm, "start", message or "start failed")
            return
        self.dep.set_state(vm, "started", "started")
        self.counts["started"] += 1
        self.watches[vm["id"]] = Watch(vm, at, progress=boot.Progress(at))
        self.next_poll.setdefault(vm["host"], at + POLL)

    # ------------------------------------------------------------ reports

    def drain(self, by_id):
        while True:
            try:
                kind, host, vm_id, step, ok, rest, at = self.reports.get_nowait()
            except queue.Empty:
                return
            if kind.endswith("-done"):
                self.host_done(kind[:-5], host, ok, rest, by_id, stop=vm_id)
                continue
            vm = by_id.get(vm_id)
            if vm is None or vm.get("host") != host:
                continue
            if kind == "create" and vm_id in self.creating.get(host, ()):
                self.created(vm, step, ok, rest, at)
            elif kind == "start" and vm_id in self.starting.get(host, ()):
                self.starting[host].discard(vm_id)
                self.started(vm, ok, rest, at)
            elif kind == "restart" and vm_id in self.restarting.get(host, ()):
                self.restarting[host].discard(vm_id)
                self.restarted(self.watches.get(vm_id), ok, rest, at)
            elif kind == "progress" and ok and vm_id in self.watches:
                watch = self.watches[vm_id]
                if watch.restarting or at < watch.progress.started_at:
                    continue   # a report from before its restart
                console, cpu, panic = scripts.parse_progress(rest)
                self.act(watch, self.stall.observe(watch.progress, at, console, cpu, panic))

    def host_done(self, kind, host, ok, error, by_id, stop=None):
        """A host's script ended: the VMs it said nothing of failed with it."""
        why = error or "the host's script stopped before this VM"
        if kind == "create":
            for vm_id in self.creating.pop(host, ()):
                self.create_failed(by_id[vm_id], "create", why)
        elif kind == "start":
            for vm_id in self.starting.pop(host, ()):
                self.started(by_id[vm_id], False, why, self.clock())
        elif kind == "restart":
            for vm_id in self.restarting.pop(host, ()):
                self.restarted(self.watches.get(vm_id), False, why, self.clock())
        elif kind == "progress":
            self.live.discard(stop)
            if self.monitors.get(host) is stop:
                # it ended on its own (its host, ssh, or its tick bound): another after a pause
                del self.monitors[host]
                self.next_poll[host] = self.clock() + POLL

    # ------------------------------------------------------------ readiness

    def probe(self):
        leases = self.readiness.leases()
        for watch in list(self.watches.values()):
            if watch.restarting:
                continue
            before = set(watch.seen)
            if self.readiness.step(watch, leases):
                self.ready(watch)
            elif watch.seen - before:
                booted = "tcp22" in watch.seen   # its sshd listens: the next may start
                self.stall.moved(watch.progress, self.clock(), booted=booted)
                if booted:
                    self.admission.done(watch.id)

    def ready(self, watch):
        vm, timings = watch.vm, watch.vm["timings"]
        vm["state"] = "ready"
        booted_from = timings.get("restarted", timings.get("started", 0))
        timings["ready"] = round(timings["ssh"] - booted_from, 2)  # boot time: (re)start to SSH
        self.dep.emit(vm, "ready")
        self.counts["ready"] += 1
        self.forget(watch)

    def forget(self, watch):
        watch.close()
        self.watches.pop(watch.id, None)
        self.admission.done(watch.id)

    def monitor(self, slots):
        """Progress reports from each host with booting VMs, the first one POLL s after its
        first start; stopped once the host has none."""
        now = self.clock()
        booting = {w.vm["host"] for w in self.watches.values()}
        for host in sorted(set(self.monitors) - booting):
            self.monitors.pop(host).set()
        for host in sorted(booting - set(self.monitors)):
            if now < self.next_poll.get(host, 0):
                continue
            stop = self.monitors[host] = threading.Event()
            self.live.add(stop)
            ticks = int(self.timeout // POLL) + 2   # a bound: it is stopped long before
            self.submit(slots, host, "progress",
                        scripts.monitor_script(host, vm_dir_of(self.dep.hosts[host]), POLL, ticks),
                        timeout=ticks * POLL + 60, stop=stop)

    # ------------------------------------------------------------ stall, restart, KO

    def judge(self):
        """Stall (judged at the hosts' reports) and the ceiling (also for a host that stopped reporting)."""
        now = self.clock()
        for watch in list(self.watches.values()):
            if watch.restarting:
                continue
            if now - watch.progress.first_start > self.timeout:
                watch.last = f"not ready {self.timeout:.0f} s after its first start; last: {watch.last}"
                self.give_up(watch)
                continue
            self.act(watch, self.stall.check(watch.progress, now))

    def act(self, watch, decision):
        if decision is None:
            return
        what, reason = decision
        if what == "ko":
            watch.last = f"{reason} (restarted {watch.progress.restarts} times)"
            self.give_up(watch)
            return
        watch.progress.restarted(self.clock(), reason)
        watch.close()
        watch.restarting = True
        watch.last = f"restarting: {reason}"
        self.counts["restarts"] += 1
        self.dep.ctx.log.debug("%s: restarting: %s", watch.id, reason)
        self.to_restart.setdefault(watch.vm["host"], []).append(watch.id)

    def send_restarts(self, slots):
        for host in list(self.to_restart):
            if host in self.restarting:
                continue          # one restart batch per host at a time
            ids = self.to_restart.pop(host)
            self.restarting[host] = set(ids)
            self.submit(slots, host, "restart", scripts.restart_script(host, ids))

    def restarted(self, watch, ok, message, at):
        if watch is None:
            return
        if not ok:
            watch.last = f"restart failed: {message}"
            self.give_up(watch)
            return
        watch.restarting, watch.restarted = False, True
        watch.started_at, watch.seen = at, set()
        watch.progress.started_at = watch.progress.last_progress = at
        watch.vm.setdefault("timings", {})["restarted"] = round(at - self.dep.t0, 2)
        self.dep.emit(watch.vm, "restarted", reason=watch.progress.reasons[-1])

    def give_up(self, watch):
        self.failed.append(watch)
        self.counts["ko"] += 1
        self.forget(watch)

    def show(self):
        if self.bar is not None:
            self.bar.update(defined=self.counts["defined"], started=self.counts["started"], ready=self.counts["ready"],
                            ko=self.counts["ko"], restarts=self.counts["restarts"])
