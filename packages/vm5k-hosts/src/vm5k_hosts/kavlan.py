"""KaVLAN: putting the hosts into the reserved vlan before anything else runs on them.

Grid'5000: kadeploy3 `--vlan V` deploys the hosts and leaves their port in the vlan; they
are then reached as `<node>-kavlan-V.<site>.grid5000.fr`. The lab: `vm5k-lab kavlan HOST
V` moves a host's port (like `kavlan -s`) and gives it 10.78.V.(10+N), which the control
node reaches through the lab's router. Either way `hosts[].address` becomes the vlan
address (the default one is kept in `default_address`) and `hosts[].vlan` is set; vm5k-net
--kavlan then runs its service node on hosts already in the vlan, and `vm5k-oar --release`
puts lab hosts back (on Grid'5000 the end of the job does).
"""
import json
import os
import shutil
import subprocess
import sys

from vm5k_doc.errors import PlatformError


def wanted_vlan(doc):
    """The vlan the hosts belong in: the reservation's vlan when KaVLAN was asked for
    (vm5k-topo -k, or vm5k-net --kavlan already ran), else None (the default network)."""
    vlan = (doc.get("reservation") or {}).get("vlan")
    asked = (doc.get("request") or {}).get("kavlan") or (doc.get("network") or {}).get("mode") == "kavlan"
    return int(vlan) if vlan is not None and asked else None


def g5k_vlan_name(host_id, vlan):
    """execo's get_kavlan_host_name: node-1.site.grid5000.fr -> node-1-kavlan-4.site.grid5000.fr."""
    short, _, rest = host_id.partition(".")
    return f"{short}-kavlan-{int(vlan)}" + (f".{rest}" if rest else "")


def record(host, vlan, address):
    """Mark host as in `vlan` (None: the default network) at `address`."""
    if vlan is None:
        if host.get("default_address"):
            host["address"] = host.pop("default_address")
        host.pop("vlan", None)
        return
    host.setdefault("default_address", host.get("address") or host["id"])
    host["address"], host["vlan"] = address, int(vlan)


def lab_cli():
    exe = shutil.which("vm5k-lab") or shutil.which("vm5k-lab", path=os.path.dirname(sys.executable))
    if exe is None:
        raise PlatformError("vm5k-lab is not installed: cannot move hosts between vlans")
    return exe


def lab_moves(hosts, vlan, lab_status):
    """[(host, target)] for the lab hosts whose port is not where it should be: target is
    the vlan id or "DEFAULT"."""
    where = {h["id"]: h.get("vlan") for h in (lab_status or {}).get("hosts", [])}
    return [(h, "DEFAULT" if vlan is None else str(vlan)) for h in hosts
            if h["id"] in where and where[h["id"]] != vlan]


def lab_apply(hosts, vlan, lab_status, run=subprocess.run):
    """Move the lab hosts into `vlan` (None: DEFAULT) where needed (`vm5k-lab kavlan`, which
    prints the new address), then record every host's address. Returns {id moved: what}."""
    addresses = {}
    for h in (lab_status or {}).get("hosts", []):
        addresses[h["id"]] = h.get("address") if vlan is None else h.get("vlan_address")
    moved = {}
    for host, target in lab_moves(hosts, vlan, lab_status):
        proc = run([lab_cli(), "kavlan", host["id"], target], capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise PlatformError(f"vm5k-lab kavlan {host['id']} {target}: {lines[-1] if lines else 'failed'}")
        try:
            addresses[host["id"]] = json.loads(proc.stdout)["address"]
        except (ValueError, KeyError, TypeError):
            raise PlatformError(f"vm5k-lab kavlan {host['id']} {target}: no address in its output") from None
        where = "the default network" if vlan is None else f"vlan {vlan}"
        moved[host["id"]] = f"port moved to {where} ({addresses[host['id']]})"
    for host in hosts:
        if addresses.get(host["id"]):
            record(host, vlan, addresses[host["id"]])
    return moved
