"""The local lab, reached only through the `vm5k-lab` command: its `status` JSON (shape
declared in vm5k_doc/schema/lab-status-v1.json) and `vm5k-lab kavlan HOST VLAN`. No stage
imports vm5k_lab; this adapter is what they know of it.
"""
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

from .. import dnsquery
from ..errors import InputError, PlatformError
from .base import Platform, record_vlan

log = logging.getLogger("vm5k")
BINDINGS_FILE = "vm5k-net"   # our file in each of the site dnsmasq's directories


class Lab(Platform):
    name = "lab"
    default_backing_file = "mini"   # the lab's busybox guest
    default_mem = 128
    default_hdd = 1
    # the lab's busybox guests sit idle once booted: its hosts' capacity is their RAM, so
    # `vm5k-topo -n 100` fits 10 lab hosts as typed (boot load is vm5k-vms' business)
    default_cpu_ratio = 10.0
    site = "lab"                    # the lab is one site named lab, with one cluster named lab

    def __init__(self, status=None, run=subprocess.run):
        self._status, self._run = status, run

    # ------------------------------------------------------------ the vm5k-lab command

    def command(self):
        # $VM5K_LAB (a lab installed elsewhere), on PATH, or next to our own interpreter
        # (a venv that is not activated)
        exe = (os.environ.get("VM5K_LAB") or shutil.which("vm5k-lab")
               or shutil.which("vm5k-lab", path=os.path.dirname(sys.executable)))
        if exe is None or not os.access(exe, os.X_OK):
            raise PlatformError(f"vm5k-lab is not installed{f' at {exe}' if exe else ''}: the lab platform needs it")
        return exe

    def status(self, refresh=False):
        """`vm5k-lab status` (read once; it exits 1 when the lab is down, still printing JSON)."""
        if self._status is None or refresh:
            try:
                done = self._run([self.command(), "status"], capture_output=True, text=True, timeout=120)
                status = json.loads(done.stdout)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise PlatformError(f"vm5k-lab status: {exc}") from None
            except ValueError:
                raise PlatformError(f"vm5k-lab status printed no JSON: {done.stderr.strip()[-200:]}") from None
            from ..schema import lab_status_problem
            problem = lab_status_problem(status)
            if problem:
                raise PlatformError(f"vm5k-lab status: not the declared shape: {problem}")
            self._status = status
        return self._status

    def running(self):
        try:
            return self.status().get("state") == "up"
        except PlatformError:
            return False

    def up(self):
        """The status of a lab that is up, else PlatformError."""
        status = self.status()
        if status.get("state") != "up":
            raise PlatformError("the lab is down (vm5k-lab up)")
        return status

    def kavlan(self, host_id, target):
        """`vm5k-lab kavlan HOST VLAN|DEFAULT`: moves the host's port; returns its new address."""
        proc = self._run([self.command(), "kavlan", host_id, str(target)], capture_output=True,
                         text=True, timeout=1800)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise PlatformError(f"vm5k-lab kavlan {host_id} {target}: {lines[-1] if lines else 'failed'}")
        try:
            return json.loads(proc.stdout)["address"]
        except (ValueError, KeyError, TypeError):
            raise PlatformError(f"vm5k-lab kavlan {host_id} {target}: no address in its output") from None

    # ------------------------------------------------------------ the platform's answers

    def reference_path(self):
        path = self.status().get("reference")
        if not path or not os.path.exists(path):
            raise InputError(f"--platform lab: no lab reference data at {path} (is the lab up? `vm5k-lab up`)")
        return path

    def default_resources(self):
        return [{"element": self.site, "hosts": 0}]

    def oar_settings(self, oar_user=None):
        # the lab's OAR server runs on this machine, for an unprivileged submit user (root
        # may not submit); its messages are in this machine's time zone
        oar = self.status()["oar"]  # user and time zone are known while the lab is down
        prefix = ["runuser", "-u", oar_user, "--"] if oar_user else oar.get("command", [])
        return {"tz": oar.get("tz", "UTC"), "wrap": lambda argv: [*prefix, *map(str, argv)], "poll_seconds": 2,
                "margin": 5, "server_tz": None}

    def ssh_key(self):
        return self.up()["ssh"]["key"]

    def ssh_user(self):
        return self.up()["ssh"].get("user")

    def images(self):
        return self.up().get("images")

    def virt(self):
        virt = self.status().get("virt")
        return virt if virt in ("kvm", "qemu") else None

    def move_hosts_to_vlan(self, hosts, vlan):
        """The lab's `kavlan -s`: every host whose port is not in `vlan` (None: default) is
        moved; every host's address becomes the one it has there."""
        lab_hosts = self.up()["hosts"]
        where = {h["id"]: h.get("vlan") for h in lab_hosts}
        addresses = {h["id"]: h.get("address") if vlan is None else h.get("vlan_address") for h in lab_hosts}
        moved = {}
        for host in hosts:
            if host["id"] not in where or where[host["id"]] == vlan:
                continue
            target = "DEFAULT" if vlan is None else vlan
            addresses[host["id"]] = self.kavlan(host["id"], target)
            place = "the default network" if vlan is None else f"vlan {vlan}"
            moved[host["id"]] = f"port moved to {place} ({addresses[host['id']]})"
        if moved:
            self.status(refresh=True)
        for host in hosts:
            if addresses.get(host["id"]):
                record_vlan(host, vlan, addresses[host["id"]])
        return moved

    def release_vlans(self, doc):
        """What the end of a KaVLAN job does on Grid'5000: every host vm5k-hosts moved
        (`hosts[].vlan`) goes back to the default network. A failure is a warning: the job
        is released anyway."""
        moved = []
        for host in doc.get("hosts") or []:
            if host.get("vlan") is None:
                continue
            try:
                address = self.kavlan(host["id"], "DEFAULT")
            except PlatformError as exc:
                log.warning("%s: still in vlan %s: %s", host["id"], host["vlan"], exc)
                continue
            log.debug("%s: back from vlan %s to the default network", host["id"], host["vlan"])
            host.setdefault("default_address", address)
            record_vlan(host, None, address)
            moved.append(host["id"])
        return moved

    def serve_bindings(self, record, files, probe=None):
        """Subnet mode: the site dnsmasq reads every file of its dhcp-hostsfile directory
        ('MAC,IP,NAME') and addn-hosts directory ('IP NAME'), and re-reads them on SIGHUP.
        files: {"dhcp_hosts": text, "hosts": text}; probe: (name, ip) to ask its DNS after."""
        dhcp = self.up()["network"]["dhcp"]
        pid = dhcp.get("pid")
        if not pid:
            raise PlatformError("the lab's site dnsmasq is not running: vm5k-lab up")
        try:
            _write_atomic(os.path.join(dhcp["hostsfile_dir"], BINDINGS_FILE), files["dhcp_hosts"])
            _write_atomic(os.path.join(dhcp["addn_hosts_dir"], BINDINGS_FILE), files["hosts"])
            os.kill(pid, signal.SIGHUP)
        except OSError as exc:
            raise PlatformError(f"cannot push bindings to the lab dnsmasq: {exc}") from None
        log.debug("lab site DHCP: bindings pushed, dnsmasq %d reloaded", pid)
        if probe:
            _wait_for_name(dhcp["server"], *probe)
        return {"dhcp": dhcp["server"], "dns": [dhcp["server"]]}

    def leases_path(self, network):
        """The site dnsmasq's leases, or under KaVLAN our service node's (vm5k-net's
        `service_dir`: lab hosts share this machine's filesystem)."""
        network = network or {}
        if network.get("mode") == "kavlan" and network.get("service_dir"):
            return f"{network['service_dir']}/leases"
        return self.status()["network"]["dhcp"]["leases"]


def _write_atomic(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _wait_for_name(server, name, ip, tries=20):
    answer = []
    for _ in range(tries):  # SIGHUP is handled asynchronously
        try:
            answer = dnsquery.query_a(server, name)
        except OSError:
            answer = []
        if answer == [ip]:
            return
        time.sleep(0.1)
    raise PlatformError(f"lab DNS {server}: {name} is {answer or 'unknown'}, planned {ip}")
