"""Guest images, built from Debian packages only and cached under <cache>/images/<name>/.

``mini``: the Debian cloud kernel + a busybox-static + dropbear initramfs (3-4 MiB). Without
``root=`` the initramfs is the whole guest: DHCP (udhcpc, client id = MAC), dropbear, a
shell on ttyS0, and ``/bin/dirty`` (DIRTY_C, built with ``gcc -static``: the memory-dirtying
workload of examples/migration). Kernel command line: ``console=ttyS0 quiet vmlab.hostname=NAME
vmlab.sshkey=TYPE,BASE64`` (the public key, its space written as a comma). It holds no key.

``debian``: debootstrap minbase (systemd, sshd, systemd-networkd DHCP with ClientIdentifier=mac,
masked timers, per-VM SSH host key made at first boot) as a 2 GiB qcow2 to use as a backing
file, booted with the same kernel and the mini initramfs as initrd: with ``root=/dev/vda``
the initramfs loads virtio, writes ``vmlab.hostname``/``vmlab.sshkey`` from the command
line into the disk (/etc/hostname, /root/.ssh/authorized_keys) and switch_roots to systemd.
Command line: ``root=/dev/vda rw console=ttyS0 quiet vmlab.hostname=NAME vmlab.sshkey=...``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from .state import LabError, cache_dir, log, run, write_json

NAMES = ("mini", "debian")
SUITE = "bookworm"
VIRTIO_MODULES = (
    "drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko", "net/core/failover.ko", "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko", "drivers/block/virtio_blk.ko",
)
MINI_DEBS = ("busybox-static", "dropbear-bin", "libtomcrypt1", "libtommath1")
DEBIAN_INCLUDE = ("systemd-sysv", "udev", "kmod", "openssh-server", "iproute2", "iputils-ping", "procps")

INIT = r"""#!/bin/sh
# vm5k-lab init. With root=/dev/vdX: load virtio, put hostname and key from the command line
# on the disk, switch_root to its /sbin/init. Without root=: a whole RAM guest (udhcpc +
# dropbear + a shell on the console).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null; done
ROOT=; HN=; KEY=
for x in $(cat /proc/cmdline); do
  case $x in
    root=*) ROOT=${x#root=} ;;
    vmlab.hostname=*|systemd.hostname=*) HN=${x#*=} ;;
    vmlab.sshkey=*) KEY=$(echo "${x#*=}" | tr , ' ') ;;
  esac
done
if [ -n "$ROOT" ]; then
  for i in $(seq 1 100); do [ -b "$ROOT" ] && break; sleep 0.1; done
  mount -t ext4 -o rw,noatime "$ROOT" /newroot || { echo "vmlab-init: cannot mount $ROOT"; exec sh; }
  if [ -n "$KEY" ]; then
    mkdir -p /newroot/root/.ssh; chmod 700 /newroot/root/.ssh
    echo "$KEY" > /newroot/root/.ssh/authorized_keys; chmod 600 /newroot/root/.ssh/authorized_keys
  fi
  [ -n "$HN" ] && echo "$HN" > /newroot/etc/hostname
  mount --move /dev /newroot/dev; umount /proc /sys
  exec switch_root /newroot /sbin/init
