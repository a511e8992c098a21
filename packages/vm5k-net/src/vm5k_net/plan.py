"""The address plan: which pool each VM draws from, who keeps what on a rerun, the checks.

Pure: reads the document and reference data, returns the `network` record and the
(vm, ip, mac) assignments; `stage.py` applies them and starts services.
"""
import ipaddress
from dataclasses import dataclass, field

from vm5k_doc import checks, platforms, reference
from vm5k_doc.errors import InputError, NoResources

from . import pools
from .addr import network, to_int, to_str
from .macs import mac_function

HOST_STATES_DOWN = ("KO", "released")


@dataclass
class Plan:
    mode: str                       # 'subnet' or 'kavlan'
    record: dict                    # the document's `network`
    pools: dict                     # site (or '*' for a vlan) -> pools.Pool
    mac_for: object                 # ip int -> MAC string
    planned: bool = False           # subnets/vlan guessed for a dry run, not granted
    service: dict = None            # kavlan: {host, address, prefixlen, ...}
    site_of_vm: dict = field(default_factory=dict)


def sites_of(doc):
    sites = [job["site"] for job in doc.get("reservation", {}).get("jobs", []) if job.get("site")]
    sites += [host["site"] for host in doc.get("hosts", []) if host.get("site")]
    return list(dict.fromkeys(sites))


def is_planned_doc(doc, dry_run):
    """A dry run upstream: no job was really granted, so subnets/vlan may be guessed."""
    jobs = doc.get("reservation", {}).get("jobs") or []
    return dry_run or bool(doc["vm5k"].get("dry_run")) or (bool(jobs) and all(j.get("id") is None for j in jobs))


def host_addresses(doc):
    out = set()
    for host in doc.get("hosts", []):
        address = host.get("address") or host["id"]   # a static host may be given by its address
        if address:
            try:
                out.add(to_int(address))
            except ValueError:
                pass  # a name, not an address
    return out


def build(doc, kavlan=False, reference_path=None, dry_run=False, domain=None, subnets=None, dhcp=None,
          service_lan=None):
    """The plan for this document (raises InputError / NoResources with one line).

    dhcp: a DHCP server of the user's that serves the VMs (subnet mode; vm5k-net runs none).
    service_lan: the service host's network ({address, gateway}, service.lan) when the
    platform has vm5k-net serve subnets itself (Platform.subnet_service)."""
    if domain is not None:  # it goes into dnsmasq.conf, hosts files and root's scripts
        checks.check_domain(domain, "--domain")
    if dhcp is not None:
        checks.check_address(dhcp, "--dhcp")
    reservation = doc.get("reservation")
    if reservation is None and not subnets:
        raise InputError("no reservation in the document: run vm5k-oar first (or give --subnet CIDR)")
    reservation = reservation or {}
    platform = platforms.of(doc)
    reference_path = reference_path or doc["vm5k"].get("reference")
    if platform.subnet_service and not (reference_path or subnets or kavlan):
        raise InputError(f"--platform {platform.name}: give --subnet CIDR (free addresses for the VMs on the "
                         f"hosts' network; vm5k-net serves them from one host), with --dhcp ADDRESS if yours does")
    if reference_path or not subnets:
        if not reference_path:
            raise InputError("no reference data: the document has no vm5k.reference; give --reference DIR")
        ref = reference.load(reference_path, sites_required=False)
        plan_data = ref.address_plan()
    else:  # static hosts with --subnet: no reference data needed
        ref, plan_data = None, {}
    # a one-site platform's site (the lab's, or static hosts given --subnet)
    sites = sites_of(doc) or ([platform.site] if platform.site and (platform.scheduler or subnets) else [])
    if not sites:
        raise InputError("no site: the reservation has no jobs and the hosts no site")
    vlan = reservation.get("vlan")
    use_kavlan = kavlan or bool(doc.get("request", {}).get("kavlan")) or (vlan is not None and not reservation.get("subnets"))
    planned = is_planned_doc(doc, dry_run)
    if use_kavlan:
        if ref is None:
            raise InputError("--kavlan needs reference data (--reference DIR)")
        return _kavlan_plan(doc, platform, ref, plan_data, sites, vlan, planned, domain)
    cidrs = subnets or reservation.get("subnets") or []
    if platform.subnet_service and not plan_data:
        return _service_subnet_plan(doc, platform, sites, cidrs, domain, dhcp, service_lan)
    return _subnet_plan(doc, platform, plan_data, sites, cidrs, planned, domain)


