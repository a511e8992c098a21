"""Lab guests for tests and benchmarks: the domain XML a lab host runs (pure) and a plain
define + start through the host's libvirtd. vm5k-vms has its own; this is the floor it is
measured against.
"""

from __future__ import annotations

import socket
import time
from xml.sax.saxutils import escape, quoteattr

from . import images, libvirtd, plan
from .state import LabError

TB_CACHE_MIB = 64   # TCG translation cache; the 1 GiB default makes qemu's RSS ~650 MiB


def domain_xml(name: str, mac: str, *, kernel: str, initrd: str, cmdline: str, mem_mb: int = 128,
               vcpus: int = 1, virt: str = "qemu", disk: str | None = None, bridge: str = "br0") -> str:
    if not plan.HOST_RE.pattern or not name.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise LabError(f"bad domain name {name!r}")
    dom_type = "kvm" if virt == "kvm" else "qemu"
    tcg = f"<tcg><tb-cache unit='MiB'>{TB_CACHE_MIB}</tb-cache></tcg>" if dom_type == "qemu" else ""
    disk_xml = ""
    if disk:
        disk_xml = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                    f"<source file={quoteattr(disk)}/><target dev='vda' bus='virtio'/></disk>")
    return f"""<domain type='{dom_type}'>
  <name>{escape(name)}</name>
  <memory unit='MiB'>{int(mem_mb)}</memory>
  <vcpu>{int(vcpus)}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(kernel)}</kernel>
    <initrd>{escape(initrd)}</initrd>
    <cmdline>{escape(cmdline)}</cmdline>
  </os>
  <features><acpi/>{tcg}</features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    {disk_xml}
    <interface type='bridge'><mac address={quoteattr(mac)}/><source bridge={quoteattr(bridge)}/><model type='virtio'/></interface>
    <serial type='pty'><log file='/var/log/libvirt/qemu/{escape(name)}.console.log' append='off'/></serial>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def mini_xml(name: str, mac: str, pubkey: str, virt: str = "qemu", mem_mb: int = 128) -> str:
    info = images.info("mini")
    if not info["built"]:
        raise LabError("the mini image is not built (vm5k-lab image mini)")
    return domain_xml(name, mac, kernel=info["kernel"], initrd=info["initrd"],
                      cmdline=images.cmdline("mini", name, pubkey), mem_mb=mem_mb, virt=virt)


def define_and_start(host: int, xml: str, name: str) -> None:
    """virsh define + start on lab host `host` (through its libvirt socket)."""
    libvirtd.run(["virsh", "-q", "-c", libvirtd.uri(host), "define", "/dev/stdin"], input=xml)
    libvirtd.virsh(host, "start", name)


def destroy(host: int, name: str) -> None:
    libvirtd.virsh(host, "destroy", name, check=False)
    libvirtd.virsh(host, "undefine", name, check=False)


def wait_tcp(addr: str, port: int = 22, timeout: float = 120) -> float:
    """Seconds until addr:port accepts a connection and sends an SSH banner."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with socket.create_connection((addr, port), timeout=1) as s:
                s.settimeout(2)
                if s.recv(4).startswith(b"SSH-"):
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise LabError(f"{addr}:{port} does not answer after {timeout:.0f} s")
