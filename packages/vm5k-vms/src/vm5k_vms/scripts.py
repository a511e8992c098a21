"""The shell scripts a host runs, one per host per step, fed over one ssh by vm5k_doc.remote.

Every value is quoted (`shlex.quote`) or carried in base64 (file contents), so nothing
from the document is interpreted by the remote shell. A script reports one line per VM
and step, which the control node reads as it comes (that is how steps are timed):

    vm5k <vm-id> <step> ok [data]
    vm5k <vm-id> <step> fail <message>
"""
import base64

from vm5k_doc.ids import join, quote

from .domain import domain_xml
from .plan import VmPlan

PRELUDE = r"""export LC_ALL=C
V() { virsh -q -c qemu:///system "$@"; }
say() { printf 'vm5k %s\n' "$*"; }
# try VM STEP CMD...: run CMD, report ok, or fail with its output on one line
try() {
    _vm=$1; _step=$2; shift 2
    if _out=$("$@" 2>&1); then say "$_vm" "$_step" ok
    else say "$_vm" "$_step" fail "$(printf '%s' "$_out" | tr '\n' ' ' | cut -c1-400)"; return 1; fi
}
put() { printf '%s' "$2" | base64 -d > "$1"; }
undefine() { V destroy "$1" >/dev/null 2>&1; V undefine "$1" >/dev/null 2>&1; true; }
# defined VM: is VM a domain of this host? Asked once per script: a new VM then costs no
# virsh call to undefine (each is a libvirtd connection, ~40 ms of CPU, on a machine busy
# booting guests). When virsh cannot list, every VM may be one.
_defined=
defined() {
    if [ -z "$_defined" ]; then
        if _list=$(V list --all --name 2>/dev/null); then _defined=" $(printf '%s' "$_list" | tr '\n' ' ') "
        else _defined=unknown; fi
    fi
    case "$_defined" in unknown|*" $1 "*) return 0;; esac; return 1
}
define() { put "$1" "$2" && V define "$1" >/dev/null; }
restart() { V destroy "$1" >/dev/null 2>&1; V start "$1" >/dev/null; }
seed() { # ISO DIR-CONTENTS...: a NoCloud seed (volume label cidata)
    _iso=$1; shift; _d=$(mktemp -d) || return 1
    while [ $# -gt 1 ]; do put "$_d/$1" "$2" || return 1; shift 2; done
    xorriso -as mkisofs -quiet -o "$_iso" -V cidata -J -r "$_d"/* ; _rc=$?; rm -rf "$_d"; return $_rc
}
grow() { qemu-img resize -q "$1" "$2" >/dev/null 2>&1; true; }  # never shrinks below the base
"""


def b64(text):
    return base64.b64encode(text.encode()).decode()


def header(what, host):
    # the host id is a checked id; keep it out of the shell anyway (a comment line)
    return f"# vm5k-vms: {what} on {host}\n" + PRELUDE


def disk_commands(vm: VmPlan):
    """Create the VM's disk: a qcow2 overlay on the base, a full copy, or a blank disk."""
    size = f"{vm.hdd}G"
    if vm.base is None:
        create = join(["qemu-img", "create", "-q", "-f", "qcow2", vm.overlay, size])
    elif vm.real_file:
        create = join(["qemu-img", "convert", "-f", vm.base_format, "-O", "qcow2", vm.base, vm.overlay])
    else:
        create = join(["qemu-img", "create", "-q", "-f", "qcow2", "-F", vm.base_format,
                       "-b", vm.base, vm.overlay])
    lines = [f"try {quote(vm.id)} disk {create} &&"]
    if vm.base is not None:
        lines.append(f"grow {quote(vm.overlay)} {size} &&")
    if vm.seed:
        args = " ".join(f"{quote(name)} {b64(text)}" for name, text in sorted(vm.seed_files.items()))
        lines.append(f"try {quote(vm.id)} seed seed {quote(vm.seed)} {args} &&")
    return lines


def vm_files(vm_id, vm_dir):
    from .plan import paths
    p = paths(vm_id, vm_dir)
    return [p["overlay"], p["xml"], p["console"], p["seed"]]


def vm_dir_command(directory):
    """Make the VM directory, and stop unless it is ours: on a shared /tmp another user may
    have made it first, or a link (755: qemu runs as its own user and must reach the disks)."""
    d = quote(directory)
    return (f"mkdir -p -m 755 {d} && [ ! -L {d} ] && [ \"$(stat -c %u {d})\" = \"$(id -u)\" ] "
            f"|| {{ say - mkdir fail {d} is not a directory of ours; exit 1; }}")


def create_script(host, vms: list[VmPlan], start=True) -> str:
    """(Re)create each VM: clean any old domain and files, disk, define; then start it if it
    is in `start` (True: all). The VMs to start go first, each started as soon as it is
    defined, so that a host's first boots do not wait for the rest to be created; the boot
    loop starts the others as the host can boot them (`start_script`).
    The VMs of a host go one after another; a failing VM does not stop the next."""
    starts = {vm.id for vm in vms} if start is True else set(start or ())
    out = [header(f"create {len(vms)} VMs, start {len(starts)}", host)]
    dirs = sorted({vm.overlay.rsplit("/", 1)[0] for vm in vms})
    out += [vm_dir_command(d) for d in dirs]
    for vm in sorted(vms, key=lambda v: v.id not in starts):
        vid = quote(vm.id)
        out.append(f"\n# {vm.id}")
        out.append(f"defined {vid} && undefine {vid}; rm -f {join(vm_files(vm.id, vm.overlay.rsplit('/', 1)[0]))}")
        out.extend(disk_commands(vm))
        if vm.id in starts:
            out.append(f"try {vid} define define {quote(vm.xml_path)} {b64(domain_xml(vm))} &&")
            out.append(f"try {vid} start V start {vid}")
        else:
            out.append(f"try {vid} define define {quote(vm.xml_path)} {b64(domain_xml(vm))}")
    return "\n".join(out) + "\n"