fi
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run
ip link set lo up
if [ -n "$HN" ]; then hostname "$HN"; touch /run/hostname-set; fi
if [ -n "$KEY" ]; then echo "$KEY" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; fi
IF=$(ls /sys/class/net | grep -v '^lo$' | head -1)
[ -n "$IF" ] && udhcpc -b -t 30 -T 1 -i "$IF" -s /etc/udhcpc.script -x hostname:"$(hostname)" >/dev/null 2>&1
dropbear -R -E -p 22 2>>/var/log/dropbear.log
echo "VMLAB-READY"
# a shell that exits at once must not respawn in a tight loop (it would starve dropbear)
while true; do setsid cttyhack sh -l; sleep 1; done
"""

# The guest workload of examples/migration: writes memory at a rate over a working set.
DIRTY_C = r"""/* dirty: write guest memory at a given rate over a working set (the migration workload).
 *
 *   dirty -w 64 -r 20 -t 600     dirty 20 MiB/s of a 64 MiB working set, for at most 600 s
 *   dirty -w 64 -c -t 2          calibrate: as fast as possible for 2 s, print the rate
 *
 * The working set is filled first (every page non-zero, so that precopy sends it whole),
 * then pages are written one byte each, round-robin, paced every 20 ms (50 wake-ups a
 * second: few timer interrupts for an emulated guest) so that the pages dirtied so far
 * follow RATE x elapsed. One page written = 4 KiB dirtied.
 * Output, one line each, `dirty: WHAT key=value ...`:
 *   dirty: ready ws_mb=64 fill_s=0.21
 *   dirty: calibrate ws_mb=64 seconds=2.00 mb=812.3 max_mb_s=406.1
 *   dirty: done ws_mb=64 target_mb_s=20.0 seconds=31.02 mb=620.4 rate_mb_s=20.0 late_ms=3
 * `late_ms` is the longest time the writer fell behind its schedule (the rate was not kept
 * while it was behind). SIGTERM or SIGINT stops it with the `done` line. MB = MiB.
 * Exit: 0 done, 2 bad usage, 1 no memory.
 * Built static at image time (vm5k_lab.images, /bin/dirty in the mini image).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double number(const char *s, const char *flag, double max)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= 0 && v <= max)) {
        fprintf(stderr, "dirty: error: %s %s: a number from 0 to %g\n", flag, s, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    double rate = 0, ws_mb = 64, seconds = 0;
    int calibrate = 0, opt;
    while ((opt = getopt(argc, argv, "r:w:t:c")) != -1) {
        switch (opt) {
        case 'r': rate = number(optarg, "-r", 1e6); break;
        case 'w': ws_mb = number(optarg, "-w", 1 << 20); break;
        case 't': seconds = number(optarg, "-t", 1e7); break;
        case 'c': calibrate = 1; break;
        default:
            fprintf(stderr, "usage: dirty [-w WS_MB] [-r RATE_MB_S] [-t SECONDS] [-c]\n");
            return 2;
        }
    }
    if (optind != argc || ws_mb < 1) {
        fprintf(stderr, "dirty: error: usage: dirty [-w WS_MB>=1] [-r RATE_MB_S] [-t SECONDS] [-c]\n");
        return 2;
    }
    if (calibrate && seconds == 0)
        seconds = 2;
    long pages = (long)(ws_mb * 1048576.0 / PAGE);
    double t0 = now();
    unsigned char *mem = malloc(pages * PAGE);
    if (!mem) {
        fprintf(stderr, "dirty: error: cannot allocate %.0f MiB\n", ws_mb);
        return 1;
    }
    memset(mem, 0x5a, pages * PAGE);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("dirty: ready ws_mb=%g fill_s=%.2f\n", ws_mb, now() - t0);
    fflush(stdout);

    double start = now(), late = 0, t = start;
    double per_s = rate * 1048576.0 / PAGE;          /* pages per second */
    long long done = 0, i = 0;
    unsigned char v = 1;
    while (!stop && (seconds == 0 || t - start < seconds)) {
        long long target = calibrate ? done + 256 : (long long)(per_s * (t - start));
        if (done >= target) {
            struct timespec ms = {0, 20000000};
            nanosleep(&ms, NULL);
        }
        while (done < target) {
            mem[i * PAGE + (done & (PAGE - 1) & ~63L)] = v;
            done++;
            if (++i == pages) {
                i = 0;
                v = v == 255 ? 1 : v + 1;           /* never zero: a zero page is cheap to send */
            }
        }
        t = now();
        if (!calibrate && per_s > 0) {
            double behind = (per_s * (t - start) - done) / per_s;
            if (behind > late)
                late = behind;
        }
    }
    double el = now() - start, mb = done * (double)PAGE / 1048576.0;
    if (calibrate)
        printf("dirty: calibrate ws_mb=%g seconds=%.2f mb=%.1f max_mb_s=%.1f\n", ws_mb, el, mb, el > 0 ? mb / el : 0);
    else
        printf("dirty: done ws_mb=%g target_mb_s=%g seconds=%.2f mb=%.1f rate_mb_s=%.1f late_ms=%.0f\n",
               ws_mb, rate, el, mb, el > 0 ? mb / el : 0, late * 1000);
    return 0;
}
"""

UDHCPC_SCRIPT = r"""#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    [ -n "$hostname" ] && [ ! -e /run/hostname-set ] && hostname "$hostname"
    : > /etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "VMLAB-IP $ip" > /dev/console ;;
