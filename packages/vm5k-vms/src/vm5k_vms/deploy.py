"""Create, start and wait for the document's VMs; each VM's fate goes into its record.

Steps, each one ssh connection per host (scripts.py), all hosts in parallel:
1. hosts with VMs already `ready`: list running domains, so that those still running are
   skipped (unless --force);
2. per host: disks, domain XML, define (lines stream back: defined timed);
3. the boot loop (booting.py): starts in batches as admission (boot.py) lets them in,
   readiness from the control node, progress reports and restarts batched per host;
4. per host: the console tails of the VMs that ended KO.
"""
import base64
import re
import time

from vm5k_doc import platforms, progress
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.remote import run_scripts
from vm5k_doc.status import ExitStatus

from . import boot, scripts
from .booting import BootLoop
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
        self.ctx.log.debug("%s KO (%s): %s", vm["id"], step, message)  # the summary names it

    def per_host(self, vms):
        groups = {}
        for vm in vms:
            groups.setdefault(vm["host"], []).append(vm)
        return groups

    def run_per_host(self, what, make_script, vms, on_line=None, timeout=600, stop=None):
        """One script per host for these VMs; returns {host: HostResult}. `stop`: see run_scripts."""
        groups = self.per_host(vms)
        batch = {h: (self.address(h), make_script(h, group)) for h, group in groups.items()}
        if self.ctx.verbose > 1:
            for host, (_, text) in batch.items():
                self.ctx.log.debug("%s script for %s:\n%s", what, host, text)
        return run_scripts(self.ssh, batch, on_line=on_line, timeout=timeout, stop=stop)


def select(dep, force):
    """The VMs to (re)create: not ready (KO, destroyed, never started...), or ready but no
    longer running, or all with force. VMs whose host is missing or KO are KO here
    (vm5k-hosts moves VMs off KO hosts)."""
    todo, to_check = [], []
    # a dry run's hosts were not prepared (a dry vm5k-hosts leaves them reserved): they
    # would be; a dry run changes no VM's state
    usable = HOST_OK + (("reserved", "planned") if dep.ctx.dry_run else ())
    for vm in dep.doc.get("vms", []):
        host = dep.hosts.get(vm.get("host"))
        if host is None or host.get("state") not in usable:
            why = "no host" if host is None else f"host {host['id']} is {host.get('state')}"
            if dep.ctx.dry_run:
                dep.ctx.log.warning("dry run: %s could not start: %s", vm["id"], why)
            else:
                dep.ko(vm, "host", why)
        elif not vm.get("ip") and not dep.ctx.dry_run:
            dep.ko(vm, "address", "no IP address (run vm5k-net)")
        elif vm.get("state") == "ready" and not force:
            to_check.append(vm)
        else:
            todo.append(vm)
    if to_check and not dep.ctx.dry_run:
        results = dep.run_per_host("running", lambda h, _: scripts.running_script(h), to_check)
        running = {(host, line.split()[1]) for host, r in results.items() for line in r.lines
                   if scripts.parse_line(line)}
        skipped = 0
        for vm in to_check:
            if (vm["host"], vm["id"]) in running:
                dep.ctx.log.debug("%s: ready and running, skipped", vm["id"])
                skipped += 1
            else:
                todo.append(vm)
        if skipped:
            dep.ctx.log.info("%d VMs ready and running: skipped (--force recreates them)", skipped)
    return todo


def plans_for(dep, vms, public_key):
    """Step 2's input: each VM's plan (paths, disk, domain); the VMs reset to be created."""
    plans = {}
    for vm in vms:
        vm.pop("error", None)
        vm["timings"] = {}
        plans[vm["id"]] = plan_vm(vm, dep.hosts[vm["host"]], public_key)
        vm["state"] = vm.get("state") if vm.get("state") in ("placed", "addressed") else "addressed"
    return plans


