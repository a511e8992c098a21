"""Names of the lab (hosts, VMs vm5k-net registered) through the lab's own DNS server.

The control node keeps its own resolver (/etc/resolv.conf is never edited); this asks the
site dnsmasq (10.77.0.1, `status.network.dns`) directly with one UDP A query.
"""
from __future__ import annotations

import ipaddress

from vm5k_doc.dnsquery import query_a

from . import plan


def lab_name(name: str) -> str:
    """'vm-1' -> 'vm-1.lab'; a name with a dot is taken as it is."""
    return name if "." in name else f"{name}.{plan.DOMAIN}"


def resolve(name: str, server: str = plan.GATEWAY, query=query_a) -> str:
    """An address for `name`: itself if it is one, else the lab DNS's first A record
    (`vm-1` is asked as `vm-1.lab`). ValueError when the lab DNS does not know it."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    fqdn = lab_name(name)
    try:
        answer = query(server, fqdn)
    except OSError as e:
        raise ValueError(f"lab DNS {server} did not answer for {fqdn}: {e} (is the lab up?)") from None
    if not answer:
        raise ValueError(f"lab DNS {server} does not know {fqdn}")
    return answer[0]
