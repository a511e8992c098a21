"""The KaVLAN pipeline on the lab, as a user types it (issue 6: VMs get exactly the planned
addresses from our own service node, in an isolated vlan where nobody else answers DHCP):

    vm5k-topo -k | vm5k-oar | vm5k-hosts | vm5k-net --kavlan | vm5k-vms

vm5k-hosts moves the hosts into the reserved vlan (the lab's `kavlan -s`; kadeploy3
--vlan on Grid'5000), then vm5k-net starts its dnsmasq on a host already in the vlan.
Always, even on failure: `vm5k-vms --destroy | vm5k-net --stop-service | vm5k-oar --release`
(which puts the hosts back in the default network).
"""
import ipaddress
import json
import pathlib
import subprocess
import sys
import time

import pytest

BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "VM5K_LAB_LOCKED": "1"}   # the `lab` fixture holds the lab lock for us (vm5k-lab kavlan)
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=900)


def ssh(lab, address, *argv):
    key, options = lab["ssh"]["key"], lab["ssh"]["options"]
    return subprocess.run(["ssh", "-i", key, *options, f"root@{address}", *argv],
                          capture_output=True, text=True, timeout=60)


def lab_vlans():
    status = json.loads(subprocess.run([str(BIN / "vm5k-lab"), "status"], capture_output=True, text=True).stdout)
    return {h["id"]: h.get("vlan") for h in status["hosts"]}


@pytest.mark.lab
def test_kavlan_pipeline_vms_get_planned_vlan_addresses(lab, tmp_path):
    started = time.monotonic()
    deploy = sh(f"vm5k-topo --platform lab -n 3 -r lab:3 -k -t '{TEMPLATE}' -w 0:20:00"
                " | vm5k-oar | vm5k-hosts | vm5k-net --kavlan | vm5k-vms > deployed.json", tmp_path)
    job = None
    try:
        doc = json.loads((tmp_path / "deployed.json").read_text())
        job = (doc.get("reservation") or {}).get("jobs", [{}])[0]
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        assert doc["vm5k"]["stages"] == ["topo", "oar", "hosts", "net", "vms"]
        vlan = doc["reservation"]["vlan"]
        net = ipaddress.ip_network(doc["network"]["cidr"])
        assert doc["network"]["mode"] == "kavlan" and net == ipaddress.ip_network(f"10.78.{vlan}.0/24")
        # the hosts are in the vlan, at their vlan address
        assert {h: v for h, v in lab_vlans().items() if h in {x["id"] for x in doc["hosts"]}} == \
            {h["id"]: vlan for h in doc["hosts"]}
        for host in doc["hosts"]:
            assert host["vlan"] == vlan and ipaddress.ip_address(host["address"]) in net, host
        service = doc["network"]["service_address"]
        for vm in doc["vms"]:
            assert vm["state"] == "ready", vm
            assert ipaddress.ip_address(vm["ip"]) in net, vm
            answer = ssh(lab, vm["ip"], "hostname; ip addr; cat /etc/resolv.conf")
            assert answer.returncode == 0, answer.stderr
            assert answer.stdout.splitlines()[0].strip() == vm["id"]
            assert f"inet {vm['ip']}/" in answer.stdout, answer.stdout    # the planned address, by DHCP
            assert f"nameserver {service}" in answer.stdout, answer.stdout  # our service node
        # a VM finds another VM by name through the service node
        first, other = doc["vms"][0], doc["vms"][-1]
        looked_up = ssh(lab, first["ip"], f"nslookup {other['id']}")
        assert looked_up.returncode == 0, looked_up.stdout + looked_up.stderr
        assert other["ip"] in looked_up.stdout.split("Name:", 1)[-1], looked_up.stdout
        print(f"kavlan pipeline: vlan {vlan}, service {doc['network']['service_node']} {service},"
              f" deployed in {time.monotonic() - started:.1f} s,"
              f" boot to SSH (s): {[vm['timings'].get('ready') for vm in doc['vms']]}")
    finally:
        clean = sh("vm5k-vms --destroy -i deployed.json | vm5k-net --stop-service"
                   " | vm5k-oar --release > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
    released = json.loads((tmp_path / "released.json").read_text())
    assert all(vm["state"] == "destroyed" for vm in released["vms"])
    assert "service_pid" not in released["network"]
    assert all("vlan" not in h and h["address"].startswith("10.77.") for h in released["hosts"])
    assert not any(lab_vlans().values()), lab_vlans()      # every host back in the default network
    service_host = next(h for h in released["hosts"] if h["id"] == released["network"]["service_node"])
    gone = ssh(lab, service_host["address"], f"test ! -e {released['network']['service_dir']}/dnsmasq.pid")
    assert gone.returncode == 0, gone.stderr
    # vm5k-oar --release returns once OAR has ended the job (Terminated or Error)
    oar_state = subprocess.run(["oarstat", "-s", "-j", str(job["id"])], capture_output=True, text=True)
    assert "Running" not in oar_state.stdout and "Finishing" not in oar_state.stdout, oar_state.stdout
    print(f"kavlan pipeline + clean-up: {time.monotonic() - started:.1f} s")
