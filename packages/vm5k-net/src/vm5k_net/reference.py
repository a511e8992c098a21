"""The reference data vm-net reads: the address plan (kavlan-and-subnets.json) and, per
site, the nodes (their KaVLAN addresses and node_flops, for the service node).

`vm5k.reference` is a site file or a directory of them (vm5k-topo's snapshot, or the
lab's reference/lab.json); kavlan-and-subnets.json sits beside the site files.
"""
import functools
import json
import os

from vm5k_doc.errors import InputError

PLAN_FILE = "kavlan-and-subnets.json"


def reference_dir(path):
    if not path:
        raise InputError("no reference data: the document has no vm5k.reference; give --reference DIR")
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    if not os.path.isfile(os.path.join(directory, PLAN_FILE)):
        raise InputError(f"reference {path}: no {PLAN_FILE} beside it")
    return directory


@functools.cache
def _load(filename):
    try:
        with open(filename, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise InputError(f"reference {filename}: {exc}") from None


def address_plan(directory):
    """kavlan-and-subnets.json: {'sites': {site: {virt_ip_range, g5ksubnet, kavlans...}}, 'ipv6': ...}."""
    return _load(os.path.join(directory, PLAN_FILE))


def site_plan(directory, site):
    sites = address_plan(directory).get("sites") or {}
    plan = sites.get(site)
    if not plan:
        raise InputError(f"site {site!r}: not in {PLAN_FILE} (have {', '.join(sorted(sites))})")
    return plan


def site_nodes(directory, site):
    """Node documents of one site ({} when the site file is missing: nodes are optional)."""
    for name in (f"{site}.json", "lab.json" if site == "lab" else None):
        if name and os.path.isfile(os.path.join(directory, name)):
            data = _load(os.path.join(directory, name))
            if data.get("site", {}).get("uid", site) == site:
                return {node["uid"]: node for node in data.get("nodes", [])}
    return {}


def node_uid(host_id):
    """'nova-1.lyon.grid5000.fr' or 'nova-1-kavlan-4.lyon...' -> 'nova-1'."""
    short = host_id.split(".", 1)[0]
    head, sep, tail = short.rpartition("-kavlan-")
    return head if sep and tail.isdigit() else short


def node_vlan_address(node, vlan):
    """The node's address in kavlan-<vlan>, main interface first, or None."""
    per_iface = node.get("kavlan") or {}
    main = (node.get("main_interface") or {}).get("device")
    for iface in ([main] if main in per_iface else []) + sorted(per_iface):
        address = per_iface[iface].get(f"kavlan-{vlan}")
        if address:
            return address
    return None


def node_flops(node):
    return (node.get("performance") or {}).get("node_flops") or 0
