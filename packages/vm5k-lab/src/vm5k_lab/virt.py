"""KVM or TCG: decided by a real boot of the mini guest under ``-accel kvm``.

/dev/kvm can open and still not run a stock kernel (kvm_pvm: the guest hangs at the switch
to protected mode), so "libvirt says kvm" is not enough. The answer is cached in
<state>/virt.json, keyed by the host kernel, the guest kernel and /dev/kvm's identity.

vm5k_hosts.virt asks hosts the same question over SSH, with another test: any kernel the
host has, qemu's default CPU, and its first console line is enough. Here the mini guest must
reach userspace under ``-cpu host`` (the CPU vm5k-vms gives KVM guests: host-passthrough);
vm5k-hosts takes this answer for lab hosts. One shared test would change one of the two
decisions, so each keeps its own.
"""

from __future__ import annotations

import os
import subprocess
import time

from . import images
from .state import log, read_json, state_dir, write_json

BOOT_TIMEOUT = 8.0   # a working KVM reaches userspace in ~1 s


def _key() -> dict:
    try:
        st = os.stat("/dev/kvm")
        kvm = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    except FileNotFoundError:
        kvm = None
    m = images.manifest("mini") or {}
    return {"host_kernel": os.uname().release, "guest_kernel": m.get("kernel_version"), "dev_kvm": kvm}


def cached() -> str | None:
    c = read_json(state_dir() / "virt.json")
    if c and c.get("key") == _key() and c.get("virt") in ("kvm", "qemu"):
        return c["virt"]
    return None


class Check:
    """A running boot test (started early in `up`, collected at its end)."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.proc = None
        self.result = cached()
        if self.result:
            return
        info = images.info("mini")
        if not os.path.exists("/dev/kvm") or not os.access("/dev/kvm", os.R_OK | os.W_OK) or not info["built"]:
            self.result = "qemu" if info["built"] else None
            return
        self.proc = subprocess.Popen(
            ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "128", "-nographic",
             "-no-reboot", "-nic", "none", "-kernel", info["kernel"], "-initrd", info["initrd"],
             "-append", "console=ttyS0 quiet panic=-1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = b""

    def wait(self) -> str:
        if self.result:
            return self.result
        if self.proc is None:
            return "qemu"
        end = self.t0 + BOOT_TIMEOUT
        ok = False
        while time.monotonic() < end:
            try:
                chunk = self.proc.stdout.read()
            except BlockingIOError:
                chunk = None
            if chunk:
                self.buf += chunk
                if b"VMLAB-READY" in self.buf:
                    ok = True
                    break
            if self.proc.poll() is not None and not chunk:
                break
            time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.result = "kvm" if ok else "qemu"
        took = round(time.monotonic() - self.t0, 1)
        log.info("virt: %s (kvm boot test, %.1f s)", self.result, took)
        write_json(state_dir() / "virt.json", {"virt": self.result, "key": _key(), "test_seconds": took,
                                               "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        return self.result


def decide() -> str:
    return Check().wait()