# ---------------------------------------------------------------- subnet mode

def _subnet_plan(doc, platform, plan_data, sites, cidrs, planned, domain):
    site_plans = {site: (plan_data.get("sites") or {}).get(site) for site in sites}
    vms_per_site = count_vms_per_site(doc, sites)
    guessed = False
    if not cidrs:
        if not planned:
            raise InputError("reservation.subnets is empty: reserve subnets (vm5k-oar) or use --kavlan")
        cidrs = []
        for site in sites:
            cidrs += planned_site_subnets(plan_data, site_plans[site], site, vms_per_site.get(site, 0))
        guessed = True
    per_site = {}
    for cidr in cidrs:
        site = pools.site_of_subnet(cidr, site_plans) or (sites[0] if len(sites) == 1 else None)
        if site is None:
            raise InputError(f"reservation.subnets: {cidr} is in no site's virt_ip_range ({', '.join(sites)})")
        per_site.setdefault(site, []).append(cidr)
    excluded = host_addresses(doc)
    records, site_pools = {}, {}
    for site, site_cidrs in per_site.items():
        site_plan = site_plans.get(site) or {}
        g5ksubnet = site_plan.get("g5ksubnet") or {}
        virt = network(g5ksubnet.get("network") or site_plan.get("virt_ip_range") or site_cidrs[0], "virt_ip_range")
        gateway = g5ksubnet.get("gateway")
        site_excluded = excluded | ({to_int(gateway)} if gateway else set())
        site_pools[site] = pools.Pool(pools.subnet_ranges(site_cidrs), site_excluded)
        records[site] = {
            "gateway": gateway, "netmask": str(virt.netmask), "cidr": str(virt),
            "subnets": site_cidrs, "capacity": pools.subnet_capacity(site_cidrs),
        }
    site = next(iter(records))
    first = records[site]
    # a platform's own site DHCP/DNS (the lab's dnsmasq) is on its default network's gateway
    lab_server = ((site_plans.get(platform.site) or {}).get("kavlans") or {}).get("default", {}).get("gateway")
    record = {
        "mode": "subnet", "gateway": first["gateway"], "netmask": first["netmask"], "cidr": first["cidr"],
        "dns": [lab_server] if lab_server else [], "dhcp": lab_server or "site", "service_node": None,
        "domain": domain or platform.vm_domain(site),
        "subnets": [c for site_cidrs in per_site.values() for c in site_cidrs],
        "planned": guessed,
    }
    if len(records) > 1:
        record["sites"] = records
    return Plan("subnet", record, site_pools, mac_function("subnet"), planned=guessed,
                site_of_vm=vm_sites(doc, sites))


def _service_subnet_plan(doc, platform, sites, cidrs, domain, dhcp, lan):
    """Subnet mode with nothing else on the network: our service node (the fastest host)
    serves the VMs, bridged on the hosts' network; or the DHCP server the user names.

    Subnets inside the service host's network (`lan`): the VMs join that network (its
    netmask, its gateway) and the service node listens on the host's own address. Else
    the first subnet is the VMs' own network, with the service node on its first address."""
    nets = [network(c, "--subnet") for c in cidrs]
    lan_if = ipaddress.ip_interface(lan["address"]) if lan else None
    on_lan = lan_if is not None and all(n.subnet_of(lan_if.network) for n in nets)
    net = lan_if.network if on_lan else nets[0]
    gateway = lan.get("gateway") if on_lan and lan.get("gateway") and in_network(lan["gateway"], net) else None
    host = None if dhcp else fastest_host(doc)
    excluded = host_addresses(doc) | ({to_int(gateway)} if gateway else set())
    service_address = dhcp or (str(lan_if.ip) if on_lan else None)
    if service_address is None:   # the subnet's first address, taken out of the pool
        service_address = to_str(next(iter(pools.Pool(pools.subnet_ranges(cidrs), excluded))))
    excluded.add(to_int(service_address))
    record = {
        "mode": "subnet", "gateway": gateway, "netmask": str(net.netmask), "cidr": str(net),
        "dns": [service_address], "dhcp": service_address,
        "service_node": host["id"] if host else None, "service_address": None if dhcp else service_address,
        "domain": domain or platform.vm_domain(sites[0]), "subnets": list(cidrs), "planned": False,
    }
    service = None
    if host:
        # the hosts by name too, those known by a name and an address there
        names = [(h["id"].split(".")[0], h["address"]) for h in doc.get("hosts", [])
                 if h.get("address") and in_network(h["address"], net)]
        service = {"host": host["id"], "address": service_address, "prefixlen": net.prefixlen,
                   "ssh_address": host.get("address") or host["id"], "names": names}
    return Plan("subnet", record, {site: pools.Pool(pools.subnet_ranges(cidrs), excluded) for site in sites},
                mac_function("subnet"), service=service, site_of_vm=vm_sites(doc, sites))


