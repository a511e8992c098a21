from lxml import etree
from vm5k_vms.domain import domain_xml
from vm5k_vms.plan import plan_vm


def parse(text):
    return etree.fromstring(text.encode())


def test_qemu_domain_has_small_tcg_cache_kernel_and_console_log(vm, host):
    dom = parse(domain_xml(plan_vm(vm, host)))
    assert dom.get("type") == "qemu"
    assert dom.findtext("name") == "vm-1"
    assert dom.find("memory").get("unit") == "MiB" and dom.findtext("memory") == "128"
    assert dom.find("features/tcg/tb-cache").text == "64"
    assert dom.findtext("os/kernel") == "/img/vmlinuz"
    assert dom.findtext("os/cmdline") == "console=ttyS0 quiet no_timer_check vmlab.hostname=vm-1"
    assert dom.findtext("os/initrd") == "/img/mini.gz"
    assert dom.find("devices/interface/mac").get("address") == "00:16:3e:4d:04:01"
    assert dom.find("devices/interface/source").get("bridge") == "br0"
    assert dom.find("devices/disk/source").get("file") == "/tmp/vm5k/vm-1.qcow2"
    assert dom.find("devices/serial/log").get("file") == "/tmp/vm5k/vm-1.console.log"
    assert dom.find("vcpu").get("cpuset") is None


def test_kvm_domain_has_no_tcg_and_keeps_cpuset(vm, host):
    host["virt"] = "kvm"
    vm["cpuset"] = "0-1"
    dom = parse(domain_xml(plan_vm(vm, host)))
    assert dom.get("type") == "kvm"
    assert dom.find("features/tcg") is None
    assert dom.find("vcpu").get("cpuset") == "0-1"


def test_path_backing_file_boots_the_disk_with_a_nocloud_seed(vm, host):
    vm["backing_file"] = "/srv/images/cloud.qcow2"
    plan = plan_vm(vm, host, "ssh-ed25519 AAAAC3Nz user@x")
    dom = parse(domain_xml(plan))
    assert dom.find("os/kernel") is None and dom.find("os/boot").get("dev") == "hd"
    cdrom = dom.find("devices/disk[@device='cdrom']/source")
    assert cdrom.get("file") == "/tmp/vm5k/vm-1-seed.iso"
    assert "ssh-ed25519 AAAAC3Nz user@x" in plan.seed_files["user-data"]
    assert "local-hostname" in plan.seed_files["meta-data"]


def test_values_are_escaped_not_spliced(vm, host):
    host["images"]["mini"] = {"kernel": "/img/vmlinuz", "cmdline": "console=ttyS0 a=<b>&c"}
    text = domain_xml(plan_vm(vm, host))
    assert "a=&lt;b&gt;&amp;c" in text
    assert parse(text).findtext("os/cmdline").startswith("console=ttyS0 a=<b>&c")
