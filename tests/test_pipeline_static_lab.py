"""Issue 18: any SSH cluster. Two lab hosts treated as plain SSH hosts (platform static): no
OAR, no lab DHCP for the VMs; vm5k's own service node (dnsmasq on one host, bridged where
the VMs are) hands them their planned addresses and names. The image is one a static user
brings: a copy of `vm5k-lab image`'s mini directory (vmlinuz + initrd.gz) under an image
directory. As the README's "Your own cluster" types it:

    vm5k-topo --platform static -n 4 -t '{..."backing_file": "DIR/mini"}' \\
      | vm5k-oar --hosts @hosts.txt | vm5k-hosts | vm5k-net --subnet CIDR | vm5k-vms

then `vm5k-vms --destroy | vm5k-net --stop-service` leaves no domain and no dnsmasq of ours.
"""
import ipaddress
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent
SUBNET = "10.77.200.0/24"   # free addresses on the lab hosts' network (10.77.0.0/16), no lab subnet


def sh(script, cwd, env):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=900)


def ssh(key, address, command):
    options = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]
    return subprocess.run(["ssh", "-i", key, *options, f"root@{address}", command],
                          capture_output=True, text=True, timeout=60)


def running_dnsmasq(pid):
    """A dnsmasq that is still running (not gone, not a zombie waiting for its reaper)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[0].endswith("(dnsmasq") and stat.split(")")[1].split()[0] != "Z"


@pytest.mark.lab
def test_static_hosts_pipeline_with_our_own_service_node(lab, tmp_path):
    key = lab["ssh"]["key"]
    hosts = [h["address"] for h in lab["hosts"][:2]]
    images = tmp_path / "vm5k-images"
    images.mkdir()
    mini = shutil.copytree(lab["images"]["mini"]["dir"], images / "mini")   # what a user copies
    (tmp_path / "hosts.txt").write_text("# the rack\n" + "".join(f"root@{h}\n" for h in hosts))
    env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
           "VM5K_SSH_KEY": key, "VM5K_IMAGE_DIRS": str(images)}
    template = json.dumps({"mem": 128, "hdd": 1, "backing_file": str(mini)})
    deploy = sh(f"vm5k-topo --platform static -n 4 -t '{template}' | vm5k-oar --hosts @hosts.txt"
                f" | vm5k-hosts | vm5k-net --subnet {SUBNET} | vm5k-vms > deployed.json", tmp_path, env)
    network = {}
    try:
        doc = json.loads((tmp_path / "deployed.json").read_text())
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        assert doc["vm5k"]["platform"] == "static" and doc["reservation"]["jobs"] == []
        assert doc["vm5k"]["stages"] == ["topo", "oar", "hosts", "net", "vms"]
        assert sorted(h["id"] for h in doc["hosts"]) == sorted(hosts)
        assert all(h["mem_mb"] > 0 and h["cores"] >= 1 for h in doc["hosts"])       # asked over ssh
        network = doc["network"]
        service = network["service_address"]
        assert network["mode"] == "subnet" and network["service_node"] in hosts and service == network["service_node"]
        assert network["dhcp"] == service and network["dns"] == [service] and network["service_pid"]
        assert network["cidr"] == "10.77.0.0/16"                  # the hosts' network, asked on the service host
        for vm in doc["vms"]:
            assert vm["state"] == "ready", vm
            assert ipaddress.ip_address(vm["ip"]) in ipaddress.ip_network(SUBNET), vm
            answer = ssh(key, vm["ip"], "hostname; ip addr; cat /etc/resolv.conf")
            assert answer.returncode == 0, answer.stderr
            assert answer.stdout.splitlines()[0].strip() == vm["id"]
            assert f"inet {vm['ip']}/16" in answer.stdout, answer.stdout          # the planned address, by DHCP
            assert f"nameserver {service}" in answer.stdout, answer.stdout        # from our service node
        first, other = doc["vms"][0], doc["vms"][-1]
        looked_up = ssh(key, first["ip"], f"nslookup {other['id']}")
        assert other["ip"] in looked_up.stdout.split("Name:", 1)[-1], looked_up.stdout + looked_up.stderr
        # our dnsmasq leased them; the lab's site DHCP was given no binding of ours
        leases = ssh(key, service, "cat /var/lib/vm5k-net/subnet/leases").stdout
        assert all(vm["mac"] in leases for vm in doc["vms"]), leases
        site_bindings = pathlib.Path(lab["network"]["dhcp"]["hostsfile_dir"]) / "vm5k-net"
        assert not site_bindings.exists() or not any(vm["mac"] in site_bindings.read_text() for vm in doc["vms"])
    finally:
        clean = sh("vm5k-vms --destroy -i deployed.json | vm5k-net --stop-service > cleaned.json", tmp_path, env)
    assert clean.returncode == 0, clean.stderr[-3000:]
    cleaned = json.loads((tmp_path / "cleaned.json").read_text())
    assert all(vm["state"] == "destroyed" for vm in cleaned["vms"])
    assert "service_pid" not in cleaned["network"]
    assert network.get("service_pid") and not running_dnsmasq(network["service_pid"])
    for host in hosts:
        left = ssh(key, host, "virsh -q -c qemu:///system list --all --name; ls /var/lib/vm5k-net/subnet")
        assert left.returncode == 0, left.stderr
        assert not any(line.startswith("vm-") for line in left.stdout.split()), left.stdout
        assert "dnsmasq.pid" not in left.stdout.split(), left.stdout
