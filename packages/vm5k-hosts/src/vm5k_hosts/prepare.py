"""Host preparation, as one idempotent shell script per host (one connection per host):
packages only where missing, the VM bridge, libvirtd running with its own host UUID, and a
libvirt network bridged on it. Each change it makes prints a `changed: ...` line, so a
rerun on a ready host can be seen to change nothing.
"""
import re

from vm5k_doc.errors import InputError
from vm5k_doc.ids import join, quote

BRIDGE = "br0"
NETWORK = "vm5k"        # libvirt network bridged on BRIDGE (vm5k-vms attaches VMs to it)
# Debian 12 and 13 names: libvirt daemon + clients, QEMU, qemu-img, NoCloud seeds, dnsmasq
PACKAGES = ("libvirt-daemon-system", "libvirt-clients", "qemu-system-x86", "qemu-utils",
            "cloud-image-utils", "dnsmasq-base", "netcat-traditional", "iproute2")
PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")   # bridge and network names, used as is

PACKAGES_SH = r"""
missing=
for p in {packages}; do
  dpkg-query -W -f='${{Status}}\n' "$p" 2>/dev/null | grep -q ' installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "changed: packages$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold $missing
fi
"""

# br0 takes over the default-route interface with its address (Grid'5000 nodes: one NIC,
# DHCP); run detached so that losing the ssh session during the switch does not stop it
BRIDGE_SH = r"""
if ! ip link show {bridge} >/dev/null 2>&1; then
  echo "changed: bridge {bridge} created"
  nohup sh -c '
    dev=$(ip route show default | awk "{{print \$5; exit}}")
    gw=$(ip route show default | awk "{{print \$3; exit}}")
    addr=$(ip -4 -o addr show dev "$dev" | awk "{{print \$4; exit}}")
    ip link add {bridge} type bridge stp_state 0 forward_delay 0
    ip link set {bridge} up
    ip link set "$dev" master {bridge}
    ip addr del "$addr" dev "$dev"
    ip addr add "$addr" dev {bridge}
    ip route replace default via "$gw" dev {bridge}
  ' >/var/log/vm5k-bridge.log 2>&1 </dev/null
fi
ip link set {bridge} up
ip link show {bridge} | grep -q 'state UP\|state UNKNOWN' || {{ echo "bridge {bridge} is not up" >&2; exit 1; }}
echo "bridge={bridge}"
"""

# no systemd on the lab (and maybe elsewhere): start libvirtd by hand when it is not managed
LIBVIRT_SH = r"""
conf=/etc/libvirt/libvirtd.conf
alive() {{ s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${{s#Z}}" = "$s" ]; }}
daemon_pid() {{ for f in "$@"; do [ -s "$f" ] && alive "$(cat "$f")" && {{ cat "$f"; return 0; }}; done; return 1; }}
restart_libvirtd() {{
  if [ -d /run/systemd/system ]; then systemctl restart libvirtd; return; fi
  if pid=$(daemon_pid /run/libvirt/libvirtd.pid /run/libvirtd.pid); then
    kill "$pid"; for i in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  fi
  daemon_pid /run/libvirt/virtlogd.pid /run/virtlogd.pid >/dev/null ||
    virtlogd -d -p /run/libvirt/virtlogd.pid </dev/null >/dev/null 2>&1
  libvirtd -d -p /run/libvirt/libvirtd.pid </dev/null >/dev/null 2>&1
}}
restart=
# hosts cloned from one image share a libvirt host UUID, which breaks migration
if ! grep -q '^host_uuid' "$conf"; then
  echo "host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\"" >> "$conf"
  echo "changed: libvirt host_uuid"; restart=1
fi
virsh -q -c qemu:///system version >/dev/null 2>&1 || {{ echo "changed: libvirtd started"; restart=1; }}
[ -z "$restart" ] || restart_libvirtd
for i in $(seq 100); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -q -c qemu:///system version >/dev/null || {{ echo "libvirtd does not answer" >&2; exit 1; }}
echo "uuid=$(sed -n 's/^host_uuid *= *"\(.*\)"/\1/p' "$conf")"
if ! virsh -q -c qemu:///system net-info {network} >/dev/null 2>&1; then
  xml=$(mktemp); printf '%s\n' {xml} > "$xml"
  virsh -q -c qemu:///system net-define "$xml" >/dev/null; rm -f "$xml"
  echo "changed: libvirt network {network} defined"
fi
if ! virsh -q -c qemu:///system net-info {network} | grep -q '^Active: *yes'; then
  virsh -q -c qemu:///system net-start {network} >/dev/null; echo "changed: libvirt network {network} started"
fi
virsh -q -c qemu:///system net-info {network} | grep -q '^Autostart: *yes' ||
  virsh -q -c qemu:///system net-autostart {network} >/dev/null
virsh -q -c qemu:///system net-dumpxml {network} | grep -q "<bridge name=.{bridge}.\|<bridge name=\"{bridge}\"" ||
  {{ echo "libvirt network {network} is not bridged on {bridge}" >&2; exit 1; }}
"""


def network_xml(network=NETWORK, bridge=BRIDGE):
    return (f"<network><name>{network}</name><forward mode='bridge'/>"
            f"<bridge name='{bridge}'/></network>")


def check_packages(packages):
    for name in packages:
        if not PACKAGE_RE.match(name):
            raise InputError(f"--other-packages: {name!r} is not a Debian package name")
    return list(packages)


def script(packages=PACKAGES, bridge=BRIDGE, network=NETWORK):
    """The preparation script of one host; packages=() skips the package step."""
    for name in (bridge, network):
        if not NAME_RE.match(name):
            raise InputError(f"{name!r} is not a valid bridge or network name")
    parts = ["set -e"]
    if packages:
        parts.append(PACKAGES_SH.format(packages=join(check_packages(packages))))
    parts.append(BRIDGE_SH.format(bridge=bridge))
    parts.append(LIBVIRT_SH.format(bridge=bridge, network=network,
                                   xml=quote(network_xml(network, bridge))))
    return "\n".join(parts)


def parse(stdout):
    """{'changed': [...], 'uuid': ..., 'bridge': ...} from the script's output."""
    out = {"changed": []}
    for line in stdout.splitlines():
        if line.startswith("changed: "):
            out["changed"].append(line[len("changed: "):])
        elif "=" in line and line.split("=", 1)[0] in ("uuid", "bridge"):
            key, value = line.split("=", 1)
            out[key] = value
    return out
