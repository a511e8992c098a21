"""The net stage: plan, check, write `network` and every VM's mac/ip/hostname, then make
the DHCP server of the mode hand out exactly that plan.

| platform, mode | who serves DHCP/DNS | what we do |
|---|---|---|
| g5k, subnet | the site (g5k-subnets pairs) | nothing to push |
| lab, subnet | the lab's site dnsmasq | platform.serve_bindings: push, SIGHUP, check DNS |
| static, subnet | our service node on one host (Platform.subnet_service) | dnsmasq over ssh on the hosts' network |
| static, subnet, --dhcp | the user's DHCP server | nothing (--lists writes its dhcp-hosts) |
| any, kavlan | our service node | dnsmasq over ssh, started and checked |
"""
from vm5k_doc import platforms
from vm5k_doc.errors import InputError

from . import dnsmasq, lists, service
from . import plan as plan_mod

ADDRESSABLE = (None, "planned", "placed")


def run(ctx, kavlan=False, reference=None, lists_dir=None, ssh_key=None, ssh_user=None, domain=None, subnet=(),
        dhcp=None, stop_service=False, **_):
    doc = ctx.doc
    if stop_service:
        return stop(ctx, ssh_key, ssh_user)
    if not doc.get("vms"):
        raise InputError("vms: no VM to address (run vm5k-topo first)")
    platform = platforms.of(doc)
    ssh, lan = None, None
    bar = ctx.progress("VMs", total=len(doc["vms"]), step="plan")
    if platform.subnet_service and subnet and not (kavlan or dhcp):
        # our service node serves the subnets: where it is, the VMs' network is its network
        ssh = platform.ssh(ssh_key, ssh_user)
        host = plan_mod.fastest_host(doc)
        first = plan_mod.network(subnet[0], "--subnet")
        if not ctx.dry_run:
            bar.update(step="service node", note=host["id"])
            lan = service.lan(ssh, host.get("address") or host["id"])
        ctx.log.debug("service node %s: %s", host["id"], f"network {lan['address']}" if lan else f"planned in {first}")
    plan = plan_mod.build(doc, kavlan=kavlan, reference_path=reference, dry_run=ctx.dry_run,
                          domain=domain, subnets=list(subnet) or None, dhcp=dhcp, service_lan=lan)
    assignments = plan_mod.assign(doc, plan, force=ctx.force)
    plan_mod.check(assignments, plan, doc)

    network = dict(doc.get("network") or {})
    for key in ("sites", "vlan", "kind", "site", "service_address", "service_pid", "service_dir"):
        network.pop(key, None)  # ours from an earlier run in another mode
    network.update(plan.record)
    doc["network"] = network
    emit = ctx.events.emit
    bar.update(addressed=len(assignments))
    for vm, ip, mac in assignments:
        if vm.get("ip") != ip:
            emit("vm", id=vm["id"], state="addressed", ip=ip, mac=mac)
        vm["ip"], vm["mac"], vm["hostname"] = ip, mac, vm["id"]
        if vm.get("state") in ADDRESSABLE:
            vm["state"] = "addressed"
    ctx.log.info("%d VMs addressed (%s mode, %s%s)", len(assignments), plan.mode,
                 ", ".join(network.get("subnets") or [network.get("cidr") or "?"])[:200],
                 ", planned" if plan.planned else "")
    if lists_dir:
        lists.write(lists_dir, doc)

    if ctx.dry_run or plan.planned:
        return None
    bar.update(step="DHCP/DNS")
    if plan.service:   # our service node: KaVLAN, or subnets with nothing else to serve them
        network.update(service.start(network, assignments, plan.service["ssh_address"],
                                     ssh or platform.ssh(ssh_key, ssh_user), extra_names=plan.service["names"]))
    elif dhcp:
        ctx.log.info("the DHCP server %s serves the VMs: give it their bindings (--lists DIR: DIR/dhcp-hosts)", dhcp)
    else:  # subnet mode: the platform's own DHCP/DNS, if it has one, serves the plan
        files = {"dhcp_hosts": dnsmasq.dhcp_host_lines(assignments),
                 "hosts": dnsmasq.hosts_lines(assignments, network["domain"])}
        probe = (f"{assignments[0][0]['id']}.{network['domain']}", assignments[0][1]) if assignments else None
        network.update(platform.serve_bindings(network, files, probe=probe))
    return None


def service_ssh_address(doc, network):
    """How to reach the service node now: its host's current address (vm5k-hosts may have
    moved it into the vlan), else its name."""
    node = network.get("service_node")
    host = next((h for h in doc.get("hosts") or [] if h["id"] == node), {})
    return host.get("address") or node


def stop(ctx, ssh_key=None, ssh_user=None):
    """`--stop-service`: stop the service node's dnsmasq (the lab's and static hosts outlive
    the job; on Grid'5000 the end of the job does it). The addresses stay in the document."""
    network = ctx.doc.get("network") or {}
    if not network.get("service_node"):
        ctx.log.info("no service node in the document: nothing to stop")
        return None
    if ctx.dry_run:
        ctx.log.info("dry run: would stop dnsmasq on %s", network["service_node"])
        return None
    ssh = platforms.of(ctx.doc).ssh(ssh_key, ssh_user)
    service.stop(network, service_ssh_address(ctx.doc, network), ssh)
    network.pop("service_pid", None)
    return None
