"""From a VM record and its host record to everything a host needs to run that VM (pure).

A VM's `backing_file` is either the name of an image the host describes in its `images`
(what vm5k-hosts / the lab put there: base disk, kernel, initrd, command line) or an
absolute path to a bootable disk image on the host. Images booted with a kernel get their
identity (hostname, public key) on the kernel command line; a bootable disk gets a
cloud-init NoCloud seed. Either way only the public key leaves the control node.
"""
import re
from dataclasses import dataclass, field

from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError

# Where the per-VM files live on a host (private per host on the lab and on Grid'5000).
VM_DIR = "/tmp/vm5k"
TB_CACHE_MIB = 64  # TCG translation cache: the 1 GiB default doubles a small guest's RSS
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
KEY_RE = re.compile(r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\n]*)?$")
PARAM_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class VmPlan:
    id: str
    host: str
    mem: int
    n_cpu: int
    cpuset: str | None
    virt: str
    mac: str | None
    bridge: str
    hostname: str
    overlay: str
    base: str | None           # base disk on the host (None: a blank disk)
    base_format: str
    real_file: bool
    hdd: int
    kernel: str | None
    initrd: str | None
    cmdline: str | None
    console_log: str
    xml_path: str
    seed: str | None = None    # NoCloud seed ISO path on the host
    seed_files: dict = field(default_factory=dict)


VM_DIR_ROOTS = ("/tmp/", "/var/tmp/", "/var/lib/vm5k/")


def vm_dir_of(host):
    """Where the host keeps its VMs' files: below a temporary directory or vm5k's own (a
    document must not make us write or remove files anywhere else; the create script
    checks the directory is ours and not a link)."""
    vm_dir = check_path((host.get("images") or {}).get("vm_dir") or VM_DIR, "hosts[].images.vm_dir")
    if not vm_dir.startswith(VM_DIR_ROOTS) or "/../" in f"{vm_dir}/":
        raise InputError(f"hosts[].images.vm_dir {vm_dir!r}: not below {', '.join(VM_DIR_ROOTS)}")
    return vm_dir


def paths(vm_id, vm_dir=VM_DIR):
    base = f"{vm_dir}/{vm_id}"
    return {"overlay": f"{base}.qcow2", "xml": f"{base}.xml", "console": f"{base}.console.log",
            "seed": f"{base}-seed.iso"}


def check_path(value, what):
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value or len(value) > 4096:
        raise InputError(f"{what} must be an absolute path on the host, got {value!r}")
    return value


# The lab images' command lines (vm5k-lab images.py): hostname and key as parameters that
# the guest's init writes into place; `{type},{base64}` is the public key without its space.
# no_timer_check: a virtual guest short of CPU (many booting on few cores, TCG) fails the
# kernel's early IO-APIC timer check and panics ("IO-APIC + timer doesn't work!"); virtual
# timers are known good, so the check is skipped, as cloud images' kernels do.
LAB_CMDLINE = "console=ttyS0 quiet no_timer_check vmlab.hostname={hostname} vmlab.sshkey={type},{base64}"
LAB_DISK_CMDLINE = "root=/dev/vda rw " + LAB_CMDLINE


def image_of(vm, host):
    """The image a VM boots, as {disk, format, kernel, initrd, cmdline} (paths on the host).

    A named entry of the host's `images` (vm5k-hosts writes {role: {path, sha256}}; a
    plain path per role works too), or an absolute path to a bootable disk.
    """
    name = vm.get("backing_file") or "mini"
    images = host.get("images") or {}
    entry = images.get(name)
    if isinstance(entry, str):
        entry = {"disk": entry}
    if isinstance(entry, dict):
        image = {k: (v.get("path") if isinstance(v, dict) else v) for k, v in entry.items()}
        if image.get("kernel") and not image.get("cmdline"):
            image["cmdline"] = LAB_DISK_CMDLINE if image.get("disk") else LAB_CMDLINE
        return image
    if name.startswith("/"):
        return {"disk": name}
    raise InputError(f"vms[{vm['id']}].backing_file {name!r}: not an image of host {host['id']} "
                     f"(has {', '.join(sorted(k for k in images if k != 'vm_dir')) or 'none'}) nor a path")


def check_public_key(public_key):
    key = (public_key or "").strip()
    if key and not KEY_RE.match(key):
        raise InputError("the public key is not one line of OpenSSH public key")
    return key


