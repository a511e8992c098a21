"""The lab platform: push static bindings to the lab's site dnsmasq (subnet mode).

The lab's dnsmasq reads every file of a dhcp-hostsfile directory ('MAC,IP,NAME') and an
addn-hosts directory ('IP NAME...'), and re-reads both on SIGHUP (vm5k-lab network.py).
Paths come from `vm5k-lab status` when it publishes them, else from the lab's state layout.
"""
import json
import logging
import os
import shutil
import signal
import subprocess

from vm5k_doc import dnsquery
from vm5k_doc.errors import PlatformError

from . import dnsmasq

log = logging.getLogger("vm5k")
FILE_NAME = "vm5k-net"  # our file in each directory; rewritten whole on every run


def state_dir():
    return os.environ.get("VM5K_LAB_STATE", "/var/lib/vm5k-lab")


def paths(status=None):
    """{'dhcp_hosts_dir', 'hosts_dir', 'pidfile', 'pid', 'ssh_key', 'dns'} of the running lab,
    from `vm5k-lab status` (network.dhcp.*, ssh.key), else from the lab's state layout."""
    net = os.path.join(state_dir(), "net")
    found = {
        "dhcp_hosts_dir": os.path.join(net, "dhcp-hosts.d"),
        "hosts_dir": os.path.join(net, "hosts.d"),
        "pidfile": os.path.join(net, "dnsmasq.pid"),
        "pid": None,
        "ssh_key": os.path.join(state_dir(), "ssh", "id_ed25519"),
        "dns": "10.77.0.1",
    }
    status = status if status is not None else lab_status()
    dhcp = (status.get("network") or {}).get("dhcp") or {}
    published = {"dhcp_hosts_dir": dhcp.get("hostsfile_dir"), "hosts_dir": dhcp.get("addn_hosts_dir"),
                 "pid": dhcp.get("pid"), "dns": dhcp.get("server"), "ssh_key": (status.get("ssh") or {}).get("key")}
    found.update({key: value for key, value in published.items() if value})
    return found


def lab_status():
    """`vm5k-lab status` as a dict ({} when the command is missing or says nothing useful)."""
    if not shutil.which("vm5k-lab"):
        return {}
    try:
        done = subprocess.run(["vm5k-lab", "status"], capture_output=True, text=True, timeout=60)
        status = json.loads(done.stdout or "{}")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    return status if isinstance(status, dict) else {}


def dnsmasq_pid(pidfile, pid=None):
    """pid (published, else read from pidfile) if it is a live dnsmasq, else None."""
    try:
        if pid is None:
            with open(pidfile) as handle:
                pid = int(handle.read().split()[0])
        with open(f"/proc/{pid}/comm") as handle:
            return pid if handle.read().strip() == "dnsmasq" else None
    except (OSError, ValueError, IndexError):
        return None


def write_atomic(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def push_bindings(record, assignments, lab=None, check=True):
    """Write our bindings and names into the site dnsmasq's directories, SIGHUP it, and
    ask it for the first VM's name."""
    lab = lab or paths()
    pid = dnsmasq_pid(lab["pidfile"], lab.get("pid"))
    if pid is None:
        raise PlatformError(f"the lab's site dnsmasq is not running (no live pid in {lab['pidfile']}): vm5k-lab up")
    try:
        write_atomic(os.path.join(lab["dhcp_hosts_dir"], FILE_NAME), dnsmasq.dhcp_host_lines(assignments))
        write_atomic(os.path.join(lab["hosts_dir"], FILE_NAME), dnsmasq.hosts_lines(assignments, record["domain"]))
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        raise PlatformError(f"cannot push bindings to the lab dnsmasq: {exc}") from None
    log.info("lab site DHCP: %d bindings pushed, dnsmasq %d reloaded", len(assignments), pid)
    if check and assignments:
        import time
        vm, ip, _ = assignments[0]
        name = f"{vm['id']}.{record['domain']}"
        answer = []
        for _ in range(20):  # SIGHUP is handled asynchronously
            try:
                answer = dnsquery.query_a(lab["dns"], name)
            except OSError:
                answer = []
            if answer == [ip]:
                break
            time.sleep(0.1)
        if answer != [ip]:
            raise PlatformError(f"lab DNS {lab['dns']}: {name} is {answer or 'unknown'}, planned {ip}")
    return {"dhcp": lab["dns"], "dns": [lab["dns"]]}
