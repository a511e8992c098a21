"""Base images: every distinct VM backing_file, put on every host by one broadcast, only
where missing or different, and checked by sha256.

A backing_file is a platform image name (the lab's `mini`, `debian`: its kernel, initrd and
disk files from `vm5k-lab status`) or an absolute path under an image directory
(vm5k_doc.checks.image_dirs: /grid5000/virt-images, /var/lib/vm5k/images, ~/vm5k-images, or
$VM5K_IMAGE_DIRS), naming either

    a disk image file      qcow2 or raw, booted by its own boot loader (cloud-init seed)
    a directory            `vmlinuz` and `initrd.gz` (or `initrd.img`), and optionally
                           `disk.qcow2` (or `disk.raw`) as the root disk: booted by that
                           kernel, as `vm5k-lab image` writes them (copy its directory)

Each local file is checked for its kind (qcow2 or raw disk, Linux kernel, compressed or cpio
initrd) and copied to `<image_dir>/<name>/<basename>`; a path that does not exist on the
control node is taken to be on the hosts already and only checked there. Hosts keep
`<file>.sha256` = "sha256 size mtime" next to each file, so a rerun does not hash the images again.
"""
import hashlib
import os
import re
from dataclasses import dataclass

from vm5k_doc import checks
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.ids import quote

DEFAULT_DIR = "/var/lib/vm5k/images"    # libvirt-qemu can read it; the lab mounts it per host
ROLES = ("kernel", "initrd", "disk")
# a directory image: its files by role, the first name present
DIRECTORY_FILES = {"kernel": ("vmlinuz",), "initrd": ("initrd.gz", "initrd.img"), "disk": ("disk.qcow2", "disk.raw")}
# what each kind of file starts with: a Linux x86 boot image ("HdrS" at 0x202); an initrd
# compressed (gzip, xz, zstd, lz4, bzip2) or a bare cpio archive
KERNEL_MAGIC = (0x202, b"HdrS")
INITRD_MAGICS = (b"\x1f\x8b", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd", b"\x02\x21\x4c\x18", b"BZh", b"070701", b"070702")


@dataclass
class ImageFile:
    image: str            # the VMs' backing_file value
    role: str             # kernel, initrd or disk
    source: str | None    # on the control node; None: only on the hosts
    dest: str             # on the hosts
    sha256: str | None = None
    format: str | None = None   # a disk's: qcow2 or raw (vm5k-vms' overlay needs it)


def backing_files(vms):
    """The distinct backing files, in order of first use."""
    seen = []
    for vm in vms:
        name = vm.get("backing_file")
        if name and name not in seen:
            seen.append(name)
    return seen


def plan(vms, image_dir=DEFAULT_DIR, platform_images=None):
    """The files to have on every host, as ImageFile records (sha256 not yet computed)."""
    files, dirs = [], {}
    for image in backing_files(vms):
        if platform_images and image in platform_images:
            info = platform_images[image]
            if not info.get("built", True):
                raise PlatformError(f"lab image {image!r} is not built (vm5k-lab image {image})")
            sources = [(role, info[role], info.get("format") if role == "disk" else None)
                       for role in ROLES if info.get(role)]
            name = image
        elif os.path.isabs(image):
            # a document must never pull a file off this machine, nor point a VM at a
            # host's /etc/shadow: image files only, from image directories only
            allowed = checks.image_dirs()
            if not os.path.exists(image):
                files.append(ImageFile(image, "disk", None, checks.check_image_path(image, allowed)))
                continue
            sources = directory_image(image, allowed) if os.path.isdir(image) else [disk_file(image, allowed)]
            name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(image.rstrip("/"))) or "image"
        else:
            named = ", ".join(platform_images or ()) or "none"
            raise InputError(f"backing_file {image!r}: not an image of this platform (it has: {named}); "
                             f"name a disk image or a directory of vmlinuz and initrd.gz by its absolute "
                             f"path under an image directory ({', '.join(checks.image_dirs())})")
        directory = _unique_dir(dirs, name, image, image_dir)
        for role, source, kind in sources:
            if not os.path.isfile(source):
                raise PlatformError(f"image file {source} ({image} {role}) does not exist")
            files.append(ImageFile(image, role, source, f"{directory}/{os.path.basename(source)}", format=kind))
    return files


def disk_file(path, allowed, what="backing_file"):
    """("disk", real path, format) of a local disk image under an image directory."""
    real = checks.check_image_file(path, allowed, what)
    with open(real, "rb") as handle:
        kind = "qcow2" if handle.read(4) == checks.QCOW2_MAGIC else "raw"
    return "disk", real, kind