def plan_vm(vm, host, public_key=""):
    """VmPlan for one VM on its host; raises InputError naming the field on bad values."""
    vm_id = check_id(vm["id"], "vm id")
    check_id(host["id"], "host id")
    hostname = vm.get("hostname") or vm_id
    if not HOSTNAME_RE.match(hostname):
        raise InputError(f"vms[{vm_id}].hostname {hostname!r} is not a host name")
    mac = vm.get("mac")
    if mac is not None and not MAC_RE.match(mac):
        raise InputError(f"vms[{vm_id}].mac {mac!r} is not a lower-case MAC address")
    cpuset = vm.get("cpuset")
    if cpuset in (None, "auto"):
        cpuset = None
    elif not re.match(r"^[0-9][0-9,-]*$", cpuset):
        raise InputError(f"vms[{vm_id}].cpuset {cpuset!r} is not a CPU list")
    bridge = host.get("bridge") or "br0"
    check_id(bridge, f"hosts[{host['id']}].bridge")
    image = image_of(vm, host)
    base = image.get("disk")
    if base is not None:
        check_path(base, f"hosts[{host['id']}].images disk")
    base_format = image.get("format") or "qcow2"
    if base_format not in ("qcow2", "raw"):
        raise InputError(f"hosts[{host['id']}].images format {base_format!r}: qcow2 or raw")
    kernel, initrd = image.get("kernel"), image.get("initrd")
    for value, what in ((kernel, "kernel"), (initrd, "initrd")):
        if value is not None:
            check_path(value, f"hosts[{host['id']}].images {what}")
    key = check_public_key(public_key)
    vm_dir = check_path(vm_dir_of(host), f"hosts[{host['id']}].images vm_dir")
    where = paths(vm_id, vm_dir)
    plan = VmPlan(
        id=vm_id, host=host["id"], mem=int(vm["mem"]), n_cpu=int(vm["n_cpu"]), cpuset=cpuset,
        virt=host.get("virt") or "qemu", mac=mac, bridge=bridge, hostname=hostname,
        overlay=where["overlay"], base=base, base_format=base_format,
        real_file=bool(vm.get("real_file")), hdd=int(vm["hdd"]),
        kernel=kernel, initrd=initrd, cmdline=None,
        console_log=where["console"], xml_path=where["xml"])
    if kernel:
        plan.cmdline = kernel_cmdline(image, hostname, key)
    else:  # a bootable disk image (cloud image): identity through a NoCloud seed
        plan.seed = where["seed"]
        plan.seed_files = nocloud_seed(vm_id, hostname, key)
    return plan


def kernel_cmdline(image, hostname, public_key):
    """The image's command line with its identity placeholders filled in.

    `{hostname}`, and `{type}`/`{base64}` for the public key (a word holding them is left
    out when there is no key). An image without placeholders gets its `hostname_param` /
    `key_param` (the key in base64, one word) appended when it declares them.
    """
    key_type, key_b64 = (public_key.split()[:2] if public_key else ("", ""))
    template = image.get("cmdline") or "console=ttyS0"
    words = []
    for word in template.split():
        if "{type}" in word or "{base64}" in word:
            if not public_key:
                continue
        words.append(word.replace("{hostname}", hostname).replace("{type}", key_type).replace("{base64}", key_b64))
    hostname_param = image.get("hostname_param")
    if hostname_param and "{hostname}" not in template:
        if not PARAM_RE.match(hostname_param):
            raise InputError(f"image hostname_param {hostname_param!r} is not a parameter name")
        words.append(f"{hostname_param}={hostname}")
    key_param = image.get("key_param")
    if key_param and public_key and "{base64}" not in template:
        import base64
        if not PARAM_RE.match(key_param):
            raise InputError(f"image key_param {key_param!r} is not a parameter name")
        words.append(f"{key_param}={base64.b64encode(public_key.encode()).decode()}")
    line = " ".join(words)
    if "\n" in line or len(line) > 2000:
        raise InputError("kernel command line too long or not one line")
    return line


def nocloud_seed(vm_id, hostname, public_key):
    """cloud-init NoCloud files: hostname and the public key, nothing secret."""
    import json
    meta = f"instance-id: {vm_id}\nlocal-hostname: {json.dumps(hostname)}\n"
    user = "#cloud-config\n" + f"hostname: {json.dumps(hostname)}\n"
    if public_key:
        user += f"ssh_authorized_keys:\n  - {json.dumps(public_key)}\n"
        user += f"users:\n  - name: root\n    ssh_authorized_keys:\n      - {json.dumps(public_key)}\n"
        user += "disable_root: false\n"
    return {"meta-data": meta, "user-data": user}
