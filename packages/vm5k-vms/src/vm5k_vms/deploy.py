"""Create, start and wait for the document's VMs; each VM's fate goes into its record.

Steps, each one ssh connection per host (scripts.py), all hosts in parallel:
1. hosts with VMs already `ready`: list running domains, so that those still running are
   skipped (unless --force);
2. per host: disks, domain XML, define, start (lines stream back: defined/started timed);
3. readiness from the control node (readiness.py), restarts batched per host;
4. per host: the console tails of the VMs that ended KO.
"""
import base64
import sys
import time

from vm5k_doc import platforms
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.remote import run_scripts
from vm5k_doc.status import ExitStatus

from . import scripts
from .plan import plan_vm, vm_dir_of
from .readiness import Readiness

HOST_OK = (None, "ready", "deployed")  # host states a VM can run on


class Deployment:
    """The stage's view of one document: hosts by id, timing origin, event helpers."""

    def __init__(self, ctx, ssh):
        self.ctx, self.ssh, self.doc = ctx, ssh, ctx.doc
        self.hosts = {h["id"]: h for h in self.doc.get("hosts", [])}
        self.t0 = time.monotonic()

    def address(self, host_id):
        host = self.hosts[host_id]
        return host.get("address") or host_id

    def emit(self, vm, step, **fields):
        self.ctx.events.emit("vm", id=vm["id"], host=vm.get("host"), step=step, state=vm.get("state"),
                             seconds=round(time.monotonic() - self.t0, 2), **fields)
        self.ctx.log.debug("%s: %s (%.1f s)", vm["id"], step, time.monotonic() - self.t0)

    def set_state(self, vm, state, step=None):
        vm["state"] = state
        if step:
            vm.setdefault("timings", {})[step] = round(time.monotonic() - self.t0, 2)
        self.emit(vm, step or state)

    def ko(self, vm, step, message, console_tail=None):
        vm["state"] = "KO"
        vm["error"] = {"step": step, "message": message}
        if console_tail:
            vm["error"]["console_tail"] = console_tail
        self.emit(vm, "KO", error=message)
        self.ctx.log.warning("%s KO (%s): %s", vm["id"], step, message)

    def per_host(self, vms):
        groups = {}
        for vm in vms:
            groups.setdefault(vm["host"], []).append(vm)
        return groups

    def run_per_host(self, what, make_script, vms, on_line=None, timeout=600):
        """One script per host for these VMs; returns {host: HostResult}."""
        groups = self.per_host(vms)
        batch = {h: (self.address(h), make_script(h, group)) for h, group in groups.items()}
        if self.ctx.verbose > 1:
            for host, (_, text) in batch.items():
                self.ctx.log.debug("%s script for %s:\n%s", what, host, text)
        return run_scripts(self.ssh, batch, on_line=on_line, timeout=timeout)