def planned_site_subnets(plan_data, site_plan, site, n_vms):
    lab_blocks = (plan_data.get("lab_resources") or {}).get("subnets")
    if lab_blocks:  # the lab lists its subnet blocks: its first /22 is its infrastructure
        per_block = (1 << (32 - pools.SUBNET_PREFIX)) - 2
        return lab_blocks[:max(1, -(-n_vms // per_block))]
    if not site_plan or not site_plan.get("virt_ip_range"):
        raise InputError(f"site {site}: no virt_ip_range in the reference data (no subnets there)")
    return pools.planned_subnets(site_plan["virt_ip_range"], n_vms)


def vm_sites(doc, sites):
    hosts = {host["id"]: host.get("site") for host in doc.get("hosts", [])}
    return {vm["id"]: hosts.get(vm.get("host")) or sites[0] for vm in doc.get("vms", [])}


def count_vms_per_site(doc, sites):
    counts = {}
    for site in vm_sites(doc, sites).values():
        counts[site] = counts.get(site, 0) + 1
    return counts


# ---------------------------------------------------------------- KaVLAN mode

def _kavlan_plan(doc, platform, ref, plan_data, sites, vlan, planned, domain):
    guessed = False
    if vlan is None:
        if not planned:
            raise InputError("reservation.vlan is null: reserve a vlan (vm5k-oar --kavlan) or drop --kavlan")
        site_kavlans = ((plan_data.get("sites") or {}).get(sites[0]) or {}).get("kavlans") or {}
        routed = sorted(int(k) for k in site_kavlans if k.isdigit() and pools.vlan_kind(int(k)) == "kavlan")
        vlan, guessed = (routed[0] if routed else 4), True
    site = vlan_site(doc, sites, vlan, plan_data, platform.vlan_formulas)
    net, gateway = pools.vlan_network(site, vlan, plan_data, platform.vlan_formulas)
    nodes = {}
    for s in dict.fromkeys([site] + sites):
        nodes.update(ref.site_nodes(s))
    # every node the reference puts in this vlan keeps its address; so do our hosts
    excluded = {gateway} | host_addresses(doc)
    for node in nodes.values():
        address = node.vlan_address(vlan)
        if address:
            excluded.add(to_int(address))
    pool = pools.Pool(pools.vlan_ranges(net), excluded, skip_edges=net.prefixlen < 24)
    service = service_node(doc, nodes, vlan, net, pool)
    if service["address"] is None:  # a host with no vlan address: it takes the first free one
        service["address"] = to_str(next(iter(pool)))
        excluded.add(to_int(service["address"]))
    # the hosts by name in the vlan too: their vlan address when the reference knows it
    service["names"] = []
    for host in doc.get("hosts", []):
        node = nodes.get(reference.node_uid(host["id"]))
        address = (node and node.vlan_address(vlan)) or host.get("address")
        if address and in_network(address, net):
            service["names"].append((host["id"].split(".")[0], address))
    record = {
        "mode": "kavlan", "vlan": vlan, "kind": pools.vlan_kind(vlan) if platform.vlan_formulas else "kavlan",
        "site": site, "gateway": to_str(gateway), "netmask": str(net.netmask), "cidr": str(net),
        "dns": [service["address"]], "dhcp": service["address"],
        "service_node": service["host"], "service_address": service["address"],
        "domain": domain or platform.vm_domain(site), "planned": guessed,
    }
    return Plan("kavlan", record, {"*": pool}, mac_function("kavlan", vlan), planned=guessed, service=service)


def in_network(address, net):
    try:
        return ipaddress.IPv4Address(address) in net
    except ValueError:
        return False


def vlan_site(doc, sites, vlan, plan_data, formulas=True):
    """The site the vlan belongs to: the owner of a global vlan, the job that holds it, or the only site."""
    if formulas and pools.vlan_kind(vlan) == "kavlan-global":
        owner = pools.global_owner(vlan, plan_data)
        if owner is None:
            raise InputError(f"reservation.vlan {vlan}: no site owns this global vlan")
        return owner
    holders = [j["site"] for j in doc.get("reservation", {}).get("jobs", []) if j.get("vlan") == vlan]
    if holders:
        return holders[0]
    if len(sites) > 1:
        raise InputError(f"reservation.vlan {vlan}: a local/routed vlan but jobs on several sites "
                         f"({', '.join(sites)}); set 'vlan' on the job that holds it")
    return sites[0]


def fastest_host(doc, nodes=None):
    """The fastest usable host (reference node_flops, then cores, then the first): the service node."""
    nodes = nodes or {}
    hosts = [h for h in doc.get("hosts", []) if h.get("state") not in HOST_STATES_DOWN]
    if not hosts:
        raise NoResources("no usable host for the service node")

    def speed(item):
        index, host = item
        node = nodes.get(reference.node_uid(host["id"]))
        return (node.flops if node else 0, host.get("cores") or 0, host.get("threads") or 0, -index)

    return max(enumerate(hosts), key=speed)[1]


def service_node(doc, nodes, vlan, net, pool):
    """The fastest usable host: runs DHCP + DNS in the vlan."""
    host = fastest_host(doc, nodes)
    node = nodes.get(reference.node_uid(host["id"]))
    address = node.vlan_address(vlan) if node else None
    if address is None and host.get("address") and in_network(host["address"], net):
        address = host["address"]
    return {"host": host["id"], "address": address, "prefixlen": net.prefixlen,
            "ssh_address": host.get("address") or host["id"]}


# ---------------------------------------------------------------- assignment

def assign(doc, plan, force=False):
    """[(vm, ip, mac)] for every VM, keeping valid existing pairs unless force.

    Raises NoResources naming how many VMs get no address."""
    vms = doc.get("vms", [])
    taken, result, todo = set(), [None] * len(vms), []
    for index, vm in enumerate(vms):
        pool = plan.pools.get(pool_key(plan, vm))
        ip = vm.get("ip")
        if not force and pool is not None and ip and vm.get("mac"):
            try:
                n = to_int(ip)
            except ValueError:
                n = None
            if n is not None and n not in taken and pool.usable(n) and vm["mac"] == plan.mac_for(n):
                taken.add(n)
                result[index] = (vm, ip, vm["mac"])
                continue
        todo.append(index)
    missing, sources = 0, {}
    for index in todo:
        vm = vms[index]
        key = pool_key(plan, vm)
        if key not in plan.pools:
            missing += 1
            continue
        source = sources.get(key) or sources.setdefault(key, iter(plan.pools[key]))
        n = next((n for n in source if n not in taken), None)
        if n is None:
            missing += 1
            continue
        taken.add(n)
        result[index] = (vm, to_str(n), plan.mac_for(n))
    if missing:
        where = ", ".join(plan.record.get("subnets") or [plan.record.get("cidr") or "?"])
        raise NoResources(f"not enough addresses: {missing} of {len(vms)} VMs get none "
                          f"(pool {where}, {len(taken)} addresses usable)")
    return result


def pool_key(plan, vm):
    return "*" if plan.mode == "kavlan" else plan.site_of_vm.get(vm["id"])


def check(assignments, plan, doc):
    """No duplicate MAC/IP; no VM on a host, gateway, network or broadcast address."""
    forbidden = host_addresses(doc)
    for key in ("gateway", "service_address"):
        if plan.record.get(key):
            forbidden.add(to_int(plan.record[key]))
    if plan.mode == "kavlan":
        net = ipaddress.IPv4Network(plan.record["cidr"])
        forbidden |= {int(net.network_address), int(net.broadcast_address)}
    else:
        for first, last in pools.subnet_ranges(plan.record["subnets"]):
            forbidden |= {first - 1, last + 1}
    ips, macs = set(), set()
    for vm, ip, mac in assignments:
        n = to_int(ip)
        if n in ips or mac in macs:
            raise InputError(f"vms: {vm['id']}: duplicate {'IP ' + ip if n in ips else 'MAC ' + mac}")
        if n in forbidden:
            raise InputError(f"vms: {vm['id']}: IP {ip} is a host, gateway, network or broadcast address")
        ips.add(n)
        macs.add(mac)
