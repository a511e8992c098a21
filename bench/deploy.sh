#!/usr/bin/env bash
# bench/deploy.sh - the whole pipeline vs the floor, on the lab (issue 8):
#   for N in 1 3 6 mini guests over the lab hosts:
#     pipeline   vm5k-topo | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms, wall clock, until
#                every VM answers SSH with its own name (vm5k-vms timed on its own too)
#     floor      the same prepared domains (defined, disks made, DHCP bindings in place),
#                shut off, then started by a bare `virsh start` loop and waited by ssh
#                (bench/lab.sh's method)
#   printed side by side with the ratios (and the pipeline's stages: topo+oar, net, hosts, vms); then `vm5k-vms --destroy | vm5k-oar --release`.
# Holds the lab lock for the whole run; brings the lab up only if it is down, and then down.
# Env: HOSTS (3), COUNTS ("1 3 6"), MEM (128 MiB per guest), WAIT (180 s max per floor round).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PY=${PY:-$PWD/.venv/bin/python}
HOSTS=${HOSTS:-3}
COUNTS=${COUNTS:-1 3 6}
MEM=${MEM:-128}
WAIT=${WAIT:-180}
. bench/lib/lab.sh

with_lab_lock "$@"

work=$(mktemp -d /tmp/vm5k-bench-deploy.XXXXXX)
brought_up=0
cleanup() {
    if [ -s "$work/deployed.json" ]; then
        vm5k-vms -q --destroy -i "$work/deployed.json" | vm5k-oar -q --release >/dev/null || true
    fi
    if [ "$brought_up" = 1 ]; then vm5k-lab -q down >/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if ! vm5k-lab -q status >/dev/null 2>&1; then
    vm5k-lab -q up --hosts "$HOSTS" >/dev/null
    brought_up=1
fi
vm5k-lab -q image mini >/dev/null
key=$(vm5k-lab -q status | jq -r .ssh.key)
virt=$(vm5k-lab -q status | jq -r .virt)
SSHO=(-i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
      -o LogLevel=ERROR -o ConnectTimeout=2)
template="{\"mem\": $MEM, \"hdd\": 1, \"backing_file\": \"mini\"}"

echo "lab: $HOSTS hosts, virt $virt, $(nproc) cores; mini guests of $MEM MiB"
printf '%-4s %9s %7s %7s %8s %9s %7s %15s %15s   %s\n' VMs topo+oar net hosts vm5k-vms pipeline floor \
    "pipeline/floor" "vm5k-vms/floor" "floor: virsh start loop; each VM"
for n in $COUNTS; do
    rm -f "$work"/*.json
    # the stages one after the other through files (what the pipe does: each stage reads
    # the whole document before it writes), so that each is timed
    t0=$(now)
    vm5k-topo -q --platform lab -n "$n" -r "lab:$HOSTS" -t "$template" -w 0:30:00 > "$work/topo.json"
    vm5k-oar -q -i "$work/topo.json" > "$work/reserved.json"; t1=$(now)
    vm5k-net -q -i "$work/reserved.json" > "$work/addressed.json"; t2=$(now)
    vm5k-hosts -q -i "$work/addressed.json" > "$work/hosts.json"; t3=$(now)
    status=0
    vm5k-vms -q -i "$work/hosts.json" > "$work/deployed.json" || status=$?
    t4=$(now)
    if [ "$status" != 0 ]; then
        echo "bench/deploy.sh: vm5k-vms exit $status for $n VMs:" >&2
        jq -c '.vms[] | select(.state != "ready") | {id, state, error}' "$work/deployed.json" >&2 || true
        exit 1
    fi
    t_oar=$(secs "$t0" "$t1"); t_net=$(secs "$t1" "$t2"); t_hosts=$(secs "$t2" "$t3")
    t_vms=$(secs "$t3" "$t4"); t_pipe=$(secs "$t0" "$t4")

    # the floor: the same domains, shut off, then a bare virsh start loop, waited by ssh
    plan=$(jq -r '.vms[] | "\(.id) \(.ip) \(.host)"' "$work/deployed.json" | "$PY" -c '
import sys
from vm5k_lab import libvirtd, plan
for line in sys.stdin:
    vm, ip, host = line.split()
    print(vm, ip, libvirtd.uri(plan.host_number(host)))')
    while read -r name ip uri; do virsh -q -c "$uri" destroy "$name" >/dev/null; done <<<"$plan"
    while read -r name ip uri; do   # wait until the guest is really gone from the network
        for _ in $(seq 50); do ssh "${SSHO[@]}" -o ConnectTimeout=1 "root@$ip" true 2>/dev/null || break; sleep 0.2; done
    done <<<"$plan"
    tmp=$(mktemp -d "$work/floor.XXXX")
    t0=$(now)
    while read -r name ip uri; do virsh -q -c "$uri" start "$name" >/dev/null; done <<<"$plan"
    t_loop=$(secs "$t0" "$(now)")
    while read -r name ip uri; do
        # port 22 probed every 0.1 s (a probe never waits more than 0.5 s), then ssh
        ( end=$(( $(date +%s) + WAIT ))
          until timeout 0.5 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null \
                && ssh "${SSHO[@]}" "root@$ip" true 2>/dev/null; do
              [ "$(date +%s)" -lt "$end" ] || { echo TIMEOUT > "$tmp/$name"; exit 0; }
              sleep 0.1
          done
          echo "$(secs "$t0" "$(now)")" > "$tmp/$name" ) &
    done <<<"$plan"
    wait
    if grep -q TIMEOUT "$tmp"/*; then echo "bench/deploy.sh: floor: a guest did not answer in $WAIT s" >&2; exit 1; fi
    t_floor=$(cat "$tmp"/* | sort -n | tail -1)
    each=$(cat "$tmp"/* | sort -n | tr '\n' ' ')
    printf '%-4s %8ss %6ss %6ss %7ss %8ss %6ss %15s %15s   %s\n' "$n" "$t_oar" "$t_net" "$t_hosts" "$t_vms" \
        "$t_pipe" "$t_floor" \
        "$(ratio "$t_pipe" "$t_floor")" "$(ratio "$t_vms" "$t_floor")" "${t_loop}s; $each"

    vm5k-vms -q --destroy -i "$work/deployed.json" | vm5k-oar -q --release > "$work/released.json"
    rm -f "$work/deployed.json"
    # oardel is asynchronous: wait for the job's end, or the next round's reservation is
    # planned after this job's walltime
    job=$(jq -r '.reservation.jobs[0].id' "$work/released.json")
    for _ in $(seq 60); do
        oarstat -s -j "$job" 2>/dev/null | grep -qE 'Terminated|Error' && break
        sleep 0.5
    done
done
