"""Acceptance on the lab (issue 6): in subnet mode and in KaVLAN mode, a DHCP client
plugged like a VM into a lab host's br0 gets exactly the planned IP, and DNS answers the
VM's name with it. The lab is left as found: bindings removed, hosts back on the site
network, our service dnsmasq stopped."""
import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.lab
VM5K_NET = os.path.join(os.path.dirname(sys.executable), "vm5k-net")
GUEST = "vm5knet-guest"


def sh(*argv, check=True, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check, **kw)


def lab_doc(lab, n_vms=3, subnets=(), vlan=None):
    hosts = [{"id": h["id"], "site": "lab", "cluster": "lab", "cores": h.get("cores") or 1,
              "mem_mb": h.get("mem_mb") or 1024, "state": "reserved", "address": h["address"]} for h in lab["hosts"]]
    vms = [{"id": f"vm-{i}", "mem": 128, "n_cpu": 1, "hdd": 1, "state": "placed",
            "host": hosts[(i - 1) % len(hosts)]["id"]} for i in range(1, n_vms + 1)]
    return {"vm5k": {"version": 1, "platform": "lab", "stages": ["topo", "oar"], "reference": lab["reference"]},
            "reservation": {"jobs": [{"site": "lab", "id": 1}], "subnets": list(subnets), "vlan": vlan},
            "hosts": hosts, "vms": vms, "events": []}


def vm5k_net(doc, *args):
    done = subprocess.run([VM5K_NET, *args], input=json.dumps(doc), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Guest:
    """A netns whose eth0 hangs on a lab host's br0, as a VM's tap does."""

    def __init__(self, host_netns):
        sh("ip", "netns", "del", GUEST, check=False)
        sh("ip", "netns", "add", GUEST)
        sh("ip", "link", "add", "vm5knet-g0", "netns", host_netns, "type", "veth", "peer", "name", "eth0",
           "netns", GUEST)
        sh("ip", "-n", host_netns, "link", "set", "vm5knet-g0", "master", "br0", "up")
        sh("ip", "-n", GUEST, "link", "set", "lo", "up")

    def dhcp(self, mac):
        sh("ip", "-n", GUEST, "link", "set", "eth0", "address", mac, "up")
        done = sh("ip", "netns", "exec", GUEST, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6",
                  "-T", "1", "-s", "/bin/true", check=False)
        found = re.search(r"lease of (\S+) obtained", done.stdout + done.stderr)
        return found.group(1) if found else None

    def set_address(self, ip, prefix):
        sh("ip", "-n", GUEST, "addr", "add", f"{ip}/{prefix}", "dev", "eth0")

    def resolve(self, server, name):
        probe = f"from vm5k_doc import dnsquery; print(' '.join(dnsquery.query_a({server!r}, {name!r})))"
        return sh("ip", "netns", "exec", GUEST, sys.executable, "-c", probe).stdout.strip()

    def remove(self):
        sh("ip", "netns", "del", GUEST, check=False)


def test_subnet_mode_site_dhcp_gives_planned_ip(lab):
    subnet = lab["network"]["subnets"][0]
    out = vm5k_net(lab_doc(lab, subnets=[subnet]))
    vm = out["vms"][1]
    assert out["network"]["mode"] == "subnet" and out["network"]["dhcp"] == lab["network"]["dhcp"]["server"]
    dhcp_file = os.path.join(lab["network"]["dhcp"]["hostsfile_dir"], "vm5k-net")
    hosts_file = os.path.join(lab["network"]["dhcp"]["addn_hosts_dir"], "vm5k-net")
    guest = Guest(lab["hosts"][1]["netns"])
    try:
        assert guest.dhcp(vm["mac"]) == vm["ip"]
        guest.set_address(vm["ip"], 16)
        assert guest.resolve(lab["network"]["dhcp"]["server"], "vm-2.lab") == vm["ip"]
    finally:
        guest.remove()
        for path in (dhcp_file, hosts_file):
            if os.path.exists(path):
                os.unlink(path)
        os.kill(lab["network"]["dhcp"]["pid"], 1)


def test_kavlan_mode_service_node_gives_planned_ip_and_names(lab):
    from vm5k_lab import network as lab_network

    vlan = 4
    out = vm5k_net(lab_doc(lab, vlan=vlan), "--kavlan")
    net = out["network"]
    assert (net["mode"], net["cidr"], net["service_node"]) == ("kavlan", "10.78.4.0/24", "host1.lab")
    assert net["service_address"] == "10.78.4.11"
    vm = out["vms"][2]
    guest = Guest(lab["hosts"][1]["netns"])
    try:
        # what kavlan -s does: both hosts' ports into the vlan, away from the site DHCP
        lab_network.attach_host_port(1, vlan)
        lab_network.attach_host_port(2, vlan)
        assert guest.dhcp(vm["mac"]) == vm["ip"]
        guest.set_address(vm["ip"], 24)
        assert guest.resolve(net["service_address"], "vm-3.lab") == vm["ip"]
        assert guest.resolve(net["service_address"], "host2.lab") == "10.78.4.12"  # its vlan address
    finally:
        guest.remove()
        lab_network.attach_host_port(1, None)
        lab_network.attach_host_port(2, None)
        pid = net.get("service_pid")
        if pid:
            os.kill(pid, 15)
        sh("ip", "-n", "host1", "addr", "del", "10.78.4.11/24", "dev", "br0", check=False)
