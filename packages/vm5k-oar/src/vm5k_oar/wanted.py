"""What to reserve, read from the document: host counts per element (reservation.wanted,
written by vm5k-topo, else request.resources), subnets sized for the VMs, a vlan."""
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError
from vm5k_doc.placement import DEFAULT_CPU_RATIO, max_vms

from .planning import Wanted
from .specs import slash_22_count


def host_counts(doc):
    """element -> count (0 = every free host)."""
    wanted = (doc.get("reservation") or {}).get("wanted")
    if wanted:
        counts = {k: v for k, v in wanted.items() if k not in ("subnets", "kavlan", "slash_22")}
    else:
        counts = {r["element"]: r.get("hosts", 0) for r in (doc.get("request") or {}).get("resources", [])}
    if not counts:
        raise InputError("$.reservation.wanted: no host count to reserve (run vm5k-topo first, or give --hosts)")
    for element, count in counts.items():
        check_id(element, "element in $.reservation.wanted")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"$.reservation.wanted.{element}: {count!r} is not a host count")
    return counts


def kinds_of(counts, reference=None, planning=None):
    """element -> 'cluster' | 'site' | 'grid5000', from the reference data, else the planning."""
    kinds = {}
    clusters = {h.cluster for h in planning.hosts} if planning else set()
    sites = {h.site for h in planning.hosts} if planning else set()
    for element in counts:
        kind = reference.kind(element) if reference else None
        if kind is None:
            kind = ("grid5000" if element == "grid5000" else "cluster" if element in clusters
                    else "site" if element in sites else None)
        if kind is None:
            raise InputError(f"$.reservation.wanted.{element}: not a known site or cluster")
        kinds[element] = kind
    return kinds


def vm_template(doc):
    vms = doc.get("vms") or []
    if vms:
        return {"mem": max(vm["mem"] for vm in vms), "n_cpu": max(vm["n_cpu"] for vm in vms)}
    template = (doc.get("request") or {}).get("template") or {}
    return {"mem": template.get("mem", 512), "n_cpu": template.get("n_cpu", 1)}


def build(doc, kinds, reference=None, subnets=True):
    """The Wanted of this document. Subnets per site: enough /22 for the VMs that can land
    on the site's chosen hosts (all the VMs for one site)."""
    request = doc.get("request") or {}
    counts = host_counts(doc)
    n_vm = len(doc.get("vms") or []) or request.get("n_vm", 0)
    kavlan = bool(request.get("kavlan"))
    clusters = (doc.get("reservation") or {}).get("clusters") or {}
    wanted = Wanted(elements={e: (kinds[e], c) for e, c in counts.items()}, kavlan=kavlan,
                    blacklist=set(request.get("blacklist") or []),
                    clusters={e: set(cs) for e, cs in clusters.items() if e in counts})
    vm = vm_template(doc)
    cpu_ratio = request.get("cpu_ratio", DEFAULT_CPU_RATIO)
    vcore = request.get("vcore", "core")

    def slash_22_for(site, fqdns, n_sites):
        if kavlan or not subnets or not n_vm:
            return 0
        if n_sites <= 1 or reference is None:
            return slash_22_count(n_vm)
        fit = 0
        for fqdn in fqdns:
            node = reference.node(fqdn)
            fit += max_vms(node.host_record(), vm, cpu_ratio, vcore) if node and node.mem_mb else n_vm
        return slash_22_count(min(n_vm, fit))

    wanted.slash_22_for = slash_22_for
    return wanted
