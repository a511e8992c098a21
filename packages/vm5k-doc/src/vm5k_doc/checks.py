"""The one validation layer: every value that comes from a document or a flag passes here
before it reaches a shell, a config file, SQL, a path or a copy. Each check returns the
value or raises InputError with one line naming what is wrong.

The document schema (schema/document-v1.json) uses the same patterns for the same fields
(test_checks.py holds them equal), so a value read from a document is already checked;
flags and reference data are checked here by the code that takes them.

    value              check             where it goes
    VM/host/site id    check_id          libvirt names, dnsmasq lines, ssh, OAR SQL, paths
    host address       check_address     ssh destinations, migration URIs, dnsmasq
    DNS domain         check_domain      dnsmasq.conf, hosts files, service-node scripts
    number             check_number      the document (finite, bounded)
    image file         check_image_file  copies to every host (hosts/images.py)
    image on the hosts check_image_path  the VMs' backing files (hosts/images.py)
"""
import math
import os
import re

from .errors import InputError

# `$(?!\n)`: a full match. Python's `$` also matches before a trailing newline, and
# "vm-1\n" must not pass into a libvirt name or a dnsmasq line. ECMA and Python agree on it.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$(?!\n)"
# a host name or an IPv4/IPv6 address: never an option (no leading '-'), no spaces, no '@'
ADDRESS_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$(?!\n)"
DOMAIN_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$(?!\n)"
# a VM's backing file: an image name (the lab's `mini`) or an absolute path, no control characters
BACKING_FILE_PATTERN = "^([A-Za-z0-9][A-Za-z0-9._-]*|/[^\\u0000-\\u001f\\u007f]*)$(?!\\n)"
MAX_NAME_LEN = 253

_ID_RE, _ADDRESS_RE, _DOMAIN_RE, _BACKING_RE = (re.compile(p) for p in (
    ID_PATTERN, ADDRESS_PATTERN, DOMAIN_PATTERN, BACKING_FILE_PATTERN))

# what a disk image starts with: qcow2, or a raw disk's MBR/GPT boot signature at 510
QCOW2_MAGIC = b"QFI\xfb"


def _matches(regex, value):
    return isinstance(value, str) and len(value) <= MAX_NAME_LEN and regex.match(value) is not None


def check_id(value, what="id"):
    """A safe VM/host/site/cluster id: letters, digits, '.', '_', '-', starting with a letter or digit."""
    if not _matches(_ID_RE, value):
        raise InputError(f"{what} {value!r} is not a valid id (letters, digits, '.', '_', '-'; "
                         f"starting with a letter or digit)")
    return value


def check_address(value, what="address"):
    """A host name or an IP address, nothing an ssh or a URI could read as more."""
    if not _matches(_ADDRESS_RE, value):
        raise InputError(f"{what} {value!r} is not a host name or an IP address")
    return value


def check_domain(value, what="domain"):
    """A DNS name (labels of letters, digits and '-', separated by dots)."""
    if not _matches(_DOMAIN_RE, value):
        raise InputError(f"{what} {value!r} is not a DNS domain name (letters, digits, '-' and dots)")
    return value


def check_backing_file(value, what="backing_file"):
    """An image name or an absolute path (where it may be taken from: check_image_file/path)."""
    if not isinstance(value, str) or len(value) > 4096 or not _BACKING_RE.match(value):
        raise InputError(f"{what} {value!r} is neither an image name nor an absolute path")
    return value


def check_number(value, what, minimum=None, maximum=None, integer=False):
    """A finite number within [minimum, maximum] (NaN and infinities are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise InputError(f"{what} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InputError(f"{what} must be between {minimum} and {maximum}, got {value!r}")
    return value


# where image files may be taken from: Grid'5000's shared images, vm5k's own directory,
# and the user's; VM5K_IMAGE_DIRS (colon-separated) replaces the list
DEFAULT_IMAGE_DIRS = ("/grid5000/virt-images", "/var/lib/vm5k/images", "~/vm5k-images")


def image_dirs():
    listed = os.environ.get("VM5K_IMAGE_DIRS")
    dirs = listed.split(":") if listed else DEFAULT_IMAGE_DIRS
    return [os.path.expanduser(d) for d in dirs if d]


def check_image_path(path, allowed_dirs, what="backing_file"):
    """An absolute image path on the hosts (not readable here): under an image directory
    once normalized, so a VM's disk is never /etc/shadow or a key of the host."""
    normal = os.path.normpath(path)
    if not os.path.isabs(normal) or not any(os.path.commonpath([normal, os.path.normpath(d)]) == os.path.normpath(d)
                                            for d in allowed_dirs):
        raise InputError(f"{what} {path!r}: not under an image directory ({', '.join(allowed_dirs)}); "
                         f"set VM5K_IMAGE_DIRS to allow another")
    return normal


def check_image_file(path, allowed_dirs, what="backing_file"):
    """An image file the pipeline may copy to every host: a regular file under one of
    allowed_dirs (after resolving links) that starts like a disk image (qcow2 magic, or a
    raw disk's boot signature). Never a key, never /etc/shadow, never outside those dirs."""
    real = os.path.realpath(path)
    roots = [os.path.realpath(d) for d in allowed_dirs]
    if not any(os.path.commonpath([real, root]) == root for root in roots):
        raise InputError(f"{what} {path!r}: not under an image directory ({', '.join(roots) or 'none allowed'}); "
                         f"set VM5K_IMAGE_DIRS to allow another")
    if not os.path.isfile(real):
        raise InputError(f"{what} {path!r}: not a regular file")
    try:
        with open(real, "rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise InputError(f"{what} {path!r}: {exc.strerror}") from None
    if not (head.startswith(QCOW2_MAGIC) or head[510:512] == b"\x55\xaa"):
        raise InputError(f"{what} {path!r}: not a disk image (neither qcow2 nor a raw disk)")
    return real
