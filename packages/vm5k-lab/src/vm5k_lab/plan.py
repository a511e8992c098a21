"""The lab's fixed names and address plan (pure, no side effects).

One lab per machine, so every name is fixed:

- netns ``vmlab`` holds bridge ``labbr0`` (the site network, 10.77.0.1/16) and the site
  dnsmasq (DHCP + DNS for domain ``lab``); the root namespace reaches it through veth
  ``vmlab0`` = 10.77.0.254.
- host N is netns ``hostN``, its ``eth0`` is enslaved to its ``br0`` = 10.77.0.(10+N)/16,
  FQDN ``hostN.lab``.
- the whole 10.77.0.0/16 is one flat L2 (like a Grid'5000 site's production network +
  its ``virt_ip_range``): 10.77.0.0/24 is for infrastructure (gateway, hosts, control
  node), 10.77.4.0/22, 10.77.8.0/22, ... are the reservable ``slash_22`` subnets whose
  netmask/gateway are those of the /16 (as on Grid'5000 where they are those of the /14).
- KaVLAN ``kavlan`` (routed) vlans 4..6: bridges ``kavlanN`` in netns vmlab, network
  10.78.N.0/24, gateway 10.78.N.254 (the vmlab namespace routes between them and the site);
  no DHCP server answers there until a vm5k service node starts one.
"""

from __future__ import annotations

import ipaddress
import re

SITE = "lab"
CLUSTER = "lab"
DOMAIN = "lab"

LAB_NS = "vmlab"
BRIDGE = "labbr0"
ROOT_VETH = "vmlab0"          # root-namespace end; its peer in vmlab is "vmlab0p"
ROOT_VETH_PEER = "vmlab0p"

SITE_NET = ipaddress.ip_network("10.77.0.0/16")
INFRA_NET = ipaddress.ip_network("10.77.0.0/24")
GATEWAY = "10.77.0.1"         # labbr0 in vmlab: DHCP, DNS, "frontend" side
CONTROL = "10.77.0.254"       # the control node (root namespace, veth vmlab0)
VIRT_GATEWAY = "10.77.255.254"  # like g5ksubnet.gateway: last usable address of the range
PREFIXLEN = SITE_NET.prefixlen
NETMASK = str(SITE_NET.netmask)

MAX_HOSTS = 80
SUBNET_PREFIX = 22
N_SUBNETS = 15                # 10.77.4.0/22 .. 10.77.60.0/22

KAVLAN_RANGE = ipaddress.ip_network("10.78.0.0/16")
VLAN_IDS = (4, 5, 6)          # Grid'5000 routed "kavlan" ids (4..9); type 'kavlan' in OAR

HOST_RE = re.compile(r"^host([1-9][0-9]?)$")

# The site twin (`vm5k-lab up --twin`): the kinds of clusters a Grid'5000 site has, one lab
# host each after the default cluster, whose last host is in standby (OAR state Absent with
# `available_upto` in the future, as Grid'5000's powered-off nodes; OAR wakes it for a job).
#   cluster -> (OAR queue, exotic, hardware virtualization)
TWIN_CLUSTERS = {
    "prod": ("production", False, True),      # production queue only (like grele, abaca)
    "exo": ("default", True, True),           # exotic=YES: only for jobs of type exotic
    "novirt": ("default", False, False),      # no virtualization (supported_job_types.virtual false)
}
TWIN_HOSTS = 6                # 3 in cluster lab (host3 in standby), then prod, exo, novirt


def layout(n_hosts: int, twin: bool = False) -> list[dict]:
    """What each host is, in order: {"n", "cluster", "queue", "exotic", "virtual", "standby"}.
    Default: every host in cluster `lab`, default queue, virtualizable, alive. Twin: hosts
    beyond the default cluster's are one per TWIN_CLUSTERS entry; the default cluster's last
    host is in standby (it needs at least 2 hosts, so n_hosts >= len(TWIN_CLUSTERS) + 2)."""
    check_host_number(n_hosts)
    default = {"cluster": CLUSTER, "queue": "default", "exotic": False, "virtual": True, "standby": False}
    if not twin:
        return [{"n": i, **default} for i in range(1, n_hosts + 1)]
    n_default = n_hosts - len(TWIN_CLUSTERS)
    if n_default < 2:
        raise ValueError(f"a twin lab needs at least {len(TWIN_CLUSTERS) + 2} hosts, not {n_hosts}")
    out = [{"n": i, **default, "standby": i == n_default} for i in range(1, n_default + 1)]
    for i, (cluster, (queue, exotic, virtual)) in enumerate(TWIN_CLUSTERS.items(), n_default + 1):
        out.append({"n": i, "cluster": cluster, "queue": queue, "exotic": exotic,
                    "virtual": virtual, "standby": False})
    return out


