"""The host stage: deploy or check, prepare, images, virt; failed hosts KO, VMs re-placed.

Each step is one connection per host (all hosts in parallel) running one idempotent script;
a host that fails a step is KO with that step and its error and takes no further step.
"""
import time
from concurrent.futures import ThreadPoolExecutor

from vm5k_doc import jobs, platforms, progress
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.platforms.base import record_vlan
from vm5k_doc.remote import run_scripts
from vm5k_doc.status import ExitStatus

from . import broadcast, deploy, failures, images, kavlan, prepare, virt

SKIP_STATES = ("KO", "released")


class Steps:
    """Runs per-host scripts on the hosts still in the game and records the outcome.

    Output: one live line (step, hosts done and KO of N) on a terminal; each step's time
    goes into the stage's summary line and the KO hosts into one line at the end; per-host
    lines (KO, changes) are debug (-v), as in the document.
    """

    def __init__(self, ctx, hosts, conn, timeout=900):
        self.ctx, self.hosts, self.conn, self.timeout = ctx, hosts, conn, timeout
        self.changes = {}                 # host id -> what was changed on it
        self.seconds = {}                 # step -> wall time
        self.bar = ctx.progress("hosts", total=len(hosts))

    def alive(self):
        return [h for h in self.hosts if h.get("state") != "KO"]

    def kos(self):
        return sum(1 for h in self.hosts if h.get("state") == "KO")

    def run(self, step, script_for, on_ok=None, hosts=None, timeout=None):
        """Run script_for(host) on every alive host (or `hosts`); returns {host id: Result}."""
        todo = [h for h in (hosts if hosts is not None else self.alive()) if h.get("state") != "KO"]
        if not todo:
            return {}
        start, counts = time.monotonic(), {"done": 0, "ko": self.kos()}
        self.bar.update(step=step, note="", **counts)

        def finished(name, result):   # from run_scripts' threads, one at a time
            counts["done"] += 1
            counts["ko"] += 0 if result.ok else 1
            self.bar.update(**counts)

        results = run_scripts(self.conn, {h["id"]: (address(h), script_for(h)) for h in todo},
                              timeout=timeout or self.timeout, on_done=finished)
        self.step_done(step, len(todo), start)
        out = {}
        for host in todo:
            result = out[host["id"]] = results[host["id"]]
            host.setdefault("timings", {})[step] = result.seconds
            if not result.ok:
                self.ko(host, step, result.error(), result.tail())
            elif on_ok is not None:
                problem = on_ok(host, result)
                if problem:
                    self.ko(host, step, problem, result.tail())
        self.bar.update(ko=self.kos())
        return out

    def step_done(self, step, count, start):
        seconds = time.monotonic() - start
        self.seconds[step] = self.seconds.get(step, 0) + seconds
        self.ctx.log.debug("%s: %d hosts in %.1f s", step, count, seconds)

    def ko(self, host, step, message, output=""):
        failures.mark_ko(host, step, message, output)
        self.ctx.log.debug("%s: KO at %s: %s", host["id"], step, message)
        self.ctx.events.emit("host", id=host["id"], state="KO", step=step, message=message)

    def report(self, began, moved=(), not_placed=()):
        """The stage's summary: one line, and one more naming the KO hosts."""
        self.bar.done()
        kos = [h for h in self.hosts if h.get("state") == "KO"]
        changed = sum(len(v) for v in self.changes.values())
        per_step = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        self.ctx.log.info("%d hosts ready, %d KO in %.1f s%s; %d changes%s", len(self.hosts) - len(kos),
                          len(kos), time.monotonic() - began, f" ({per_step})" if per_step else "", changed,
                          f"; {len(moved)} VMs moved, {len(not_placed)} not placed" if moved or not_placed else "")
        if kos:
            self.ctx.log.warning("KO: %s", progress.ko_summary(
                (h["id"], "{step}: {message}".format(**h["error"])) for h in kos))

    def changed(self, host, what):
        self.changes.setdefault(host["id"], []).extend(what)
        for line in what:
            self.ctx.log.debug("%s: changed: %s", host["id"], line)


def address(host):
    return host.get("address") or host["id"]


