"""`--destroy`: destroy, undefine and remove the files of the document's VMs, and nothing else."""
from . import scripts
from .deploy import Deployment
from .plan import vm_dir_of


def run(ctx, ssh):
    dep = Deployment(ctx, ssh)
    vms = [vm for vm in dep.doc.get("vms", []) if vm.get("host") in dep.hosts]
    if ctx.dry_run:
        for vm in vms:
            ctx.log.info("would destroy %s on %s", vm["id"], vm["host"])
        return None

    def make(host, group):
        return scripts.destroy_script(host, [(vm["id"], vm_dir_of(dep.hosts[host])) for vm in group])

    results = dep.run_per_host("destroy", make, vms, timeout=120)
    failures = 0
    for host, result in results.items():
        done = {}
        for line in result.lines:
            parsed = scripts.parse_line(line)
            if parsed and parsed[1] == "destroy":
                done[parsed[0]] = parsed
        for vm in dep.per_host(vms)[host]:
            parsed = done.get(vm["id"])
            if parsed and parsed[2]:
                vm["state"] = "destroyed"
                vm.pop("error", None)
                dep.emit(vm, "destroyed")
            else:
                failures += 1
                dep.ko(vm, "destroy", parsed[3] if parsed else (result.error() or "no answer"))
    ctx.log.info("%d VMs destroyed on %d hosts", len(vms) - failures, len(results))
    if failures:
        from vm5k_doc.status import ExitStatus
        return ExitStatus.PARTIAL
    return None
