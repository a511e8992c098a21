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
# Also vm5k-vms' peak RSS and how many VMs it restarted.
# Env: HOSTS (3), COUNTS ("1 3 6"), MEM (128 MiB per guest), WAIT (600 s max per floor round),
# DOCS (a directory: keep each N's deployed document there, deployed-N.json, for its timings).
# At the issue's size: COUNTS="6 30 100" HOSTS=10 bash bench/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PY=${PY:-$PWD/.venv/bin/python}
HOSTS=${HOSTS:-3}
COUNTS=${COUNTS:-1 3 6}
MEM=${MEM:-128}
WAIT=${WAIT:-600}
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
    brought_up=1
fi
vm5k-lab -q up --hosts "$HOSTS" >/dev/null   # or grows (shrinks) the lab to HOSTS
vm5k-lab -q image mini >/dev/null
key=$(vm5k-lab -q status | jq -r .ssh.key)
virt=$(vm5k-lab -q status | jq -r .virt)
template="{\"mem\": $MEM, \"hdd\": 1, \"backing_file\": \"mini\"}"

echo "lab: $HOSTS hosts, virt $virt, $(nproc) cores; mini guests of $MEM MiB"
printf '%-4s %9s %7s %7s %8s %9s %7s %15s %15s %8s %8s   %s\n' VMs topo+oar net hosts vm5k-vms pipeline floor \
    "pipeline/floor" "vm5k-vms/floor" "vms RSS" restarts "floor: virsh start loop; each VM"
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
    /usr/bin/time -o "$work/rss" -f %M vm5k-vms -q -i "$work/hosts.json" > "$work/deployed.json" || status=$?
    t4=$(now)
    rss="$(( $(tail -1 "$work/rss") / 1024 ))MB"
    restarts=$(jq '[.vms[].timings.restarted // empty] | length' "$work/deployed.json")
    if [ -n "${DOCS:-}" ]; then mkdir -p "$DOCS" && cp "$work/deployed.json" "$DOCS/deployed-$n.json"; fi
    if [ "$status" != 0 ]; then
        echo "bench/deploy.sh: vm5k-vms exit $status for $n VMs:" >&2
        jq -c '.vms[] | select(.state != "ready") | {id, state, error}' "$work/deployed.json" >&2 || true
        exit 1
    fi
    t_oar=$(secs "$t0" "$t1"); t_net=$(secs "$t1" "$t2"); t_hosts=$(secs "$t2" "$t3")
    t_vms=$(secs "$t3" "$t4"); t_pipe=$(secs "$t0" "$t4")

    # the floor: the same domains, shut off, then a bare virsh start loop, waited by ssh
    if ! "$PY" bench/lib/floor.py "$work/deployed.json" "$key" "$WAIT" > "$work/floor.txt"; then
        echo "bench/deploy.sh: floor: a guest did not answer in $WAIT s" >&2; exit 1
    fi
    read -r t_floor t_loop < "$work/floor.txt"
    each=$(tail -n +2 "$work/floor.txt" | awk '{print $2}' | tr '\n' ' ')
    [ "$n" -gt 12 ] && each="first $(echo "$each" | awk '{print $1}')s, median $(echo "$each" | tr ' ' '\n' | grep . | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')s"
    printf '%-4s %8ss %6ss %6ss %7ss %8ss %6ss %15s %15s %8s %8s   %s\n' "$n" "$t_oar" "$t_net" "$t_hosts" "$t_vms" \
        "$t_pipe" "$t_floor" \
        "$(ratio "$t_pipe" "$t_floor")" "$(ratio "$t_vms" "$t_floor")" "$rss" "$restarts" "${t_loop}s; $each"

    vm5k-vms -q --destroy -i "$work/deployed.json" | vm5k-oar -q --release > "$work/released.json"
    rm -f "$work/deployed.json"
    wait_job_end "$work/released.json"
done
