"""KaVLAN: putting the hosts into the reserved vlan before anything else runs on them.

Grid'5000: kadeploy3 `--vlan V` deploys the hosts and leaves their port in the vlan; they
are then reached as `<node>-kavlan-V.<site>.grid5000.fr`. The lab: `vm5k-lab kavlan HOST
V` moves a host's port (like `kavlan -s`) and gives it 10.78.V.(10+N), which the control
node reaches through the lab's router (vm5k_doc.platforms.lab). Either way `hosts[].address`
becomes the vlan address (the default one kept in `default_address`, by
vm5k_doc.platforms.base.record_vlan) and `hosts[].vlan` is set; vm5k-net
--kavlan then runs its service node on hosts already in the vlan, and `vm5k-oar --release`
puts lab hosts back (on Grid'5000 the end of the job does).
"""

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