esac
exit 0
"""


def recipe(name: str) -> str:
    """What a cached image was built from: a different recipe rebuilds it (mini only; the
    debian disk is slow to build and its initrd is only the mini one's copy)."""
    parts = (INIT, UDHCPC_SCRIPT, DIRTY_C, " ".join(MINI_DEBS)) if name == "mini" else (name,)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def build_dirty(out: Path) -> None:
    """/bin/dirty from DIRTY_C: gcc -static (debian-packages.txt: gcc, libc6-dev)."""
    src = out.with_name("dirty.c")
    src.write_text(DIRTY_C)
    run(["gcc", "-static", "-O2", "-s", "-o", out, src], timeout=120)
    src.unlink()


def images_dir() -> Path:
    return cache_dir() / "images"


def debs_dir() -> Path:
    return cache_dir() / "debs"


def image_dir(name: str) -> Path:
    if name not in NAMES:
        raise LabError(f"unknown image {name!r} (have: {', '.join(NAMES)})")
    return images_dir() / name


def manifest(name: str) -> dict | None:
    try:
        return json.loads((image_dir(name) / "manifest.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def info(name: str) -> dict:
    """What status shows for one image: its files, or {'built': False}."""
    m = manifest(name)
    if not m:
        return {"built": False, "dir": str(image_dir(name))}
    d = image_dir(name)
    out = {"built": True, "dir": str(d), "kernel": str(d / "vmlinuz"), "initrd": str(d / "initrd.gz")}
    if name == "debian":
        out["disk"] = str(d / "disk.qcow2")
        out["format"] = "qcow2"
    out["cmdline"] = m.get("cmdline")
    out["kernel_version"] = m.get("kernel_version")
    out["built_at"] = m.get("built_at")
    return out


def all_info() -> dict:
    return {n: info(n) for n in NAMES}


def cmdline(name: str, hostname: str, pubkey: str | None) -> str:
    """The kernel command line that gives a guest its hostname and SSH public key."""
    parts = ["console=ttyS0", "quiet"]
    if name == "debian":
        parts = ["root=/dev/vda", "rw"] + parts
    parts.append(f"vmlab.hostname={hostname}")
    if pubkey:
        f = pubkey.split()
        if len(f) < 2:
            raise LabError("not an SSH public key")
        parts.append(f"vmlab.sshkey={f[0]},{f[1]}")
    return " ".join(parts)


# ---------------------------------------------------------------- debs

def _download(pkgs) -> dict[str, Path]:
    d = debs_dir()
    d.mkdir(parents=True, exist_ok=True)
    out, missing = {}, []
    for p in pkgs:
        have = sorted(d.glob(f"{p}_*.deb"), key=lambda x: x.stat().st_mtime)
        if have:
            out[p] = have[-1]
        else:
            missing.append(p)
    if missing:
        log.info("apt-get download %s", " ".join(missing))
        subprocess.run(["apt-get", "-q", "download", *missing], cwd=d, capture_output=True,
                       text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
        for p in missing:
            have = sorted(d.glob(f"{p}_*.deb"), key=lambda x: x.stat().st_mtime)
            if not have:
                raise LabError(f"apt-get download {p} failed (is the Debian mirror reachable?)")
            out[p] = have[-1]
    return out


def kernel_package() -> str:
    """The versioned cloud kernel package (linux-image-cloud-amd64's dependency)."""
    p = run(["apt-cache", "depends", "linux-image-cloud-amd64"], check=False)
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            return line.split()[1]
    have = sorted(debs_dir().glob("linux-image-*-cloud-amd64_*.deb"))
    if have:
        return have[-1].name.split("_")[0]
    raise LabError("cannot find the cloud kernel package (apt-cache depends linux-image-cloud-amd64)")


def kernel_tree() -> tuple[str, Path]:
    """Extract the cloud kernel package once; return (kernel version, extracted root)."""
    pkg = kernel_package()
    deb = _download([pkg])[pkg]
    kv = pkg[len("linux-image-"):]
    root = cache_dir() / "kernel" / kv
    if not (root / "boot" / f"vmlinuz-{kv}").exists():
        tmp = root.with_name(kv + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        run(["dpkg-deb", "-x", deb, tmp], timeout=300)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return kv, root


def _modules_root(root: Path, kv: str) -> Path:
    for c in (root / "lib" / "modules" / kv, root / "usr" / "lib" / "modules" / kv):
        if c.is_dir():
            return c
    raise LabError(f"no modules for {kv} in the kernel package")


# ---------------------------------------------------------------- mini

def module_depends(ko: bytes) -> list[str]:
    """The `depends=` of a kernel module's .modinfo."""
    i = ko.find(b"\0depends=")
    if i < 0:
        return []
    v = ko[i + 9: ko.index(b"\0", i + 9)].decode()
    return [x.replace("-", "_") for x in v.split(",") if x]


def load_order(deps: dict[str, list[str]]) -> list[str]:
    """Modules in an order where each comes after what it depends on (those we have)."""
    out, seen = [], set()

    def visit(m):
        if m in seen or m not in deps:
            return
        seen.add(m)
        for d in deps[m]:
            visit(d)
        out.append(m)

    for m in deps:
        visit(m)
    return out


def build_mini_initrd(out: Path, kv: str, kroot: Path) -> None:
    debs = _download(MINI_DEBS)
    work = images_dir() / ".mini-work"
    shutil.rmtree(work, ignore_errors=True)
    stage, r = work / "stage", work / "root"
    stage.mkdir(parents=True)
    for p in MINI_DEBS:
        run(["dpkg-deb", "-x", debs[p], stage])
    for sub in ("bin", "sbin", "etc/dropbear", "proc", "sys", "dev", "run", "tmp", "newroot",
                "root/.ssh", "lib/modules", "lib64", "lib/x86_64-linux-gnu", "usr/bin", "usr/sbin", "var/log"):
        (r / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(stage / "bin" / "busybox", r / "bin" / "busybox")
    applets = run([r / "bin" / "busybox", "--list-full"]).stdout.split()
    for a in applets:
        dst = r / a
        if not dst.exists() and not dst.is_symlink():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to("/bin/busybox")
    for b in ("usr/sbin/dropbear", "usr/bin/dbclient", "usr/bin/dropbearkey"):
        if (stage / b).exists():
            shutil.copy2(stage / b, r / b)
    libpath = f"{stage}/usr/lib/x86_64-linux-gnu:{stage}/lib/x86_64-linux-gnu"
    ldd = run(["ldd", stage / "usr/sbin/dropbear"], env={**os.environ, "LD_LIBRARY_PATH": libpath}).stdout
    for line in ldd.splitlines():
        if "=>" in line and "/" in line.split("=>")[1]:
            lib = line.split("=>")[1].split()[0]
            shutil.copy2(os.path.realpath(lib), r / "lib/x86_64-linux-gnu" / Path(lib).name)
    shutil.copy2(os.path.realpath("/lib64/ld-linux-x86-64.so.2"), r / "lib64/ld-linux-x86-64.so.2")
    mods = _modules_root(kroot, kv) / "kernel"
    found = {}
    for m in VIRTIO_MODULES:
        if (mods / m).exists():
            shutil.copy2(mods / m, r / "lib/modules" / Path(m).name)
            found[Path(m).stem] = module_depends((mods / m).read_bytes())
    (r / "lib/modules/order").write_text("\n".join(load_order(found)) + "\n")
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\n")
    (r / "etc/shells").write_text("/bin/sh\n")
    (r / "etc/hostname").write_text("vmlab\n")
    (r / "root").chmod(0o700)
    (r / "root/.ssh").chmod(0o700)
    (r / "etc/udhcpc.script").write_text(UDHCPC_SCRIPT)
    (r / "etc/udhcpc.script").chmod(0o755)
    (r / "init").write_text(INIT)
    (r / "init").chmod(0o755)
    build_dirty(r / "bin" / "dirty")
    with open(out, "wb") as f:
        p = subprocess.run("find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1",
                           shell=True, cwd=r, stdout=f, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise LabError(f"cpio of the mini initramfs failed: {p.stderr.decode().strip()}")
    shutil.rmtree(work, ignore_errors=True)


def build(name: str, force: bool = False) -> dict:
    """Build image `name` unless cached; return info(name)."""
    d = image_dir(name)
    m = manifest(name)
    if m and not force and (name != "mini" or m.get("recipe") == recipe(name)):
        return info(name)
    t0 = time.monotonic()
    kv, kroot = kernel_tree()
    tmp = d.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tmp.chmod(0o755)
    shutil.copy2(kroot / "boot" / f"vmlinuz-{kv}", tmp / "vmlinuz")
    if name == "mini":
        build_mini_initrd(tmp / "initrd.gz", kv, kroot)
    else:
        mini = build("mini")
        shutil.copy2(mini["initrd"], tmp / "initrd.gz")
        build_debian_disk(tmp / "disk.qcow2", kv, kroot)
    for f in tmp.iterdir():
        f.chmod(0o644)
    m = {
        "name": name,
        "kernel_version": kv,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.monotonic() - t0, 1),
        "init_sha256": hashlib.sha256(INIT.encode()).hexdigest()[:16],
        "recipe": recipe(name),
        "cmdline": cmdline(name, "{hostname}", None) + " vmlab.sshkey={type},{base64}",
    }
    write_json(tmp / "manifest.json", m)
    shutil.rmtree(d, ignore_errors=True)
    tmp.rename(d)
    log.info("image %s built in %.1f s", name, m["build_seconds"])
    return info(name)


# ---------------------------------------------------------------- debian

def _mirror() -> str:
    try:
        for line in Path("/etc/apt/sources.list.d/debian.sources").read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    except FileNotFoundError:
        pass
    try:
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            if line.startswith("deb "):
                return line.split()[1]
    except FileNotFoundError:
        pass
    return "http://deb.debian.org/debian"


NETWORK_UNIT = """[Match]
Name=en* eth*
[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no
[DHCPv4]
# every clone has the same /etc/machine-id: the default DUID client id would give every VM
# the same lease
ClientIdentifier=mac
"""

SSH_DROPIN = """[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
"""

MASKED = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
    "fstrim.timer", "e2scrub_reap.service", "getty@tty1.service", "getty-static.service",
    "systemd-pstore.service", "dev-hugepages.mount", "dev-mqueue.mount", "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount", "sys-kernel-config.mount", "sys-fs-fuse-connections.mount",
    "modprobe@configfs.service", "modprobe@fuse.service", "modprobe@dm_mod.service",
    "modprobe@loop.service", "modprobe@drm.service", "modprobe@efi_pstore.service",
    "systemd-random-seed.service", "kmod-static-nodes.service", "systemd-journal-flush.service",
    "systemd-networkd-wait-online.service",
)


def build_debian_disk(out: Path, kv: str, kroot: Path) -> None:
    work = images_dir() / ".debian-work"
    rootfs = work / "rootfs"
    if work.exists():
        run(["rm", "-rf", "--one-file-system", work], timeout=300)
    work.mkdir(parents=True)
    dcache = cache_dir() / "debootstrap"
    dcache.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    logf = work.with_name("debootstrap.log")
    with open(logf, "w") as lf:
        p = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--cache-dir={dcache}",
             "--include=" + ",".join(DEBIAN_INCLUDE), SUITE, str(rootfs), _mirror()],
            stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT, timeout=1800)
    if p.returncode != 0:
        raise LabError(f"debootstrap failed, see {logf}")
    log.info("debootstrap: %.1f s", time.monotonic() - t0)
    R = rootfs
    shutil.copytree(_modules_root(kroot, kv), R / "lib/modules" / kv, symlinks=True, dirs_exist_ok=True)
    run(["chroot", R, "depmod", kv], check=False)
    (R / "root/.ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
    (R / "etc/hostname").write_text("vmlab\n")
    (R / "etc/fstab").write_text("/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1\n")
    if (R / "etc/resolv.conf").is_symlink():
        (R / "etc/resolv.conf").unlink()
    (R / "etc/resolv.conf").write_text("nameserver 10.77.0.1\nsearch lab\n")
    (R / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (R / "etc/systemd/network/20-lab.network").write_text(NETWORK_UNIT)
    run(["chroot", R, "systemctl", "enable", "systemd-networkd.service"], check=False)
    run(["chroot", R, "systemctl", "mask", *MASKED], check=False)
    (R / "etc/systemd/journald.conf.d").mkdir(parents=True, exist_ok=True)
    (R / "etc/systemd/journald.conf.d/vmlab.conf").write_text("[Journal]\nStorage=volatile\n")
    (R / "etc/modprobe.d/vmlab.conf").write_text("blacklist kvm\nblacklist kvm_amd\nblacklist kvm_intel\n")
    for k in (R / "etc/ssh").glob("ssh_host_*"):
        k.unlink()
    (R / "etc/ssh/sshd_config.d/vmlab.conf").write_text(
        "HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\nPermitRootLogin prohibit-password\n")
    (R / "etc/systemd/system/ssh.service.d").mkdir(parents=True, exist_ok=True)
    (R / "etc/systemd/system/ssh.service.d/vmlab.conf").write_text(SSH_DROPIN)
    for pat in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*"):
        for x in R.glob(pat):
            if x.is_dir() and not x.is_symlink():
                shutil.rmtree(x, ignore_errors=True)
            else:
                x.unlink(missing_ok=True)
    (R / "etc/machine-id").write_text("")
    raw = work / "disk.raw"
    with open(raw, "wb") as f:
        f.truncate(2 << 30)
    run(["mkfs.ext4", "-q", "-F", "-L", "vmroot", "-d", R, raw], timeout=600)
    run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out], timeout=600)
    run(["rm", "-rf", "--one-file-system", work], timeout=300)
