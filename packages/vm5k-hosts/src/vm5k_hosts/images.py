"""Base images: every distinct VM backing_file, put on every host by one broadcast, only
where missing or different, and checked by sha256.

A backing_file is a lab image name (`mini`, `debian`: its kernel, initrd and disk files from
`vm5k-lab status`) or an absolute path under an image directory (vm5k_doc.checks.image_dirs:
/grid5000/virt-images, /var/lib/vm5k/images, ~/vm5k-images, or $VM5K_IMAGE_DIRS); a local
file must be a disk image (qcow2 or raw) there. A path that exists on the control node is copied to
`<image_dir>/<name>/<basename>`; one that does not is taken to be on the hosts already and
only checked there. Hosts keep `<file>.sha256` = "sha256 size mtime" next to each file, so
a rerun does not hash the images again.
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


@dataclass
class ImageFile:
    image: str            # the VMs' backing_file value
    role: str             # kernel, initrd or disk
    source: str | None    # on the control node; None: only on the hosts
    dest: str             # on the hosts
    sha256: str | None = None


def backing_files(vms):
    """The distinct backing files, in order of first use."""
    seen = []
    for vm in vms:
        name = vm.get("backing_file")
        if name and name not in seen:
            seen.append(name)
    return seen


def plan(vms, image_dir=DEFAULT_DIR, lab_images=None):
    """The files to have on every host, as ImageFile records (sha256 not yet computed)."""
    files, dirs = [], {}
    for image in backing_files(vms):
        if lab_images and image in lab_images:
            info = lab_images[image]
            if not info.get("built", True):
                raise PlatformError(f"lab image {image!r} is not built (vm5k-lab image {image})")
            sources = [(role, info[role]) for role in ROLES if info.get(role)]
            name = image
        elif os.path.isabs(image):
            # a document must never pull a file off this machine, nor point a VM at a
            # host's /etc/shadow: image files only, from image directories only
            allowed = checks.image_dirs()
            if not os.path.exists(image):
                files.append(ImageFile(image, "disk", None, checks.check_image_path(image, allowed)))
                continue
            sources = [("disk", checks.check_image_file(image, allowed))]
            name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(image)) or "image"
        else:
            raise InputError(f"backing_file {image!r} is neither a lab image nor an absolute path")
        directory = _unique_dir(dirs, name, image, image_dir)
        for role, source in sources:
            if not os.path.isfile(source):
                raise PlatformError(f"image file {source} ({image} {role}) does not exist")
            files.append(ImageFile(image, role, source, f"{directory}/{os.path.basename(source)}"))
    return files


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
            wrong.append(f"{f.dest} missing")
        elif f.sha256 and have != f.sha256:
            wrong.append(f"{f.dest} sha256 {have[:12]} != {f.sha256[:12]}")
    return "; ".join(wrong) or None


def record(files, sums):
    """host['images']: {backing_file: {role: {path, sha256}}}."""
    images = {}
    for i, f in enumerate(files):
        images.setdefault(f.image, {})[f.role] = {"path": f.dest, "sha256": sums.get(i)}
    return images
