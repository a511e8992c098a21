"""From granted jobs to `hosts` records, and the VMs placed on them."""
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError, NoResources
from vm5k_doc.placement import DEFAULT_CPU_RATIO, place
from vm5k_doc.reference import natural_key


def host_record(fqdn, site, reference=None, cores=None, job_id=None, state="reserved"):
    check_id(fqdn, "host")
    node = reference.node(fqdn) if reference else None
    if node is not None:
        record = node.host_record()
        record["id"] = fqdn
    else:
        record = {"id": fqdn, "site": site, "cluster": fqdn.split(".")[0].rsplit("-", 1)[0]}
        if cores:  # OAR counts one resource per core
            record["cores"] = record["threads"] = cores
    record["state"] = state
    record["job"] = job_id
    return record


def records_for(jobs, reference=None):
    """Host records of running JobInfos, sorted like vm5k (cluster, number)."""
    records = []
    for job in jobs:
        for fqdn in job.hosts:
            records.append(host_record(fqdn, job.site, reference, job.cores.get(fqdn), job.id))
    records.sort(key=lambda r: (r.get("site", ""), r.get("cluster", ""), natural_key(r["id"])))
    return records


def merge_hosts(doc, records):
    """Put the granted hosts in the document; a record already there keeps its other keys."""
    existing = {h["id"]: h for h in doc.get("hosts") or [] if h.get("state") != "planned"}
    merged = []
    for record in records:
        old = existing.get(record["id"])
        if old is not None:
            old.update({k: v for k, v in record.items() if k in ("job",) or k not in old})
            if old.get("state") in (None, "released"):
                old["state"] = "reserved"
            merged.append(old)
        else:
            merged.append(record)
    planned = [h for h in doc.get("hosts") or [] if h.get("state") == "planned"]
    doc["hosts"] = merged
    return planned


def map_explicit(doc, planned, records):
    """An XML topology names its own hosts: map them onto the reserved ones, per cluster in
    sorted order, and move their VMs along (vm5k did the same)."""
    by_cluster = {}
    for record in records:
        by_cluster.setdefault(record.get("cluster"), []).append(record["id"])
    free = {c: sorted(ids, key=natural_key) for c, ids in by_cluster.items()}
    renames = {}
    for host in sorted(planned, key=lambda h: natural_key(h["id"])):
        pool = free.get(host.get("cluster")) or []
        if not pool:  # a cluster name we did not get: take any reserved host left
            pool = next((p for p in free.values() if p), [])
        if not pool:
            raise NoResources(f"topology host {host['id']} has no reserved host to map to "
                              f"({len(planned)} in the topology, {len(records)} reserved)")
        renames[host["id"]] = pool.pop(0)
    for vm in doc.get("vms") or []:
        if vm.get("host") in renames:
            vm["host"] = renames[vm["host"]]
    return renames


def place_vms(doc):
    """Place every VM on the reserved hosts with the requested distribution."""
    request = doc.get("request") or {}
    vms = doc.get("vms") or []
    hosts = [h for h in doc.get("hosts") or [] if h.get("state") not in ("KO", "released")]
    if not vms:
        return
    missing = [h["id"] for h in hosts if not h.get("mem_mb")]
    if missing:
        raise InputError(f"no mem_mb for host {missing[0]} (not in the reference data): cannot place VMs")
    distribution = request.get("distribution", "round-robin")
    host_ids = {h["id"] for h in hosts}
    if distribution == "explicit":
        stray = [vm["id"] for vm in vms if vm.get("host") not in host_ids]
        if stray:
            raise InputError(f"$.vms: VM {stray[0]} is on a host that was not reserved")
    else:
        for vm in vms:
            if vm.get("host") not in host_ids:
                vm["host"] = None
        place(vms, hosts, distribution, request.get("seed", 0),
              request.get("cpu_ratio", DEFAULT_CPU_RATIO), request.get("vcore", "core"))
    for vm in vms:
        if vm.get("state") in (None, "planned"):
            vm["state"] = "placed"
