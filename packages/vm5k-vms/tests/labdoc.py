"""Build a document as vm5k-net and vm5k-hosts would leave it, straight from the lab's
status (the images read in place from the lab cache), and register the VMs' static DHCP
bindings and names with the lab's dnsmasq the way vm5k-net does (one file of ours)."""
import ipaddress
import json
import os
import subprocess
from pathlib import Path

BINDINGS = "vm5k-vms-tests.conf"


def lab_status():
    out = subprocess.run(["vm5k-lab", "status"], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def g5k_mac(ip):
    o = ipaddress.ip_address(ip).packed
    return f"00:16:3e:{o[1]:02x}:{o[2]:02x}:{o[3]:02x}"


def document(status, n_vms, image="mini", first_ip="10.77.4.101", mem=128, prefix="vm"):
    hosts = []
    for h in status["hosts"]:
        images = {name: {role: {"path": info[role]} for role in ("kernel", "initrd", "disk") if info.get(role)}
                  for name, info in status["images"].items() if info.get("built")}
        hosts.append({"id": h["id"], "site": "lab", "cluster": "lab", "cores": h["cores"], "mem_mb": h["mem_mb"],
                      "state": "ready", "virt": status["virt"], "address": h["address"],
                      "bridge": status["network"]["host_bridge"], "images": images})
    base = ipaddress.ip_address(first_ip)
    vms = []
    for i in range(n_vms):
        ip = str(base + i)
        vms.append({"id": f"{prefix}-{i + 1}", "mem": mem, "n_cpu": 1, "hdd": 1, "cpuset": "auto",
                    "backing_file": image, "real_file": False, "host": hosts[i % len(hosts)]["id"],
                    "ip": ip, "mac": g5k_mac(ip), "hostname": f"{prefix}-{i + 1}", "state": "addressed"})
    net = status["network"]
    return {"vm5k": {"version": 1, "platform": "lab", "stages": ["topo", "oar", "net", "hosts"], "tools": {}},
            "network": {"mode": "subnet", "gateway": net["gateway"], "dns": net["dns"], "domain": net["domain"]},
            "hosts": hosts, "vms": vms, "events": []}


def register(status, doc):
    """Static DHCP bindings + names for the document's VMs, then HUP the site dnsmasq."""
    dhcp = status["network"]["dhcp"]
    lines = [f"{vm['mac']},{vm['ip']},{vm['hostname']}" for vm in doc["vms"]]
    names = [f"{vm['ip']} {vm['hostname']}.{status['network']['domain']} {vm['hostname']}" for vm in doc["vms"]]
    Path(dhcp["hostsfile_dir"], BINDINGS).write_text("\n".join(lines) + "\n")
    Path(dhcp["addn_hosts_dir"], BINDINGS).write_text("\n".join(names) + "\n")
    os.kill(int(dhcp["pid"]), 1)


def unregister(status):
    dhcp = status["network"]["dhcp"]
    for d in (dhcp["hostsfile_dir"], dhcp["addn_hosts_dir"]):
        Path(d, BINDINGS).unlink(missing_ok=True)
    os.kill(int(dhcp["pid"]), 1)
