#!/usr/bin/env bash
# bench/lab.sh - the lab's own figures (issue 4):
#   * `vm5k-lab up` from nothing (guest image cached) and `vm5k-lab down`
#   * boot to SSH of 1, 3 and 6 mini (busybox + dropbear) guests started by a plain
#     `virsh start` loop over the lab hosts (round-robin): the floor vm5k-vms is measured against.
# Holds the machine-wide lab lock for the whole run; leaves the lab as it found it (up or down).
# Env: HOSTS (3), COUNTS ("1 3 6"), MEM (128 MiB per guest), WAIT (180 s max per round).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LAB=${LAB:-.venv/bin/vm5k-lab}
HOSTS=${HOSTS:-3}
COUNTS=${COUNTS:-1 3 6}
MEM=${MEM:-128}
WAIT=${WAIT:-180}
. bench/lib/lab.sh

with_lab_lock "$@"

was_up=0
"$LAB" -q status >/dev/null 2>&1 && was_up=1
restore() {
    "$PY" - <<'EOF' || true
from vm5k_lab import lab, libvirtd
st = lab.status()
for i, h in enumerate(st["hosts"], 1):
    for d in libvirtd.domains(i):
        if d.startswith("bench-"):
            libvirtd.virsh(i, "destroy", d, check=False); libvirtd.virsh(i, "undefine", d, check=False)
EOF
    if [ "$was_up" = 1 ]; then "$LAB" -q up --hosts "$HOSTS" >/dev/null; else "$LAB" -q down >/dev/null; fi
}
trap restore EXIT

"$LAB" -q image mini >/dev/null
"$LAB" -q down >/dev/null
t0=$(now); "$LAB" -q up --hosts "$HOSTS" >/dev/null; t_up=$(secs "$t0" "$(now)")
t0=$(now); "$LAB" -q up --hosts "$HOSTS" >/dev/null; t_up2=$(secs "$t0" "$(now)")
t0=$(now); "$LAB" -q down >/dev/null; t_down=$(secs "$t0" "$(now)")
t0=$(now); "$LAB" -q up --hosts "$HOSTS" >/dev/null; t_up3=$(secs "$t0" "$(now)")
virt=$("$LAB" -q status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["virt"])')
key=$("$LAB" -q status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["ssh"]["key"])')

echo "lab: $HOSTS hosts, virt $virt, $(nproc) cores"
printf '%-34s %6s s\n' "up from nothing (image cached)" "$t_up" "up again (no-op)" "$t_up2" \
    "down" "$t_down" "up from nothing (2nd)" "$t_up3"

SSHO=(-i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
      -o LogLevel=ERROR -o ConnectTimeout=2)
for n in $COUNTS; do
    # define n guests round-robin on the hosts (not timed), with static DHCP bindings
    plan=$("$PY" - "$n" "$HOSTS" "$MEM" <<'EOF'
import sys
from vm5k_lab import guests, lab, libvirtd, network, plan
n, nh, mem = map(int, sys.argv[1:])
st = lab.status()
pub = lab.public_key()
for i in range(1, n + 1):
    name, ip = f"bench-{i}", f"10.77.56.{10 + i}"
    mac = plan.g5k_mac(ip)
    h = (i - 1) % nh + 1
    guests.destroy(h, name)
    network.add_static_binding(name, mac, ip, "bench.conf")
    libvirtd.run(["virsh", "-q", "-c", libvirtd.uri(h), "define", "/dev/stdin"],
                 input=guests.mini_xml(name, mac, pub, virt=st["virt"], mem_mb=mem))
    print(name, ip, libvirtd.uri(h))
EOF
)
    t0=$(now)
    while read -r name ip uri; do virsh -q -c "$uri" start "$name" >/dev/null; done <<<"$plan"
    t_started=$(secs "$t0" "$(now)")
    tmp=$(mktemp -d)
    while read -r name ip uri; do
        ( end=$(( $(date +%s) + WAIT ))
          until ssh "${SSHO[@]}" "root@$ip" true 2>/dev/null; do
              [ "$(date +%s)" -lt "$end" ] || { echo "TIMEOUT" > "$tmp/$name"; exit 0; }
              sleep 0.3
          done
          echo "$(secs "$t0" "$(now)")" > "$tmp/$name" ) &
    done <<<"$plan"
    wait
    times=$(cat "$tmp"/* | sort -n | tr '\n' ' ')
    last=$(cat "$tmp"/* | sort -n | tail -1)
    rm -rf "$tmp"
    printf '%-34s %6s s   (virsh start loop %s s; each: %s)\n' "$n mini guest(s): all answer SSH" "$last" "$t_started" "$times"
    while read -r name ip uri; do
        virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
        virsh -q -c "$uri" undefine "$name" >/dev/null 2>&1 || true
    done <<<"$plan"
done