def run(ctx, nodeploy=False, forcedeploy=False, env_name=None, env_file=None, env_user=None,
        deploy_retries=0, packages=True, other_packages=(), image_dir=images.DEFAULT_DIR,
        broadcast="auto", kvm_timeout=virt.DEFAULT_TIMEOUT, ssh_key=None, ssh_user=None,
        frontend_ssh=True):
    doc = ctx.doc
    platform = platforms.of(doc)
    if not doc.get("hosts"):
        raise InputError("hosts: no host in the document (run vm5k-oar first)")
    hosts = [h for h in doc["hosts"] if h.get("state") not in SKIP_STATES]
    for h in hosts:
        check_id(h["id"], "host id")
    if not hosts:
        raise PlatformError("no usable host in the document: all are KO or released")
    if not ctx.dry_run:  # an ended job's hosts are not ours any more
        jobs.check_running(doc, platform)
    conn = platform.ssh(ssh_key, ssh_user)   # one meaning of --ssh-key/--ssh-user in every stage
    files = images.plan(doc.get("vms", []), image_dir, platform.images())
    package_list = (list(prepare.PACKAGES) if packages else []) + prepare.check_packages(other_packages)
    if ctx.dry_run:
        ctx.log.info("dry run: would prepare %d hosts (%s), images %s", len(hosts), platform.name,
                     ", ".join(f.dest for f in files) or "none")
        return None

    began = time.monotonic()
    images.add_checksums(files)
    steps = Steps(ctx, hosts, conn)
    if platform.deploys and not nodeploy:
        deploy_g5k(ctx, steps, doc, env_name or (None if env_file else deploy.DEFAULT_ENV), env_file,
                   env_user, forcedeploy, deploy_retries, frontend_ssh)
    else:
        # hosts into the reserved vlan, or back, where the platform does it apart from
        # deployment (the lab's `kavlan -s`)
        start = time.monotonic()
        steps.bar.update(step="kavlan")
        moved = platform.move_hosts_to_vlan(steps.alive(), kavlan.wanted_vlan(doc))
        for host in hosts:
            if host["id"] in moved:
                steps.changed(host, [moved[host["id"]]])
        if moved:
            steps.step_done("kavlan", len(moved), start)
        steps.run("check", lambda h: deploy.CHECK_HOST, timeout=60)
    for host in steps.alive():
        if host.get("state") != "ready":
            host["state"] = "deployed"

    def prepared(host, result):
        found = prepare.parse(result.stdout)
        steps.changed(host, found["changed"])
        host["bridge"] = found.get("bridge") or prepare.BRIDGE

    steps.run("prepare", lambda h: prepare.script(package_list), prepared, timeout=1800)
    place_images(ctx, steps, files, conn, broadcast)
    decide_virt(ctx, steps, files, kvm_timeout, platform.virt())
    for host in steps.alive():
        host["state"] = "ready"
        host.pop("error", None)
        ctx.events.emit("host", id=host["id"], state="ready")

    usable = {h["id"] for h in doc["hosts"] if h.get("state") not in SKIP_STATES}
    lost = [h["id"] for h in hosts if h.get("state") == "KO"]
    moved, not_placed = failures.replace_vms(doc, usable)
    steps.report(began, moved, not_placed)
    if not usable:
        raise PlatformError(f"no host left: {', '.join(lost)} failed (see hosts[].error)")
    if lost or not_placed:
        return ExitStatus.PARTIAL
    return None


