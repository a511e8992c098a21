"""libvirt domain XML for one VM, built with lxml (values are escaped, never spliced)."""
from lxml import etree

from .plan import TB_CACHE_MIB, VmPlan


def sub(parent, tag, text=None, **attrs):
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = str(text)
    return element


def domain_xml(vm: VmPlan) -> str:
    """The domain: `kvm` or `qemu` (TCG, small translation cache) as the host decided,
    direct kernel boot when the image has a kernel, a virtio disk, the MAC on the host's
    bridge, and the serial console logged to a file for the console tail on failure."""
    domain = etree.Element("domain", type="kvm" if vm.virt == "kvm" else "qemu")
    sub(domain, "name", vm.id)
    sub(domain, "memory", vm.mem, unit="MiB")
    vcpu = sub(domain, "vcpu", vm.n_cpu)
    if vm.cpuset:
        vcpu.set("cpuset", vm.cpuset)
    os_ = sub(domain, "os")
    sub(os_, "type", "hvm", arch="x86_64", machine="pc")
    if vm.kernel:
        sub(os_, "kernel", vm.kernel)
        if vm.initrd:
            sub(os_, "initrd", vm.initrd)
        sub(os_, "cmdline", vm.cmdline or "")
    else:
        sub(os_, "boot", dev="hd")
    features = sub(domain, "features")
    sub(features, "acpi")
    if vm.virt != "kvm":
        tcg = sub(features, "tcg")
        sub(tcg, "tb-cache", TB_CACHE_MIB, unit="MiB")
    if vm.virt == "kvm":
        sub(domain, "cpu", mode="host-passthrough")
    sub(domain, "on_poweroff", "destroy")
    sub(domain, "on_reboot", "restart")
    sub(domain, "on_crash", "destroy")
    devices = sub(domain, "devices")
    disk = sub(devices, "disk", type="file", device="disk")
    sub(disk, "driver", name="qemu", type="qcow2")
    sub(disk, "source", file=vm.overlay)
    sub(disk, "target", dev="vda", bus="virtio")
    if vm.seed:
        cdrom = sub(devices, "disk", type="file", device="cdrom")
        sub(cdrom, "driver", name="qemu", type="raw")
        sub(cdrom, "source", file=vm.seed)
        sub(cdrom, "target", dev="sda", bus="sata")
        sub(cdrom, "readonly")
    interface = sub(devices, "interface", type="bridge")
    if vm.mac:
        sub(interface, "mac", address=vm.mac)
    sub(interface, "source", bridge=vm.bridge)
    sub(interface, "model", type="virtio")
    serial = sub(devices, "serial", type="pty")
    sub(serial, "log", file=vm.console_log, append="off")
    sub(devices, "console", type="pty")
    sub(devices, "memballoon", model="none")
    return etree.tostring(domain, pretty_print=True, encoding="unicode")
