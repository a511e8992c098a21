"""One virtlogd + libvirtd per lab host, inside the host's namespaces (entered through its
sshd's pid). From the root namespace each one is reachable at
``qemu:///system?socket=<state>/hosts/hostN/run-libvirt/libvirt-sock``; from an SSH session
on the host it is plain ``qemu:///system``.
"""

from __future__ import annotations

import grp
import os
import shutil
import stat
import subprocess
from pathlib import Path

from . import plan
from .state import LabError, host_dir, log, pidfile_alive, read_pid, run, state_dir, stop_pid, stop_pidfile, wait_for


def run_dir(n: int) -> Path:
    return host_dir(plan.host_name(n)) / "run-libvirt"


def uri(n: int) -> str:
    return f"qemu:///system?socket={run_dir(n) / 'libvirt-sock'}"


def virsh(n: int, *args, check=True, timeout=60):
    return run(["virsh", "-q", "-c", uri(n), *args], check=check, timeout=timeout)


def libvirtd_pid(n: int) -> int | None:
    return pidfile_alive(run_dir(n) / "libvirtd.pid", "libvirtd")


def virtlogd_pid(n: int) -> int | None:
    return pidfile_alive(run_dir(n) / "virtlogd.pid", "virtlogd")


def fix_dev_kvm() -> None:
    """What udev would do: /dev/kvm root:kvm 0660. Without it libvirt finds its cached qemu
    capabilities unusable for libvirt-qemu and re-probes qemu on every call (45 s)."""
    try:
        st = os.stat("/dev/kvm")
    except FileNotFoundError:
        return
    try:
        gid = grp.getgrnam("kvm").gr_gid
    except KeyError:
        return
    if st.st_gid != gid:
        os.chown("/dev/kvm", 0, gid)
    if stat.S_IMODE(st.st_mode) & 0o060 != 0o060:
        os.chmod("/dev/kvm", 0o660)


def ready(n: int) -> bool:
    return libvirtd_pid(n) is not None and virsh(n, "version", check=False, timeout=20).returncode == 0


def start(n: int, sshd_pid: int) -> int:
    """Start virtlogd and libvirtd in host n's namespaces; return libvirtd's pid."""
    fix_dev_kvm()
    d = run_dir(n)
    enter = ["nsenter", "-t", str(sshd_pid), "-m", "-u", "-n", "--"]
    if not virtlogd_pid(n):
        _spawn(enter + ["virtlogd", "-d", "-p", "/run/libvirt/virtlogd.pid"], n)
        if not wait_for(lambda: virtlogd_pid(n) is not None, 5):
            raise LabError(f"virtlogd of {plan.host_name(n)} did not start")
    if not libvirtd_pid(n):
        (d / "libvirt-sock").unlink(missing_ok=True)
        _spawn(enter + ["libvirtd", "-d", "-p", "/run/libvirt/libvirtd.pid"], n)
        if not wait_for(lambda: libvirtd_pid(n) is not None, 10):
            raise LabError(f"libvirtd of {plan.host_name(n)} did not start "
                           f"(see {host_dir(plan.host_name(n)) / 'log-libvirt'})")
    return libvirtd_pid(n)


def _spawn(argv, n):
    logf = host_dir(plan.host_name(n)) / "daemons.log"
    with open(logf, "a") as err:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=30, cwd="/")
    if p.returncode != 0:
        raise LabError(f"{argv[argv.index('--') + 1]} of {plan.host_name(n)} failed ({p.returncode}), see {logf}")


def wait_ready(n: int, timeout: float = 60) -> None:
    if not wait_for(lambda: ready(n), timeout, 0.2):
        raise LabError(f"libvirtd of {plan.host_name(n)} does not answer after {timeout:.0f} s")


def save_capabilities_cache(n: int) -> None:
    """Keep host n's qemu capabilities so that the next libvirtds need not probe qemu."""
    src = host_dir(plan.host_name(n)) / "cache-libvirt"
    dst = state_dir() / "libvirt-cache"
    if not list((src / "qemu" / "capabilities").glob("*.xml")):
        return
    tmp = dst.with_name("libvirt-cache.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, symlinks=True)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def copy_capabilities_cache(n: int) -> None:
    src = state_dir() / "libvirt-cache"
    if src.is_dir():
        shutil.copytree(src, host_dir(plan.host_name(n)) / "cache-libvirt", dirs_exist_ok=True, symlinks=True)


def domains(n: int, all_: bool = True) -> list[str]:
    p = virsh(n, "list", "--name", *(["--all"] if all_ else []), check=False)
    return [x.strip() for x in p.stdout.splitlines() if x.strip()] if p.returncode == 0 else []


def qemu_pids(n: int) -> list[int]:
    pids = []
    for f in (run_dir(n) / "qemu").glob("*.pid"):
        pid = read_pid(f)
        if pid and pidfile_alive(f, "qemu-system-x86"):
            pids.append(pid)
    return pids


def destroy_domains(n: int) -> None:
    if libvirtd_pid(n) and virsh(n, "version", check=False, timeout=20).returncode == 0:
        for dom in domains(n):
            virsh(n, "destroy", dom, check=False)
            virsh(n, "undefine", dom, "--nvram", check=False)
            if dom in domains(n):
                virsh(n, "undefine", dom, check=False)


def stop(n: int, destroy: bool = False) -> None:
    """Stop host n's libvirtd and virtlogd by pid. With destroy, first destroy and undefine
    every domain, and stop any qemu left (libvirtd does not stop its guests when it exits)."""
    if destroy:
        destroy_domains(n)
    stop_pidfile(run_dir(n) / "libvirtd.pid", "libvirtd")
    if destroy:
        for pid in qemu_pids(n):
            log.warning("qemu pid %s of %s still running: stopping it", pid, plan.host_name(n))
            stop_pid(pid)
    stop_pidfile(run_dir(n) / "virtlogd.pid", "virtlogd")