def deploy_g5k(ctx, steps, doc, env_name, env_file, env_user, forcedeploy, retries, frontend_ssh):
    """kadeploy3 on each site (in parallel) for the hosts not deployed yet, then check."""
    check = lambda h: deploy.CHECK_DEPLOYED  # noqa: E731
    todo = list(steps.alive())
    if not forcedeploy:   # a host already deployed is not deployed again
        found = run_scripts(steps.conn, {h["id"]: (address(h), deploy.CHECK_DEPLOYED) for h in todo},
                            timeout=60)
        todo = [h for h in todo if not found[h["id"]].ok]
    vlan = kavlan.wanted_vlan(doc)
    for attempt in range(1 + retries):
        if not todo:
            break
        by_site = deploy.group_by_site(todo)
        start = time.monotonic()
        steps.bar.update(step="deploy", note=f"kadeploy3 attempt {attempt + 1}" if attempt else None)
        with ThreadPoolExecutor(max_workers=len(by_site)) as pool:
            frontend = platforms.of(doc).frontend if frontend_ssh else (lambda site: None)
            runs = {site: pool.submit(deploy.kadeploy, frontend(check_id(site, "site")),
                                      [h["id"] for h in group], env_name=env_name,
                                      env_file=env_file, user=env_user, vlan=vlan, key=True)
                    for site, group in by_site.items()}
        failed = {}
        for future in runs.values():
            failed.update(future.result()[1])
        steps.step_done("deploy", len(todo), start)
        ctx.log.debug("kadeploy3 attempt %d: %d deployed, %d failed", attempt + 1,
                      len(todo) - len(failed), len(failed))
        if vlan is not None:   # deployed into the vlan: reached by its kavlan name from now on
            for h in todo:
                if h["id"] not in failed:
                    record_vlan(h, vlan, kavlan.g5k_vlan_name(h["id"], vlan))
        todo = [h for h in todo if h["id"] in failed]
        if attempt == retries:
            for h in todo:
                steps.ko(h, "deploy", f"kadeploy3: {failed[h['id']]}")
    steps.run("check-deployed", check, timeout=60)


def place_images(ctx, steps, files, conn, method):
    """Check every file on every host, broadcast what is missing, verify, record."""
    if not files:
        return
    sums = {}

    def checked(host, result):
        sums[host["id"]] = images.parse_check(result.stdout)

    steps.run("images", lambda h: images.check_script(files), checked)
    alive = steps.alive()
    needs = {}   # (directory, file indexes) -> hosts
    for host in alive:
        lacking = images.missing(files, sums[host["id"]])
        by_dir = {}
        for i in lacking:
            by_dir.setdefault(files[i].dest.rsplit("/", 1)[0], []).append(i)
        for directory, indexes in by_dir.items():
            needs.setdefault((directory, tuple(indexes)), []).append(host)
    copied = []
    start = time.monotonic()
    for (directory, indexes), targets in needs.items():
        sources = [files[i].source for i in indexes]
        ctx.log.debug("images: %s to %d hosts (%s)", ", ".join(s.rsplit("/", 1)[-1] for s in sources),
                      len(targets), method)
        steps.bar.update(step="broadcast")
        broadcast.copy(sources, [address(h) for h in targets], directory, conn, method)
        for h in targets:
            steps.changed(h, [f"image {files[i].dest} copied" for i in indexes])
            copied.append(h)
    if copied:
        steps.step_done("broadcast", len({h["id"] for h in copied}), start)
        unique = list({h["id"]: h for h in copied}.values())
        steps.run("images-verify", lambda h: images.check_script(files), checked, hosts=unique)
    for host in steps.alive():
        problem = images.problems(files, sums[host["id"]])
        if problem:
            steps.ko(host, "images", problem)
        else:
            host["images"] = images.record(files, sums[host["id"]])


def decide_virt(ctx, steps, files, timeout, known=None):
    """kvm or qemu per host, by booting a kernel under KVM; kept when already decided.

    known: the platform's own answer (every lab host shares this machine's /dev/kvm, and
    `vm5k-lab up` already made that boot test once): taken instead of waiting out a
    hanging KVM again.
    """
    kernels = sorted({f.dest for f in files if f.role == "kernel"})
    todo = [h for h in steps.alive() if ctx.force or h.get("virt") not in ("kvm", "qemu")]
    if known in ("kvm", "qemu") and not ctx.force:
        for host in todo:
            host["virt"] = known
            ctx.log.debug("%s: virt %s (the platform's boot test)", host["id"], known)
            steps.changed(host, [f"virt {known}"])
        return

    def decided(host, result):
        host["virt"], why = virt.parse(result.stdout)
        if host["virt"] is None:
            return "no kvm/qemu decision in the check's output"
        ctx.log.debug("%s: virt %s (%s)", host["id"], host["virt"], why)
        steps.changed(host, [f"virt {host['virt']}"])

    steps.run("virt", lambda h: virt.script(kernels, timeout), decided, hosts=todo,
              timeout=timeout + 60)