def directory_image(path, allowed):
    """[(role, real path, format)] of a kernel+initrd directory (DIRECTORY_FILES), each file
    under an image directory and of its kind; one line naming what is missing or wrong."""
    what = f"backing_file {path!r}"
    checks.check_image_path(os.path.realpath(path), [os.path.realpath(d) for d in allowed], what)
    found = {role: next((os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))), None)
             for role, names in DIRECTORY_FILES.items()}
    for role in ("kernel", "initrd"):
        if not found[role]:
            raise InputError(f"{what}: a directory image holds {' or '.join(DIRECTORY_FILES[role])} "
                             f"(and {' or '.join(DIRECTORY_FILES['initrd' if role == 'kernel' else 'kernel'])}); "
                             f"none here")
    sources = [("kernel", boot_file(found["kernel"], allowed, "kernel"), None),
               ("initrd", boot_file(found["initrd"], allowed, "initrd"), None)]
    if found["disk"]:
        sources.append(disk_file(found["disk"], allowed, f"{what} disk"))
    return sources


def boot_file(path, allowed, role):
    """The real path of a kernel or initrd under an image directory that starts like one."""
    real = os.path.realpath(path)
    checks.check_image_path(real, [os.path.realpath(d) for d in allowed], f"{role} {path!r}")
    try:
        with open(real, "rb") as handle:
            head = handle.read(0x206)
    except OSError as exc:
        raise InputError(f"{role} {path!r}: {exc.strerror}") from None
    at, magic = KERNEL_MAGIC
    if role == "kernel" and head[at:at + len(magic)] != magic:
        raise InputError(f"kernel {path!r}: not a Linux boot image (bzImage)")
    if role == "initrd" and not head.startswith(INITRD_MAGICS):
        raise InputError(f"initrd {path!r}: neither a compressed nor a cpio initrd")
    return real


def _unique_dir(dirs, name, image, image_dir):
    candidate, n = name, 1
    while dirs.get(candidate, image) != image:
        n += 1
        candidate = f"{name}-{n}"
    dirs[candidate] = image
    return f"{image_dir}/{candidate}"


def sha256_file(path, block=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def add_checksums(files):
    for f in files:
        if f.source:
            f.sha256 = sha256_file(f.source)
    return files


# prints "sum INDEX SHA256" or "sum INDEX missing" for every file; hashes only when the
# sidecar does not match the file's size and mtime
CHECK_SH = r"""
set -e
sum_of() {
  st=$(stat -c '%s %Y' "$1" 2>/dev/null) || { echo missing; return; }
  if [ -f "$1.sha256" ] && [ "$(cut -d' ' -f2- "$1.sha256")" = "$st" ]; then
    cut -d' ' -f1 "$1.sha256"
  else
    h=$(sha256sum "$1" | cut -d' ' -f1); echo "$h $st" > "$1.sha256" || true; echo "$h"
  fi
}
"""


def check_script(files):
    """One host's check: make the image directories, print the sum of every file."""
    lines = [CHECK_SH]
    dirs = sorted({os.path.dirname(f.dest) for f in files if f.source})
    if dirs:
        lines.append("mkdir -p " + " ".join(quote(d) for d in dirs))
        lines.append("chmod 755 " + " ".join(quote(d) for d in dirs))
    for index, f in enumerate(files):
        lines.append(f"echo sum {index} $(sum_of {quote(f.dest)})")
    return "\n".join(lines)


def parse_check(stdout):
    """{index: sha256 or None (missing)} from check_script's output."""
    sums = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "sum":
            sums[int(parts[1])] = None if parts[2] == "missing" else parts[2]
    return sums


def missing(files, sums):
    """Indexes of the files a host lacks or has with another checksum (copyable ones)."""
    return [i for i, f in enumerate(files)
            if f.source and sums.get(i) != f.sha256]


def problems(files, sums):
    """What is still wrong on a host after the copy, one line, or None."""
    wrong = []
    for i, f in enumerate(files):
        have = sums.get(i)
        if have is None:
            wrong.append(f"{f.dest} missing" if f.source else
                         f"{f.dest} missing (nor on this machine to copy it from)")
        elif f.sha256 and have != f.sha256:
            wrong.append(f"{f.dest} sha256 {have[:12]} != {f.sha256[:12]}")
    return "; ".join(wrong) or None


def record(files, sums):
    """host['images']: {backing_file: {role: {path, sha256}, format}} (format: the disk's, when known)."""
    images = {}
    for i, f in enumerate(files):
        images.setdefault(f.image, {})[f.role] = {"path": f.dest, "sha256": sums.get(i)}
        if f.format:
            images[f.image]["format"] = f.format
    return images
