"""Acceptance tests of issue 4 on the real lab (root, namespaces, libvirt); OAR is tested
in test_oar*.py. At most 2 guests at a time."""

import subprocess
import time
from pathlib import Path

import pytest
from vm5k_doc.schema import lab_status_problem
from vm5k_lab import guests, hosts, libvirtd, network, plan
from vm5k_lab import lab as labmod
from vm5k_lab.state import alive, hosts_dir

pytestmark = pytest.mark.lab


def ssh(target, *cmd, timeout=30):
    return subprocess.run(labmod.ssh_argv(target, *cmd), capture_output=True, text=True, timeout=timeout)


def all_pids(st):
    pids = [p for h in st["hosts"] for p in h["pids"].values()]
    pids.append(st["network"]["dhcp"]["pid"])
    return pids


def test_status_shape(lab):
    assert lab["state"] == "up"
    assert lab["virt"] in ("kvm", "qemu")
    assert lab["ssh"]["user"] == "root" and Path(lab["ssh"]["key"]).exists()
    assert lab["images"]["mini"]["built"] and Path(lab["images"]["mini"]["initrd"]).exists()
    assert Path(lab["reference"]).exists()
    assert alive(lab["network"]["dhcp"]["pid"], "dnsmasq")
    for h in lab["hosts"]:
        assert set(h) >= {"id", "address", "state", "cores", "mem_mb"}
        assert h["state"] == "up"
    assert labmod.status()["state"] == "up"
    assert lab_status_problem(lab) is None


def test_ssh_answers_own_hostname(lab):
    for h in lab["hosts"]:
        r = ssh(h["address"], "hostname; hostname -f; readlink /proc/self/ns/net")
        assert r.returncode == 0, r.stderr
        short, fqdn, _ = r.stdout.split()
        assert fqdn == h["id"] and short == h["id"].split(".")[0]


def test_virsh_list_shows_only_own_domains(lab):
    name = "t-only-host1"
    info = lab["images"]["mini"]
    xml = guests.domain_xml(name, "00:16:3e:4d:3f:01", kernel=info["kernel"], initrd=info["initrd"],
                            cmdline="console=ttyS0", virt=lab["virt"])
    libvirtd.run(["virsh", "-q", "-c", libvirtd.uri(1), "define", "/dev/stdin"], input=xml)
    try:
        for i, h in enumerate(lab["hosts"], 1):
            r = ssh(h["address"], "virsh -c qemu:///system list --all --name")
            assert r.returncode == 0, r.stderr
            assert (name in r.stdout.split()) == (i == 1)
    finally:
        guests.destroy(1, name)