def host_name(n: int) -> str:
    check_host_number(n)
    return f"host{n}"


def host_fqdn(n: int) -> str:
    return f"{host_name(n)}.{DOMAIN}"


def host_address(n: int) -> str:
    check_host_number(n)
    return str(INFRA_NET.network_address + 10 + n)


def check_host_number(n: int) -> None:
    if not isinstance(n, int) or not 1 <= n <= MAX_HOSTS:
        raise ValueError(f"host number must be 1..{MAX_HOSTS}, not {n!r}")


def host_number(name: str) -> int:
    """'host3', 'host3.lab' or '10.77.0.13' -> 3."""
    name = name.strip()
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        short = name[: -len("." + DOMAIN)] if name.endswith("." + DOMAIN) else name
        m = HOST_RE.match(short)
        if not m:
            raise ValueError(f"not a lab host: {name!r} (expected hostN, hostN.lab or its address)") from None
        n = int(m.group(1))
    else:
        off = int(ip) - int(INFRA_NET.network_address) - 10
        if ip not in INFRA_NET or off < 1:
            raise ValueError(f"not a lab host address: {name!r}")
        n = off
    check_host_number(n)
    return n


def host_veth(n: int) -> tuple[str, str]:
    """(end in vmlab attached to labbr0, end moved into hostN and renamed eth0)."""
    return f"{host_name(n)}-p", f"{host_name(n)}-u"


def subnets() -> list[str]:
    """The reservable slash_22 blocks, in order."""
    base = int(SITE_NET.network_address)
    size = 1 << (32 - SUBNET_PREFIX)
    return [
        str(ipaddress.ip_network((base + (i + 1) * size, SUBNET_PREFIX)))
        for i in range(N_SUBNETS)
    ]


def vlan_network(vlan: int) -> ipaddress.IPv4Network:
    if vlan not in VLAN_IDS:
        raise ValueError(f"no such lab vlan: {vlan!r} (have {list(VLAN_IDS)})")
    return ipaddress.ip_network(f"10.78.{vlan}.0/24")


def vlan_gateway(vlan: int) -> str:
    return str(vlan_network(vlan).broadcast_address - 1)


def vlan_bridge(vlan: int) -> str:
    vlan_network(vlan)
    return f"kavlan{vlan}"


def host_vlan_address(n: int, vlan: int) -> str:
    check_host_number(n)
    return str(vlan_network(vlan).network_address + 10 + n)


def host_vlan_fqdn(n: int, vlan: int) -> str:
    """Grid'5000 style: <node>-kavlan-<id>.<site>."""
    return f"{host_name(n)}-kavlan-{vlan}.{DOMAIN}"


def vlans() -> list[dict]:
    return [
        {
            "id": v,
            "type": "kavlan",
            "network": str(vlan_network(v)),
            "gateway": vlan_gateway(v),
            "bridge": vlan_bridge(v),
        }
        for v in VLAN_IDS
    ]


def g5k_mac(ip: str) -> str:
    """Grid'5000 g5k-subnets rule: 00:16:3e + hex of the 2nd..4th octets."""
    o = ipaddress.ip_address(ip).packed
    return f"00:16:3e:{o[1]:02x}:{o[2]:02x}:{o[3]:02x}"


def host_records(n_hosts: int) -> list[tuple[str, str]]:
    recs = [(f"gateway.{DOMAIN}", GATEWAY), (f"control.{DOMAIN}", CONTROL)]
    recs += [(host_fqdn(i), host_address(i)) for i in range(1, n_hosts + 1)]
    recs += [(host_vlan_fqdn(i, v), host_vlan_address(i, v)) for v in VLAN_IDS for i in range(1, n_hosts + 1)]
    return recs
