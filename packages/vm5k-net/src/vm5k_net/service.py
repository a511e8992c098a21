"""The service node: dnsmasq with one static DHCP binding per VM and a name for every VM,
configured, (re)started and checked in one ssh session, on one of the hosts, where the VMs
are (KaVLAN: in the vlan; subnet mode on static hosts: on the hosts' network, bridged).

A rerun with the same configuration only sends SIGHUP (dnsmasq re-reads the bindings and
names; leases are kept); a changed configuration restarts our dnsmasq, found by its pid
file, never by name.
"""
import inspect
import logging

from vm5k_doc import checks, dnsquery, remote
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.ids import quote

from . import dnsmasq

log = logging.getLogger("vm5k")
EOF_MARK = "VM5K_NET_EOF_7f3a"  # no line of ours ('MAC,IP,NAME', 'IP NAME', 'key=value') equals it


def heredoc(path, text):
    return f"cat > {path} <<'{EOF_MARK}'\n{text}{EOF_MARK}\n"


def setup_script(record, assignments, extra_names=(), directory=None):
    directory = directory or dnsmasq.service_dir_of(record)
    d = quote(directory)
    n = len(assignments)
    v = dnsmasq.neighbour_table_size(n)
    return "\n".join([
        "set -eu",
        "umask 022  # dnsmasq reads its hosts files after dropping root",
        f"D={d}",
        'mkdir -p "$D"; chmod 755 "$D"',
        "command -v dnsmasq >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive "
        "apt-get install -y -q --no-install-recommends dnsmasq-base >/dev/null",
        heredoc('"$D/dnsmasq.conf.new"', dnsmasq.service_conf(record, n, directory)),
        heredoc('"$D/dhcp-hosts.new"', dnsmasq.dhcp_host_lines(assignments)),
        heredoc('"$D/hosts.new"', dnsmasq.hosts_lines(assignments, record["domain"], extra_names)),
        'mv -f "$D/dhcp-hosts.new" "$D/dhcp-hosts"; mv -f "$D/hosts.new" "$D/hosts"; touch "$D/leases"',
        # the service address where the VMs are (Grid'5000's kavlan DHCP gives it; a lab host,
        # or a static host serving a subnet outside its own network, may lack it)
        f"ADDR={quote(record['service_address'])}; PREFIX={int(record['cidr'].split('/')[1])}",
        'if ! ip -o -4 addr show | grep -q " inet $ADDR/"; then',
        "  DEV=$(ip -o route show default | awk '{print $5; exit}')",
        '  [ -n "$DEV" ] || { [ -e /sys/class/net/br0 ] && DEV=br0 || DEV=eth0; }',
        '  ip addr add "$ADDR/$PREFIX" dev "$DEV"',
        "fi",
        # a neighbour table for every VM (vm5k's gc_thresh rule: v, 2v, 3v)
        f"for i in 1 2 3; do f=/proc/sys/net/ipv4/neigh/default/gc_thresh$i; [ -w $f ] || continue; "
        f'[ "$(cat $f)" -ge $(({v}*i)) ] || echo $(({v}*i)) > $f || true; done',
        'alive() { [ -n "$PID" ] && [ -r "/proc/$PID/stat" ] && ! grep -q ") Z" "/proc/$PID/stat" '
        '&& [ "$(cat /proc/$PID/comm)" = dnsmasq ]; }',
        'PID=$(cat "$D/dnsmasq.pid" 2>/dev/null || true)',
        'if alive && cmp -s "$D/dnsmasq.conf.new" "$D/dnsmasq.conf"; then',
        '  rm -f "$D/dnsmasq.conf.new"; kill -HUP "$PID"; ACTION="reloaded $PID"',
        "else",
        '  if alive; then kill "$PID"; i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; fi',
        '  mv -f "$D/dnsmasq.conf.new" "$D/dnsmasq.conf"',
        '  dnsmasq --conf-file="$D/dnsmasq.conf"',
        '  PID=$(cat "$D/dnsmasq.pid")',
        '  ACTION="started $PID"',
        "fi",
        # the check: our dnsmasq runs and listens for DNS on the service address
        "i=0; while [ $i -lt 30 ]; do "
        'ss -Hlnu 2>/dev/null | grep -q "$ADDR:53 " && break; sleep 0.1; i=$((i+1)); done',
        'alive || { echo "dnsmasq is not running: see $D/dnsmasq.log" >&2; exit 1; }',
        'ss -Hlnu | grep -q "$ADDR:53 " || { echo "dnsmasq does not listen on $ADDR:53" >&2; exit 1; }',
        *dns_check_lines(record, assignments),
        'echo "$ACTION"',
        "",
    ])