def start_script(host, vm_ids) -> str:
    """Start these defined VMs, one line each as it starts."""
    out = [header(f"start {len(vm_ids)} VMs", host)]
    out += [f"try {quote(v)} start V start {quote(v)}" for v in vm_ids]
    return "\n".join(out) + "\n"


def monitor_script(host, vm_dir, every=15, ticks=40) -> str:
    """How the VMs of a host are doing, every `every` seconds, `ticks` times at most (the boot
    loop stops it sooner): one line per VM with a console log in vm_dir,
    `vm5k ID progress ok CONSOLE_BYTES CPU_NS [PANIC_LINE_BASE64]` (CPU_NS `-` when the
    domain is not running), then `vm5k - tick ok`. One ssh session for the whole boot, and
    per tick a handful of processes whatever the number of VMs (a session per report cost
    the host an sshd and the control node an ssh client: ~0.3 s of CPU on a busy machine).
    CPU_NS is the guest's CPU demand: the CPU time it got plus the time its vCPUs waited
    for a host CPU (`vcpu.N.delay`), so that a guest starved by its neighbours still shows
    it wants to run, and one stuck idle does not. From one `virsh domstats` for all domains."""
    out = [header("progress reports", host), f"dir={quote(vm_dir)}", f"i=0; while [ $i -lt {int(ticks)} ]; do i=$((i+1))"]
    out.append("cpu=$(V domstats --cpu-total --vcpu --list-running 2>/dev/null | "
               "awk -F\"[=']\" '/^Domain:/{d=$2} /cpu.time=|vcpu[.][0-9]+[.]delay=/{s[d]+=$2} "
               "END{for (d in s) printf \"C %s %.0f\\n\", d, s[d]}')")
    out.append("{ printf '%s\\n' \"$cpu\"; stat -c 'S %s %n' \"$dir\"/*.console.log 2>/dev/null")
    out.append("  grep -a -l 'Kernel panic - not syncing' \"$dir\"/*.console.log 2>/dev/null | while IFS= read -r p; do")
    out.append("    n=${p##*/}; printf 'P %s %s\\n' \"${n%.console.log}\" "
               "\"$(grep -a -m1 -o 'Kernel panic - not syncing.*' \"$p\" | head -c 200 | base64 -w0)\"; done")
    out.append("} | awk '$1==\"C\"{c[$2]=$3} $1==\"P\"{k[$2]=$3} "
               "$1==\"S\"{n=$0; sub(/^S [0-9]+ /,\"\",n); sub(/.*\\//,\"\",n); sub(/[.]console[.]log$/,\"\",n); s[n]=$2} "
               "END{for (n in s) printf \"vm5k %s progress ok %s %s %s\\n\", n, s[n], (n in c) ? c[n] : \"-\", k[n]}'")
    out.append(f"say - tick ok; sleep {float(every):g}; done")
    return "\n".join(out) + "\n"


def parse_progress(rest):
    """'CONSOLE CPU [PANIC_B64]' -> (console bytes, cpu ns or None, panic line or None)."""
    words = rest.split()
    try:
        console = int(words[0]) if words else 0
    except ValueError:
        console = 0
    cpu = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
    panic = None
    if len(words) > 2 and words[2]:
        try:
            panic = base64.b64decode(words[2]).decode("utf-8", "replace").strip() or None
        except ValueError:
            panic = None
    return console, cpu, panic


def destroy_script(host, vms: list[tuple[str, str]]) -> str:
    """Destroy, undefine and remove the files of exactly these (vm id, vm dir)."""
    out = [header(f"destroy {len(vms)} VMs", host)]
    for vm_id, vm_dir in vms:
        vid = quote(vm_id)
        out.append(f"undefine {vid}; rm -f {join(vm_files(vm_id, vm_dir))}")
        out.append(f"if V domstate {vid} >/dev/null 2>&1; then say {vid} destroy fail still defined; "
                   f"else say {vid} destroy ok; fi")
    return "\n".join(out) + "\n"


def running_script(host) -> str:
    """List the running domains (to skip VMs that are ready and still running)."""
    return header("list running domains", host) + 'for n in $(V list --name); do say "$n" running ok; done\n'


def restart_script(host, vm_ids) -> str:
    out = [header(f"restart {len(vm_ids)} VMs", host)]
    out += [f"try {quote(v)} restart restart {quote(v)}" for v in vm_ids]
    return "\n".join(out) + "\n"


def console_script(host, logs: list[tuple[str, str]], max_bytes=3000) -> str:
    """The tail of each VM's serial console log, base64 on one line."""
    out = [header(f"console tails of {len(logs)} VMs", host)]
    for vm_id, path in logs:
        out.append(f"say {quote(vm_id)} console ok \"$(tail -c {int(max_bytes)} {quote(path)} 2>/dev/null | base64 -w0)\"")
    return "\n".join(out) + "\n"


def parse_line(line):
    """'vm5k ID STEP ok|fail [rest]' -> (id, step, ok, rest) or None for other lines."""
    words = line.rstrip("\n").split(" ", 4)
    if len(words) < 4 or words[0] != "vm5k" or words[3] not in ("ok", "fail"):
        return None
    return words[1], words[2], words[3] == "ok", words[4] if len(words) > 4 else ""
