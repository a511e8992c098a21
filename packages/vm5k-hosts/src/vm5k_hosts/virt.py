"""kvm or qemu (TCG), decided per host by really booting a guest kernel under KVM.

/dev/kvm existing proves nothing (on kvm_pvm stock kernels hang at the switch to protected
mode, see docs/lab.md). A kernel booted with no root disk panics within a second or two
under a working KVM; we wait for its first console line and give up after a timeout.

The lab decides the same locally (vm5k_lab.virt: its mini guest to userspace under
``-cpu host``, cached), and the host stage takes that answer for lab hosts. Not one shared
test: the CPU model and what counts as booted differ, and either choice would change one
of the two decisions.
"""
from vm5k_doc.ids import quote

DEFAULT_TIMEOUT = 10

KVM_CHECK_SH = r"""
[ -c /dev/kvm ] || {{ echo "virt=qemu"; echo "why=no /dev/kvm"; exit 0; }}
qemu=$(command -v qemu-system-x86_64) || {{ echo "qemu-system-x86_64 is not installed" >&2; exit 1; }}
kernel=
for k in {kernels} /boot/vmlinuz-$(uname -r) /boot/vmlinuz /vmlinuz; do
  [ -r "$k" ] && {{ kernel=$k; break; }}
done
[ -n "$kernel" ] || {{ echo "virt=qemu"; echo "why=no guest kernel to try KVM with"; exit 0; }}
start=$(date +%s)
# the default CPU model: '-cpu host' aborts on some KVMs before the guest even starts
if timeout -s KILL {timeout} "$qemu" -accel kvm -m 128 -display none -serial stdio \
     -monitor none -no-reboot -nic none -kernel "$kernel" -append "console=ttyS0 panic=-1" \
     </dev/null 2>&1 | grep -q -m1 -E 'Linux version|Kernel panic'; then
  echo "virt=kvm"; echo "why=$kernel booted under KVM"
else
  echo "virt=qemu"; echo "why=$kernel did not boot under KVM (gave up after $(($(date +%s) - start)) s)"
fi
"""


def script(kernels=(), timeout=DEFAULT_TIMEOUT):
    """kernels: guest kernels on the host to try first (e.g. the lab image's)."""
    return KVM_CHECK_SH.format(kernels=" ".join(quote(k) for k in kernels),
                               timeout=int(timeout))


def parse(stdout):
    """('kvm'|'qemu'|None, why) from the script's output."""
    virt, why = None, ""
    for line in stdout.splitlines():
        if line.startswith("virt="):
            virt = line[5:].strip()
        elif line.startswith("why="):
            why = line[4:].strip()
    return (virt if virt in ("kvm", "qemu") else None), why
