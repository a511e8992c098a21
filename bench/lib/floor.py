"""The floor of a deployment, for bench/deploy.sh: the same domains vm5k-vms made (defined,
disks made, DHCP bindings in place), shut off, then started by a bare `virsh start` loop
and waited for by ssh, the cheapest way this machine allows (a non-blocking connect to
port 22 of every guest per 0.1 s, then one `ssh true` per guest once it is open), so that
the waiting costs the guests as little CPU as possible.

    python bench/lib/floor.py deployed.json KEY [WAIT]
prints `SECONDS_TO_ALL LOOP_SECONDS` then one `VM SECONDS` line per guest; exit 1 if a
guest did not answer within WAIT seconds.
"""
import errno
import json
import select
import socket
import subprocess
import sys
import time

from vm5k_lab import libvirtd, plan

SSH = ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
       "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=2"]


def virsh(uri, *args, check=True):
    return subprocess.run(["virsh", "-q", "-c", uri, *args], capture_output=True, text=True, check=check)


def port_open(ip, timeout=0.3):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if sock.connect_ex((ip, 22)) not in (0, errno.EINPROGRESS):
            return False
        _, writable, _ = select.select([], [sock], [], timeout)
        return bool(writable) and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    finally:
        sock.close()


def main(path, key, wait=600.0):
    doc = json.load(open(path))
    vms = [(vm["id"], vm["ip"], libvirtd.uri(plan.host_number(vm["host"]))) for vm in doc["vms"]]
    for name, _, uri in vms:
        virsh(uri, "destroy", name, check=False)
    for _, ip, _ in vms:             # really gone from the network
        for _ in range(50):
            if not port_open(ip, 0.2):
                break
            time.sleep(0.2)
    t0 = time.monotonic()
    for name, _, uri in vms:
        virsh(uri, "start", name)
    loop = time.monotonic() - t0
    pending, done, probes, socks = {name: ip for name, ip, _ in vms}, {}, {}, {}
    while pending and time.monotonic() - t0 < wait:
        now = time.monotonic()
        for name, ip in pending.items():       # one connect in flight per guest, renewed each second
            if name not in probes and (name not in socks or now - socks[name][1] > 1.0):
                if name in socks:
                    socks[name][0].close()
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex((ip, 22))
                socks[name] = (sock, now)
        by_sock = {s: name for name, (s, _) in socks.items()}
        _, writable, _ = select.select([], list(by_sock), [], 0.1) if by_sock else ([], [], [])
        for sock in writable:
            name = by_sock[sock]
            ok = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            sock.close()
            del socks[name]
            if ok:
                probes[name] = subprocess.Popen([*SSH, "-i", key, f"root@{pending[name]}", "true"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, probe in list(probes.items()):
            if probe.poll() is not None:
                del probes[name]
                if probe.returncode == 0:
                    done[name] = time.monotonic() - t0
                    del pending[name]
        if not writable:
            time.sleep(0.05)
    print(f"{max(done.values(), default=0):.1f} {loop:.1f}")
    for name, seconds in sorted(done.items(), key=lambda kv: kv[1]):
        print(name, f"{seconds:.1f}")
    if pending:
        print(f"floor: {len(pending)} guests did not answer in {wait:.0f} s: {', '.join(sorted(pending))}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 600.0))