def dns_check_lines(record, assignments):
    """Ask our dnsmasq for the first VM's name on the node itself (with python3, when present),
    with the same query code as here (vm5k_doc/dnsquery.py, sent inline)."""
    if not assignments:
        return []
    vm, ip, _ = assignments[0]
    name = f"{vm['id']}.{record['domain']}"
    probe = inspect.getsource(dnsquery) + '\nimport sys\nprint(" ".join(query_a(sys.argv[1], sys.argv[2])))\n'
    return [
        "if command -v python3 >/dev/null 2>&1; then",
        f'  GOT=$(python3 - "$ADDR" {quote(name)} <<\'{EOF_MARK}\' || true',
        probe + EOF_MARK,
        "  )",
        f'  [ "$GOT" = {quote(ip)} ] || {{ echo "our DNS answers {name} -> [$GOT], planned {ip}" >&2; exit 1; }}',
        "fi",
    ]


# the service host's network as its VMs will see it: the address and prefix of its
# default-route interface (br0 once vm5k-hosts has run) and its default gateway
LAN_SH = """DEV=$(ip -o route show default | awk '{print $5; exit}')
[ -n "$DEV" ] || { [ -e /sys/class/net/br0 ] && DEV=br0 || DEV=eth0; }
echo "address $(ip -o -4 addr show dev "$DEV" | awk '{print $4; exit}')"
echo "gateway $(ip -o route show default | awk '{print $3; exit}')"
"""


def lan(ssh, ssh_address):
    """{"address": "10.0.0.11/16", "gateway": "10.0.0.1" or None} of the service host."""
    said = dict((line.split() + [None])[:2] for line in remote.run_script(ssh, ssh_address, LAN_SH).splitlines()
                if line.strip())
    address, gateway = said.get("address"), said.get("gateway")
    try:
        checks.check_address(address.split("/")[0], "service host address")
        int(address.split("/")[1])
        if gateway:
            checks.check_address(gateway, "service host gateway")
    except (AttributeError, IndexError, ValueError, InputError):
        raise PlatformError(f"{ssh_address}: no IPv4 address on its default-route interface ({address})") from None
    return {"address": address, "gateway": gateway}


def start(record, assignments, ssh_address, ssh, extra_names=()):
    """Configure, start and check the service node (reached with `ssh`, a vm5k_doc.ssh.Ssh);
    returns what to record in `network`."""
    script = setup_script(record, assignments, extra_names)
    output = remote.run_script(ssh, ssh_address, script).split()
    action, pid = (output[-2], int(output[-1])) if len(output) >= 2 and output[-1].isdigit() else ("?", None)
    log.info("service node %s: dnsmasq %s (pid %s), %d bindings", record["service_node"], action, pid,
             len(assignments))
    check_dns(record, assignments)
    return {"service_pid": pid, "service_dir": dnsmasq.service_dir_of(record)}


def check_dns(record, assignments):
    """Ask the service node for the first and the last VM's name from here too, when it is
    reachable (a local vlan, or hosts not yet moved into the vlan, are not): the node checked itself."""
    if not assignments:
        return
    for vm, ip, _ in (assignments[0], assignments[-1]):
        name = f"{vm['id']}.{record['domain']}"
        try:
            answer = dnsquery.query_a(record["service_address"], name)
        except OSError as exc:
            log.info("service node %s not reachable from here for DNS (%s): checked on the node only",
                        record["service_address"], exc)
            return
        if answer != [ip]:
            raise PlatformError(f"service node DNS: {name} is {answer or 'unknown'}, planned {ip}")


def stop_script(directory):
    """Stop our dnsmasq (by its pid file, checked to be a dnsmasq) and keep the files."""
    return "\n".join([
        "set -eu",
        f"D={quote(directory)}",
        'PID=$(cat "$D/dnsmasq.pid" 2>/dev/null || true)',
        'alive() { [ -n "$PID" ] && [ -r "/proc/$PID/stat" ] && ! grep -q ") Z" "/proc/$PID/stat" '
        '&& [ "$(cat /proc/$PID/comm)" = dnsmasq ]; }',
        'if alive; then kill "$PID"; i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
        '  alive && { echo "dnsmasq $PID still running" >&2; exit 1; }',
        '  rm -f "$D/dnsmasq.pid"; echo "stopped $PID"',
        'else echo "not running"; fi',
        "",
    ])


def stop(record, ssh_address, ssh):
    """Stop the service node's dnsmasq; returns what it said ('stopped PID' or 'not running')."""
    # only ever our own directory: a document naming another would stop another dnsmasq
    if record.get("mode") == "kavlan":
        checks.check_number(record.get("vlan"), "network.vlan", 1, 4094, integer=True)
    directory = dnsmasq.service_dir_of(record)
    if record.get("service_dir") not in (None, directory):
        raise InputError(f"network.service_dir {record['service_dir']!r}: vm5k-net's is {directory}")
    said = remote.run_script(ssh, ssh_address, stop_script(directory)).strip()
    log.info("service node %s: dnsmasq %s", record.get("service_node"), said)
    return said
