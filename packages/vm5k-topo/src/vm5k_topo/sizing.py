"""How many hosts of which cluster the VMs need, from cores (or threads) and RAM.

A node takes VMs while their RAM fits in its RAM minus a reserve and their vCPUs fit in
cores x cpu_ratio: the same rule vm5k-doc's placement applies later, so a sized
reservation always places. VMs are counted by shape (mem, n_cpu), so sizing 100 000
identical VMs costs as much as sizing one.
"""
import os
from collections import Counter

from vm5k_doc.errors import InputError, NoResources
from vm5k_doc.placement import usable_mem_mb, vcpu_capacity
from vm5k_doc.reference import load as load_reference
from vm5k_doc.reference import snapshot_path


def shapes(vms):
    """{(mem, n_cpu): count}, biggest RAM first."""
    counts = Counter((vm["mem"], vm["n_cpu"]) for vm in vms)
    return dict(sorted(counts.items(), key=lambda item: (-item[0][0], -item[0][1])))


def fill_node(node, remaining, cpu_ratio, vcore):
    """Take from `remaining` ({shape: count}) what one node holds; returns VMs taken."""
    mem = usable_mem_mb(node)
    cpu = vcpu_capacity(node, cpu_ratio, vcore)
    taken = 0
    for (vm_mem, vm_cpu), count in remaining.items():
        if not count:
            continue
        n = int(min(count, mem // vm_mem, cpu // vm_cpu))
        if n:
            remaining[(vm_mem, vm_cpu)] = count - n
            mem -= n * vm_mem
            cpu -= n * vm_cpu
            taken += n
    return taken


def node_capacity(cluster, vms_shape, cpu_ratio, vcore):
    """VMs of one shape that one node of `cluster` holds."""
    return fill_node(cluster.node_record(cluster.uid), {vms_shape: 10**9}, cpu_ratio, vcore)


def candidates(element, reference, blacklist):
    """Clusters an element stands for, minus the blacklist and clusters without virtualization.

    A site or grid5000 expands to its default-queue, non-exotic clusters with hardware
    virtualization; a cluster named on its own must be virtualizable and not blacklisted.
    """
    kind, name = element["kind"], element["element"]
    if kind == "cluster":
        cluster = reference.clusters[name]
        if name in blacklist or cluster.site in blacklist:
            raise InputError(f"-r: cluster {name!r} is also blacklisted")
        if not cluster.virtualizable:
            raise InputError(f"-r: cluster {name!r} has no hardware virtualization "
                             f"(supported_job_types.virtual = {cluster.virtual!r})")
        return [cluster]
    sites = list(reference.sites) if kind == "grid5000" else [name]
    if kind == "site" and name in blacklist:
        raise InputError(f"-r: site {name!r} is also blacklisted")
    return [c for site in sites if site not in blacklist
            for c in reference.site_clusters(site)
            if c.uid not in blacklist and c.virtualizable and c.default_queue and not c.exotic]


def free_nodes(cluster, blacklist):
    return [uid for uid in cluster.nodes if uid not in blacklist]


def size(vms, elements, reference, blacklist=(), cpu_ratio=3.0, vcore="core"):
    """Returns (wanted, max_vms, pinned): hosts to reserve per element/cluster, the most VMs
    like the first one each element could hold, and for each counted site or grid5000
    element the clusters its hosts may come from. Raises NoResources when they cannot fit."""
    blacklist = set(blacklist)
    remaining = shapes(vms)
    first_shape = next(iter(remaining)) if remaining else (1024, 1)
    wanted, max_vms, pinned = {}, {}, {}
    counted = [e for e in elements if e["hosts"]]
    open_elements = [e for e in elements if not e["hosts"]]

    clusters_of = {}
    for element in elements:
        clusters = clusters_of[element["element"]] = candidates(element, reference, blacklist)
        max_vms[element["element"]] = sum(node_capacity(c, first_shape, cpu_ratio, vcore) * len(free_nodes(c, blacklist))
                                          for c in clusters)

    # Elements with a host count: OAR may grant any node of the clusters the job names, so
    # the job names only the biggest clusters that have enough nodes, and the VMs are sized
    # on the smallest of them (what OAR can grant is what the plan counted on).
    for element in counted:
        name, count = element["element"], element["hosts"]
        clusters = pinned_clusters(clusters_of[name], count, blacklist, first_shape, cpu_ratio, vcore)
        if not clusters:
            free = sum(len(free_nodes(c, blacklist)) for c in clusters_of[name])
            raise NoResources(f"-r {name}:{count}: only {free} hosts with virtualization in the reference data")
        smallest = min(clusters, key=lambda c: node_capacity(c, first_shape, cpu_ratio, vcore))
        for _ in range(count):
            fill_node(smallest.node_record(smallest.uid), remaining, cpu_ratio, vcore)
        wanted[name] = count
        if element["kind"] != "cluster":
            pinned[name] = sorted(c.uid for c in clusters)

    # Elements without a count: as many nodes as needed, biggest nodes first.
    if sum(remaining.values()) and open_elements:
        pool = []
        for element in open_elements:
            pool += [c for c in clusters_of[element["element"]] if c not in pool]
        for cluster in _nodes_biggest_first(pool, blacklist, first_shape, cpu_ratio, vcore):
            if not sum(remaining.values()):
                break
            if fill_node(cluster.node_record(cluster.uid), remaining, cpu_ratio, vcore):
                wanted[cluster.uid] = wanted.get(cluster.uid, 0) + 1
    left = sum(remaining.values())
    if left:
        where = ", ".join(f"{name} holds at most {n}" for name, n in max_vms.items())
        raise NoResources(f"{left} of {len(vms)} VMs do not fit in the requested elements "
                          f"({where} VMs of {first_shape[0]} MB / {first_shape[1]} vCPU)")
    return wanted, max_vms, pinned


def pinned_clusters(clusters, count, blacklist, shape, cpu_ratio, vcore):
    """The clusters `count` hosts may be granted from: biggest nodes first until there are
    enough free nodes, then every cluster whose nodes are as big as the smallest taken (they
    change nothing to the worst case and give OAR more choice). [] when too few nodes."""
    capacity = {c.uid: node_capacity(c, shape, cpu_ratio, vcore) for c in clusters}
    ordered = sorted((c for c in clusters if free_nodes(c, blacklist)), key=lambda c: (-capacity[c.uid], c.uid))
    free = 0
    for cluster in ordered:
        free += len(free_nodes(cluster, blacklist))
        if free >= count:
            return [c for c in ordered if capacity[c.uid] >= capacity[cluster.uid]]
    return []


def _nodes_biggest_first(clusters, blacklist, shape, cpu_ratio, vcore):
    """One entry per free node, clusters holding the most VMs first (then by name)."""
    ordered = sorted(clusters, key=lambda c: (-node_capacity(c, shape, cpu_ratio, vcore), c.uid))
    return [c for c in ordered for _ in free_nodes(c, blacklist)]


def explicit(hosts, vms, reference, lines, cpu_ratio=3.0, vcore="core"):
    """An XML topology with its own hosts: check clusters and that each host's VMs fit.

    A cluster the reference does not know (retired since the file was written) is sized
    from the cpu and mem its <host> elements carry; without them it is an InputError
    naming --reference (and a shipped snapshot that knows the cluster)."""
    wanted = {}
    by_host = {}
    for vm in vms:
        if vm.get("host"):
            by_host.setdefault(vm["host"], []).append(vm)
    from_file = set()
    for host in hosts:
        cluster = reference.clusters.get(host["cluster"])
        line = lines.get(f"cluster:{host['cluster']}", "?")
        if cluster is None:
            record = host_record(host, reference, line)
            from_file.add(host["cluster"])
        else:
            if cluster.site != host["site"]:
                raise InputError(f"XML line {line}: cluster {cluster.uid!r} is in site {cluster.site!r}, not {host['site']!r}")
            record = cluster.node_record(host["id"])
            host.setdefault("cores", record["cores"])
            host.setdefault("threads", record["threads"])
            host.setdefault("mem_mb", record["mem_mb"])
        hosted = by_host.get(host["id"], [])
        if fill_node(record, shapes(hosted), cpu_ratio, vcore) < len(hosted):
            raise InputError(f"XML line {lines.get('host:' + host['id'], '?')}: the {len(hosted)} VMs of host "
                              f"{host['id']!r} do not fit on a {host['cluster']} node "
                              f"({record['mem_mb']} MB, {record['cores']} cores)")
        wanted[host["cluster"]] = wanted.get(host["cluster"], 0) + 1
    for cluster_uid, count in wanted.items():
        if cluster_uid in from_file:
            continue
        available = len(reference.clusters[cluster_uid].nodes)
        if count > available:
            raise NoResources(f"XML line {lines.get('cluster:' + cluster_uid, '?')}: {count} hosts of "
                              f"{cluster_uid} asked, the reference data has {available}")
    return wanted, sorted(from_file)


def host_record(host, reference, line):
    """A host of a cluster the reference does not know, sized from the file's cpu and mem."""
    if host.get("cores") and host.get("mem_mb"):
        return {"id": host["id"], "cores": host["cores"], "threads": host.get("threads") or host["cores"],
                "mem_mb": host["mem_mb"]}
    cluster = host["cluster"]
    knowing = [path for path in snapshot_directories() if path != reference.source and cluster in _clusters_of(path)]
    hint = f" ({knowing[0]} has it)" if knowing else ", or cpu and mem on its <host> elements"
    raise InputError(f"XML line {line}: unknown cluster {cluster!r} (not in the reference data {reference.source}): "
                     f"give --reference with data that has it{hint}")


def snapshot_directories():
    """The shipped snapshot and its dated directories (2018-03: the sites at vm5k's time)."""
    root = snapshot_path()
    dated = sorted((os.path.join(root, name) for name in os.listdir(root)
                    if os.path.isdir(os.path.join(root, name))), reverse=True)
    return [root, *dated]


def _clusters_of(path):
    try:
        return load_reference(path).clusters
    except InputError:
        return {}