def admission_for(dep, vms, boot_slots=None):
    """Per host, the guests it boots at once: --boot-slots, else from its cores and virt.
    No budget across hosts, not even where they share their CPUs (the lab): measured there,
    100 guests at once were all ready in 334 s, against 441 s with 8 at a time, because a
    booted TCG guest idles at ~1 % of a core, so spreading the boots costs more than it saves."""
    hosts = {vm["host"] for vm in vms}
    if boot_slots == 0:       # no admission: everything at once
        return boot.Admission({h: len(vms) for h in hosts})
    if boot_slots:
        return boot.Admission({h: boot_slots for h in hosts})
    return boot.Admission({h: boot.host_slots(dep.hosts[h]) for h in hosts})


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


def run(ctx, ssh, force=False, timeout=1200.0, min_ready=None, leases=None, stall=60.0, boot_slots=None):
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
        ctx.log.info("dry run: would create and start %d VMs on %d hosts", len(todo), len({v["host"] for v in todo}))
        for vm in todo:
            ctx.log.debug("would create and start %s on %s", vm["id"], vm["host"])
        return None
    if todo:
        admission = admission_for(dep, todo, boot_slots)
        ctx.log.info("creating %d VMs on %d hosts; booting at most %s at once", len(todo),
                     len({v["host"] for v in todo}), describe(admission))
        readiness = Readiness(ssh, dep.t0, dep.emit, leases_path=leases)
        loop = BootLoop(dep, readiness, admission, boot.Stall(window=stall), timeout)
        plans = plans_for(dep, todo, public_key)
        with ctx.progress("VMs", total=len(todo)) as bar:
            loop.bar = bar
            failed = loop.run(todo, lambda host, group, start: scripts.create_script(
                host, [plans[v["id"]] for v in group], start=start))
        ko_waiting(dep, failed, leases)
        return outcome(dep, min_ready, loop.counts["restarts"])
    return outcome(dep, min_ready)


def describe(admission):
    values = sorted(set(admission.slots.values()))
    return f"{values[0]} per host" if len(values) == 1 else f"{values[0]}-{values[-1]} per host"


def ko_waiting(dep, failed, leases):
    if not failed:
        return
    tails = console_tails(dep, [w.vm for w in failed])
    for watch in failed:
        vm = watch.vm
        why = watch.last
        if leases and "lease" not in watch.seen and not why.startswith("restart failed"):
            why = f"{why}; no DHCP lease for {vm.get('mac')} (planned {vm.get('ip')})"
        dep.ko(vm, "wait", why, tails.get(vm["id"]) or None)


def reason(message):
    """A KO message without its figures and what follows the first ';' or ':' detail:
    'no progress for 60 s (console 0 bytes, CPU 1.2 s)' -> 'no progress for N s (...)'."""
    short = re.sub(r"\d+(\.\d+)?", "N", message.split("; last:")[0])
    return re.sub(r"\([^()]*\)", "(...)", short)[:120]


def outcome(dep, min_ready, restarts=0):
    vms = dep.doc.get("vms", [])
    ready = sum(1 for vm in vms if vm.get("state") == "ready")
    ko = [vm for vm in vms if vm.get("state") == "KO"]
    dep.ctx.log.info("%d of %d VMs ready, %d KO in %.1f s%s", ready, len(vms), len(ko),
                     time.monotonic() - dep.t0, f"; {restarts} restarts" if restarts else "")
    if ko:  # grouped by reason, whatever its figures (the records have them)
        dep.ctx.log.warning("KO: %s", progress.ko_summary(
            (vm["id"], f"{vm['error']['step']}: {reason(vm['error']['message'])}") for vm in ko))
    if not ko or (min_ready is not None and ready >= min_ready):
        return None
    if ready == 0:
        raise PlatformError(f"no VM ready, {len(ko)} KO (first: {ko[0]['id']}: {ko[0]['error']['message']})")
    return ExitStatus.PARTIAL