def test_mini_guest_on_host2_dhcp_and_ssh(lab):
    assert len(lab["hosts"]) >= 2
    name, ip = "t-mini-h2", "10.77.60.201"
    mac = plan.g5k_mac(ip)
    network.add_static_binding(name, mac, ip, "test-lab.conf")
    guests.destroy(2, name)
    t0 = time.monotonic()
    guests.define_and_start(2, guests.mini_xml(name, mac, labmod.public_key(), virt=lab["virt"]), name)
    try:
        guests.wait_tcp(ip, timeout=120)
        r = ssh(ip, "hostname; ip -4 -o addr show")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[0] == name and f"{ip}/16" in r.stdout
        # the lease comes from the site dnsmasq
        assert any(le["mac"] == mac and le["ip"] == ip for le in network.dnsmasq_leases())
        # from host1, by name, through the site DNS
        key = lab["ssh"]["key"]
        r = ssh("host1", f"ssh -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                         f"-o BatchMode=yes -o LogLevel=ERROR root@{name}.lab hostname")
        assert r.returncode == 0 and r.stdout.strip() == name, r.stderr
        # it runs on host2 only
        assert name in libvirtd.domains(2, all_=False)
        assert name not in libvirtd.domains(1)
        print(f"mini guest SSH after {time.monotonic() - t0:.1f} s")
    finally:
        guests.destroy(2, name)


def test_stop_and_start_host(lab):
    n = len(lab["hosts"])
    st = labmod.stop_host(f"host{n}")
    assert st["state"] == "down"
    assert ssh(f"host{n}", "true", timeout=15).returncode != 0
    st = labmod.start_host(f"host{n}")
    assert st["state"] == "up"
    r = ssh(f"host{n}", "hostname; virsh -c qemu:///system version >/dev/null && echo ok")
    assert r.stdout.split() == [f"host{n}", "ok"], r.stderr


def test_up_twice_is_a_noop(lab):
    n = len(lab["hosts"])
    before = labmod.status()
    t0 = time.monotonic()
    after = labmod.up(n, before["hosts"][0]["cores"], before["hosts"][0]["mem_mb"])
    took = time.monotonic() - t0
    assert all_pids(after) == all_pids(before)
    assert after["state"] == "up"
    assert took < 15, took



def test_up_repairs_a_half_up_lab(lab):
    import os
    import signal

    n = len(lab["hosts"])
    st = labmod.status()
    # a killed run: daemons gone without cleaning their pid files
    os.kill(st["hosts"][0]["pids"]["sshd"], signal.SIGKILL)
    os.kill(st["hosts"][0]["pids"]["libvirtd"], signal.SIGKILL)
    os.kill(st["network"]["dhcp"]["pid"], signal.SIGKILL)
    time.sleep(0.5)
    assert labmod.status()["hosts"][0]["state"] != "up"
    st2 = labmod.up(n, st["hosts"][0]["cores"], st["hosts"][0]["mem_mb"])
    assert st2["state"] == "up" and all(h["state"] == "up" for h in st2["hosts"])
    assert ssh("host1", "hostname").stdout.strip() == "host1"


def test_down_leaves_nothing_then_up_again(lab):
    n = len(lab["hosts"])
    st = labmod.status()
    pids = all_pids(st)
    qemus = [p for i in range(1, n + 1) for p in libvirtd.qemu_pids(i)]
    labmod.down()
    try:
        assert labmod.status()["state"] == "down"
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert not [x for x in ns.split() if x == plan.LAB_NS or plan.HOST_RE.match(x)]
        assert network.lab_links_in_root() == []
        assert not [p for p in pids + qemus if alive(p)]
        assert not hosts_dir().exists() or not list(hosts_dir().iterdir())   # libvirt definitions
        assert not list(Path("/etc/libvirt/qemu").glob("*.xml"))
        assert labmod.leftovers() == {"netns": [], "links": [], "host_dirs": []}
    finally:
        st2 = labmod.up(n, st["hosts"][0]["cores"], st["hosts"][0]["mem_mb"])
    assert st2["state"] == "up" and all(h["state"] == "up" for h in st2["hosts"])
    assert hosts.sshd_pid(1)



def test_kavlan_moves_a_host_and_back(lab):
    n = len(lab["hosts"])
    vlan = plan.VLAN_IDS[0]
    vaddr = plan.host_vlan_address(n, vlan)
    try:
        r = labmod.set_vlan(f"host{n}", vlan)
        assert r["changed"] and r["address"] == vaddr
        assert labmod.status()["hosts"][n - 1]["vlan"] == vlan
        # reachable in the vlan (routed by the site), no longer on the default network
        r = ssh(vaddr, "hostname; ip -4 -o addr show br0")
        assert r.returncode == 0 and r.stdout.split()[0] == f"host{n}", r.stderr
        assert ssh(f"host{n}", "true", timeout=10).returncode != 0
        # host1 (default network) is not on the vlan's L2 but is routed to it
        r = ssh("host1", f"ping -c1 -W2 {vaddr} >/dev/null && echo ok")
        assert r.stdout.strip() == "ok", r.stderr
    finally:
        labmod.set_vlan(f"host{n}", None)
    assert ssh(f"host{n}", "hostname").stdout.strip() == f"host{n}"
    assert "vlan" not in labmod.status()["hosts"][n - 1]


@pytest.mark.slow
def test_debian_guest_boots_from_a_lab_image(lab):
    from vm5k_lab import images

    images.build("debian")  # cached after the first time (debootstrap, about a minute)
    info = images.info("debian")
    name, ip = "t-deb-h1", "10.77.60.202"
    mac = plan.g5k_mac(ip)
    network.add_static_binding(name, mac, ip, "test-lab.conf")
    guests.destroy(1, name)
    # overlay in host1's private /tmp, created on the host as vm5k-hosts would
    r = ssh("host1", f"qemu-img create -q -f qcow2 -F qcow2 -b {info['disk']} /tmp/{name}.qcow2")
    assert r.returncode == 0, r.stderr
    xml = guests.domain_xml(name, mac, kernel=info["kernel"], initrd=info["initrd"],
                            cmdline=images.cmdline("debian", name, labmod.public_key()),
                            mem_mb=192, virt=lab["virt"], disk=f"/tmp/{name}.qcow2")
    t0 = time.monotonic()
    guests.define_and_start(1, xml, name)
    try:
        guests.wait_tcp(ip, timeout=240)
        r = ssh(ip, "hostname; systemctl is-system-running || true; perl -e 'print 1'")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[0] == name
        print(f"debian guest SSH after {time.monotonic() - t0:.1f} s")
    finally:
        guests.destroy(1, name)
        ssh("host1", f"rm -f /tmp/{name}.qcow2")
