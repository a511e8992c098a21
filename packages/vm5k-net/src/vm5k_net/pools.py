"""Address pools per mode: the granted /22 subnets, or a KaVLAN network.

A pool is a few inclusive ranges of ints plus addresses never to hand out (gateway,
hosts, service node). Iteration is in address order, so a plan is reproducible.
"""
import bisect
import ipaddress
import math
from dataclasses import dataclass, field

from vm5k_doc.errors import InputError

from .addr import network, to_int, to_str

SUBNET_PREFIX = 22          # g5k-subnets' unit: a /22 gives 1022 addresses
LOCAL_IDS, ROUTED_IDS, GLOBAL_IDS = range(1, 4), range(4, 10), range(10, 23)


@dataclass
class Pool:
    ranges: list                                  # [(first, last)] inclusive, sorted, disjoint
    excluded: set = field(default_factory=set)    # ints never handed out
    skip_edges: bool = False                      # skip x.y.z.0 and x.y.z.255 (inside a /18 or /20)

    def __post_init__(self):
        self.ranges.sort()
        self._starts = [first for first, _ in self.ranges]

    def usable(self, ip):
        if ip in self.excluded or (self.skip_edges and (ip & 255) in (0, 255)):
            return False
        i = bisect.bisect_right(self._starts, ip) - 1
        return i >= 0 and ip <= self.ranges[i][1]

    def __iter__(self):
        excluded, skip_edges = self.excluded, self.skip_edges
        for first, last in self.ranges:
            for ip in range(first, last + 1):
                if ip in excluded or (skip_edges and (ip & 255) in (0, 255)):
                    continue
                yield ip


# ---------------------------------------------------------------- subnets (g5k-subnets)

def split_22(cidr):
    """A granted block as /22 units (a /18 is 16 of them); smaller blocks stay whole."""
    net = network(cidr, "subnet")
    if net.prefixlen >= SUBNET_PREFIX:
        return [net]
    return list(net.subnets(new_prefix=SUBNET_PREFIX))


def subnet_ranges(cidrs):
    """Every address of each /22 but its first and last, as g5k-subnets -im lists them:
    a VM never gets an address outside the /22 it came from."""
    ranges = []
    for cidr in cidrs:
        for block in split_22(cidr):
            first, last = int(block.network_address) + 1, int(block.broadcast_address) - 1
            if block.prefixlen >= 31:
                first, last = int(block.network_address), int(block.broadcast_address)
            ranges.append((first, last))
    return ranges


def subnet_capacity(cidrs):
    return sum(last - first + 1 for first, last in subnet_ranges(cidrs))


def planned_subnets(virt_ip_range, n_vms):
    """For a dry run: the first K /22 blocks of the site's virt range, K = ceil(n / 1022)."""
    net = network(virt_ip_range, "virt_ip_range")
    per_block = (1 << (32 - SUBNET_PREFIX)) - 2
    count = max(1, math.ceil(n_vms / per_block))
    base, size = int(net.network_address), 1 << (32 - SUBNET_PREFIX)
    if count * size > net.num_addresses:
        count = net.num_addresses // size
    return [f"{to_str(base + i * size)}/{SUBNET_PREFIX}" for i in range(count)]


def site_of_subnet(cidr, site_plans):
    """The site whose virt_ip_range holds cidr, or None."""
    net = network(cidr, "subnet")
    for site, plan in site_plans.items():
        virt = (plan or {}).get("virt_ip_range")
        if virt and net.subnet_of(ipaddress.IPv4Network(virt)):
            return site
    return None


# ---------------------------------------------------------------- KaVLAN

def vlan_kind(vlan):
    if vlan in LOCAL_IDS:
        return "kavlan-local"
    if vlan in ROUTED_IDS:
        return "kavlan"
    if vlan in GLOBAL_IDS:
        return "kavlan-global"
    return None


def global_owner(vlan, plan_data):
    owners = (plan_data.get("ipv6") or {}).get("site_global_kavlans") or {}
    for site, owned in owners.items():
        if owned == vlan:
            return site
    return None


def formula_network(site, vlan, plan_data):
    """The vlan's IPv4 network by the Grid'5000 formulas (grid5000-formats.md §2), or None."""
    kind = vlan_kind(vlan)
    if kind == "kavlan-local":
        return ipaddress.IPv4Network(f"192.168.{192 + 16 * (vlan - 1)}.0/20")
    owner = global_owner(vlan, plan_data) if kind == "kavlan-global" else site
    kavlan_range = ((plan_data.get("sites") or {}).get(owner) or {}).get("kavlan_ip_range")
    if not kavlan_range:
        return None
    x = int(ipaddress.IPv4Network(kavlan_range).network_address.packed[1])
    if kind == "kavlan":
        second, third = (x, (vlan - 4) * 64) if vlan < 8 else (x + 1, (vlan - 8) * 64)
        return ipaddress.IPv4Network(f"10.{second}.{third}.0/18")
    return ipaddress.IPv4Network(f"10.{x + 3}.192.0/18")


def vlan_network(site, vlan, plan_data, formulas=True):
    """(network, gateway) of kavlan-<vlan> seen from site: the reference data when it has the
    vlan, else (formulas: a platform whose vlan numbers follow Grid'5000's kinds) the
    formulas; gateway = last address - 1 in both."""
    if not isinstance(vlan, int) or isinstance(vlan, bool):
        raise InputError(f"reservation.vlan {vlan!r} is not an integer")
    site_kavlans = (((plan_data.get("sites") or {}).get(site) or {}).get("kavlans")) or {}
    given = site_kavlans.get(str(vlan))
    if given and given.get("network"):
        net = network(given["network"], f"kavlan-{vlan} network")
        gateway = to_int(given["gateway"]) if given.get("gateway") else int(net.broadcast_address) - 1
        return net, gateway
    if formulas and site_kavlans and vlan_kind(vlan) is not None:
        net = formula_network(site, vlan, plan_data)
        if net is not None:
            return net, int(net.broadcast_address) - 1
    have = sorted(int(k) for k in site_kavlans if k.isdigit())
    raise InputError(f"reservation.vlan {vlan} out of range for site {site} "
                     f"(vlans there: {', '.join(map(str, have)) or 'none'})")


def vlan_ranges(net):
    return [(int(net.network_address) + 1, int(net.broadcast_address) - 1)]