def progress(deployment, vms):
    """One status line on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return
    counts = {}
    for vm in vms:
        counts[vm.get("state")] = counts.get(vm.get("state"), 0) + 1
    line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: str(kv[0])))
    sys.stderr.write(f"\rvm5k-vms: {time.monotonic() - deployment.t0:5.1f} s  {line}\033[K")
    sys.stderr.flush()


def select(dep, force):
    """The VMs to (re)create: not ready (KO, destroyed, never started...), or ready but no
    longer running, or all with force. VMs whose host is missing or KO are KO here
    (vm5k-hosts moves VMs off KO hosts)."""
    todo, to_check = [], []
    for vm in dep.doc.get("vms", []):
        host = dep.hosts.get(vm.get("host"))
        if host is None or host.get("state") not in HOST_OK:
            why = "no host" if host is None else f"host {host['id']} is {host.get('state')}"
            dep.ko(vm, "host", why)
        elif not vm.get("ip"):
            dep.ko(vm, "address", "no IP address (run vm5k-net)")
        elif vm.get("state") == "ready" and not force:
            to_check.append(vm)
        else:
            todo.append(vm)
    if to_check:
        results = dep.run_per_host("running", lambda h, _: scripts.running_script(h), to_check)
        running = {(host, line.split()[1]) for host, r in results.items() for line in r.lines
                   if scripts.parse_line(line)}
        for vm in to_check:
            if (vm["host"], vm["id"]) in running:
                dep.ctx.log.info("%s: ready and running, skipped", vm["id"])
            else:
                todo.append(vm)
    return todo


def create_and_start(dep, vms, public_key, readiness):
    """Step 2; each VM that starts is handed to `readiness` the moment it starts."""
    plans, by_id = {}, {vm["id"]: vm for vm in vms}
    for vm in vms:
        vm.pop("error", None)
        vm["timings"] = {}
        plans[vm["id"]] = plan_vm(vm, dep.hosts[vm["host"]], public_key)
        vm["state"] = vm.get("state") if vm.get("state") in ("placed", "addressed") else "addressed"

    def on_line(host, line):
        parsed = scripts.parse_line(line)
        if not parsed or parsed[0] not in by_id:
            return
        vm_id, step, ok, rest = parsed
        vm = by_id[vm_id]
        if not ok:
            dep.ko(vm, step, rest or f"{step} failed")
        elif step == "define":
            dep.set_state(vm, "defined", "defined")
        elif step == "start":
            dep.set_state(vm, "started", "started")
            readiness.add(vm, time.monotonic())

    results = dep.run_per_host("create", lambda h, group: scripts.create_script(h, [plans[v["id"]] for v in group]),
                               vms, on_line=on_line)
    for host, result in results.items():
        for vm in vms:
            if vm["host"] == host and vm.get("state") not in ("started", "KO"):
                dep.ko(vm, "create", result.error() or "the host's script stopped before this VM")
    return plans


def restart_batch(dep):
    def restart(vms):
        results = dep.run_per_host("restart", lambda h, group: scripts.restart_script(h, [v["id"] for v in group]), vms)
        errors = {}
        for host, result in results.items():
            answered = set()
            for line in result.lines:
                parsed = scripts.parse_line(line)
                if parsed:
                    answered.add(parsed[0])
                    if not parsed[2]:
                        errors[parsed[0]] = parsed[3]
            for vm in vms:
                if vm["host"] == host and vm["id"] not in answered:
                    errors[vm["id"]] = result.error() or "no answer"
        for vm in vms:
            dep.ctx.log.info("%s: not ready in time, restarted", vm["id"])
        return errors
    return restart


def console_tails(dep, vms, max_bytes=3000):
    """{vm id: last bytes of its serial console}, one ssh per host."""
    def make(host, group):
        return scripts.console_script(host, [(v["id"], f"{vm_dir_of(dep.hosts[host])}/{v['id']}.console.log")
                                             for v in group], max_bytes)
    tails = {}
    for result in dep.run_per_host("console", make, vms, timeout=60).values():
        for line in result.lines:
            parsed = scripts.parse_line(line)
            if parsed and parsed[2]:
                text = base64.b64decode(parsed[3] or b"").decode("utf-8", "replace")
                tails[parsed[0]] = text.replace("\r", "")
    return tails


def run(ctx, ssh, force=False, timeout=300.0, min_ready=None, leases=None):
    dep = Deployment(ctx, ssh)
    dep.timeout = timeout
    doc = dep.doc
    if not doc.get("vms"):
        raise InputError("vms: the document has no VMs (run vm5k-topo first)")
    if leases is None:  # a lease file of this machine, when the platform has one
        leases = platforms.of(doc).leases_path(doc.get("network") or {})
    public_key = ssh.public_key()
    todo = select(dep, force)
    # validate every VM before touching any host: a bad value is exit 2 with its name
    for vm in todo:
        plan_vm(vm, dep.hosts[vm["host"]], public_key)
    if ctx.dry_run:
        for vm in todo:
            ctx.log.info("would create and start %s on %s", vm["id"], vm["host"])
        return None
    ctx.log.info("creating and starting %d VMs on %d hosts", len(todo), len({v["host"] for v in todo}))

    readiness = Readiness(ssh, dep.t0, dep.emit, timeout=timeout, leases_path=leases, restart=restart_batch(dep))
    try:
        if todo:
            create_and_start(dep, todo, public_key, readiness)
            failed = readiness_loop(dep, readiness, todo)
            ko_waiting(dep, failed, leases)
    finally:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    return outcome(dep, min_ready)


def readiness_loop(dep, readiness, todo):
    # progress lines ride on the readiness clock: wrap emit once
    emit = readiness.emit

    def emit_and_show(vm, step):
        if step == "ssh":
            vm["state"] = "ready"
            timings = vm["timings"]
            booted_from = timings.get("restarted", timings.get("started", 0))
            timings["ready"] = round(timings["ssh"] - booted_from, 2)  # boot time: (re)start to SSH
        emit(vm, step)
        progress(dep, todo)

    readiness.emit = emit_and_show
    return readiness.run()


def ko_waiting(dep, failed, leases):
    if not failed:
        return
    tails = console_tails(dep, [w.vm for w in failed])
    for watch in failed:
        vm = watch.vm
        if leases and "lease" not in watch.seen and not watch.last.startswith("restart failed"):
            why = f"no DHCP lease for {vm.get('mac')} (planned {vm.get('ip')})"
        else:
            why = watch.last
        restarted = " (restarted once)" if watch.restarted else ""
        dep.ko(vm, "wait", f"not ready after {dep.timeout:.0f} s{restarted}: {why}", tails.get(vm["id"]) or None)


def outcome(dep, min_ready):
    vms = dep.doc.get("vms", [])
    ready = sum(1 for vm in vms if vm.get("state") == "ready")
    ko = [vm for vm in vms if vm.get("state") == "KO"]
    dep.ctx.log.info("%d of %d VMs ready in %.1f s", ready, len(vms), time.monotonic() - dep.t0)
    if not ko or (min_ready is not None and ready >= min_ready):
        return None
    if ready == 0:
        raise PlatformError(f"no VM ready, {len(ko)} KO (first: {ko[0]['id']}: {ko[0]['error']['message']})")
    return ExitStatus.PARTIAL
