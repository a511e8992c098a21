"""The service node script for real, without the lab: two throwaway network namespaces
joined by a veth; our dnsmasq in one, a DHCP client (busybox udhcpc) in the other."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from vm5k_net import macs, service
from vm5k_net.addr import to_int

SRV, CLI = "vm5knet-srv", "vm5knet-cli"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dnsmasq") or not shutil.which("busybox"),
                                reason="needs root, dnsmasq and busybox")


def sh(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=kw.pop("check", True), **kw)


@pytest.fixture
def two_namespaces():
    # not under tmp_path: pytest's 0700 directories are closed to dnsmasq's unprivileged user
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="vm5knet-"))
    tmp_path.chmod(0o755)
    for ns in (SRV, CLI):
        sh("ip", "netns", "del", ns, check=False)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "vm5knet-a", "netns", SRV, "type", "veth", "peer", "name", "vm5knet-b", "netns", CLI)
    sh("ip", "-n", SRV, "link", "set", "vm5knet-a", "name", "eth0")
    sh("ip", "-n", SRV, "link", "set", "eth0", "up")
    sh("ip", "-n", CLI, "link", "set", "vm5knet-b", "up")
    yield tmp_path / "svc"
    pidfile = tmp_path / "svc" / "dnsmasq.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().split()[0])
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    for ns in (SRV, CLI):
        sh("ip", "netns", "del", ns, check=False)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_service_node_serves_planned_lease_and_names(two_namespaces):
    directory = str(two_namespaces)
    record = {"vlan": 99, "cidr": "10.99.0.0/24", "netmask": "255.255.255.0", "gateway": "10.99.0.254",
              "service_address": "10.99.0.5", "service_node": "srv", "domain": "test"}
    assignments = [({"id": f"vm-{i}"}, f"10.99.0.{10 + i}", macs.kavlan_mac(99, to_int(f"10.99.0.{10 + i}")))
                   for i in range(1, 4)]
    script = service.setup_script(record, assignments, [("srv", "10.99.0.5")], directory=directory)
    done = sh("ip", "netns", "exec", SRV, "sh", "-s", input=script, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "started"
    again = sh("ip", "netns", "exec", SRV, "sh", "-s", input=script, check=False)
    assert again.returncode == 0 and again.stdout.split()[0] == "reloaded", again.stderr  # rerun: SIGHUP only

    vm, ip, mac = assignments[1]
    sh("ip", "-n", CLI, "link", "set", "vm5knet-b", "address", mac)
    lease = sh("ip", "netns", "exec", CLI, "busybox", "udhcpc", "-i", "vm5knet-b", "-n", "-q", "-f", "-t", "5",
               "-s", "/bin/true", check=False)
    assert re.search(rf"lease of {re.escape(ip)} obtained", lease.stdout + lease.stderr), lease.stdout + lease.stderr

    sh("ip", "-n", CLI, "addr", "add", f"{ip}/24", "dev", "vm5knet-b")
    probe = f"from vm5k_doc import dnsquery; print(dnsquery.query_a('10.99.0.5', '{vm['id']}.test'))"
    answer = sh("ip", "netns", "exec", CLI, sys.executable, "-c", probe)
    assert answer.stdout.strip() == repr([ip])
