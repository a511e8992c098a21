"""The topo stage: write `request`, `vms` and `reservation.wanted`.

Three ways in: `-n N` (VMs vm-1..vm-N from the template), a topology XML with explicit
hosts (kept as written), or a document that already went through topo (kept; `-n` may
add VMs, never drops them without --force).
"""
import re

from vm5k_doc import checks, document, platforms
from vm5k_doc import reference as reference_mod
from vm5k_doc.errors import InputError

from . import elements as elements_mod
from . import sizing
from . import template as template_mod

WALLTIME_RE = re.compile(r"^(\d{1,4}):([0-5]?\d):([0-5]?\d)$")
DEFAULT_WALLTIME = "1:00:00"   # vm5k's default
MAX_VMS = 1_000_000


def new_document(ctx, platform="auto", reference=None, **_):
    chosen = platforms.detect(platform)
    return document.new(chosen.name, reference or chosen.reference_path())


def check_walltime(text):
    if text is not None and not WALLTIME_RE.match(text):
        raise InputError(f"-w {text!r}: walltime must be H:MM:SS")
    return text


def make_vms(count, template, first=1):
    return [{"id": f"vm-{i}", **template, "state": "planned"} for i in range(first, first + count)]


def run(ctx, n_vm=None, resources=None, blacklist=None, vm_template=None, distribution=None,
        platform="auto", walltime=None, reference=None, seed=None, cpu_ratio=None, vcore=None,
        kavlan=False):
    doc = ctx.doc
    meta = doc["vm5k"]
    if platform != "auto":
        meta["platform"] = platform
    platform = platforms.of(doc)
    request = doc.setdefault("request", {})
    explicit = ctx.input_kind == "xml" or request.get("distribution") == "explicit"
    if ctx.input_kind == "xml":
        replan(doc, ctx.log)

    if n_vm is not None:
        checks.check_number(n_vm, "-n", 1, MAX_VMS, integer=True)
    if cpu_ratio is not None:
        checks.check_number(cpu_ratio, "--cpu-ratio", 0.01, 1000)
    if seed is not None:
        checks.check_number(seed, "--seed", 0, 2**63 - 1, integer=True)
    if n_vm is None and not doc.get("vms") and not meta["stages"]:
        n_vm = 30  # vm5k's default, with a warning as vm5k did
        ctx.log.warning("neither -n nor -i given: %d VMs", n_vm)
    template = template_mod.complete({**request.get("template", {}), **template_mod.parse(vm_template)}, platform)

    vms = doc.setdefault("vms", [])
    if n_vm is not None:
        if ctx.force:
            vms[:] = make_vms(n_vm, template)
        elif n_vm >= len(vms):
            vms += make_vms(n_vm - len(vms), template, first=_next_index(vms))
        else:
            raise InputError(f"-n {n_vm}: the document already has {len(vms)} VMs (use --force to rebuild)")
    for vm in vms:  # VMs from a topology file get the template's values where they have none
        for key, value in template.items():
            vm.setdefault(key, value)

    if resources is not None:
        request["resources"] = elements_mod.parse_resources(resources)
    if blacklist is not None:
        request["blacklist"] = elements_mod.parse_blacklist(blacklist)
    request.setdefault("resources", platform.default_resources())
    request.setdefault("blacklist", [])
    request["n_vm"] = len(vms)
    request["template"] = template
    request["distribution"] = distribution or ("explicit" if explicit else request.get("distribution", "round-robin"))
    if explicit and request["distribution"] != "explicit":
        raise InputError(f"-d {distribution}: the topology places its VMs on explicit hosts")
    request["walltime"] = check_walltime(walltime) or request.get("walltime", DEFAULT_WALLTIME)
    request["seed"] = seed if seed is not None else request.get("seed", 0)
    request["cpu_ratio"] = cpu_ratio if cpu_ratio is not None else request.get("cpu_ratio", platform.default_cpu_ratio)
    request["vcore"] = vcore or request.get("vcore", "core")
    if kavlan:
        request["kavlan"] = True

    reservation = doc.setdefault("reservation", {})
    if not platform.scheduler:  # no reference data, no scheduler: vm5k-oar --hosts gives the hosts
        reservation["wanted"] = {}
        return None
    path = meta.get("reference") or reference or platform.reference_path()
    meta["reference"] = path
    ref = reference_mod.load(path)
    if explicit:
        wanted, from_file = sizing.explicit(doc.get("hosts", []), vms, ref, ctx.input_lines,
                                            request["cpu_ratio"], request["vcore"])
        if from_file:
            ctx.log.warning("%s not in the reference data: sized from the file's host cpu and mem "
                            "(reserving needs --reference with data that has them)", ", ".join(from_file))
        request["max_vms"] = {}
    else:
        elements = elements_mod.classify(request["resources"], ref)
        wanted, request["max_vms"], pinned = sizing.size(vms, elements, ref, request["blacklist"],
                                                         request["cpu_ratio"], request["vcore"])
        if pinned:  # vm5k-oar asks OAR for these clusters only
            reservation["clusters"] = pinned
        else:
            reservation.pop("clusters", None)
    if request.get("kavlan"):
        wanted["kavlan"] = 1
    reservation["wanted"] = wanted
    pins = reservation.get("clusters") or {}
    ctx.log.info("%d VMs need %s", len(vms), ", ".join(
        f"{n} {k}" + (f" ({', '.join(pins[k])})" if k in pins else "") for k, n in wanted.items()) or "no host")
    return None


def replan(doc, log):
    """A state XML of an earlier run given as a topology is a request again, as vm5k read it:
    its hosts are planned, its VMs placed on them (their states and errors were that run's)."""
    hosts = [host for host in doc.get("hosts", []) if host.get("state") != "planned"]
    vms = [vm for vm in doc.get("vms", []) if vm.get("state") not in ("planned", "placed")]
    for host in hosts:
        host["state"] = "planned"
        host.pop("error", None)
    for vm in vms:
        vm["state"] = "placed" if vm.get("host") else "planned"
        vm.pop("error", None)
    if hosts or vms:
        log.info("XML: %d hosts and %d VMs in states of an earlier run are planned again", len(hosts), len(vms))


def _next_index(vms):
    numbers = [int(vm["id"][3:]) for vm in vms if vm["id"].startswith("vm-") and vm["id"][3:].isdigit()]
    return max(numbers, default=0) + 1
