#!/usr/bin/env bash
# bench/seed_line.sh - the seed's line as typed, on a lab of HOSTS hosts, RUNS times in a row
# (issue 14):
#     vm5k-topo -n N | vm5k-oar -w 2:00:00 | vm5k-net | vm5k-hosts | vm5k-vms
# no other flag. Per run: exit status, VMs ready of N, wall clock, vm5k-vms' own time,
# restarts (and why), stderr lines of the whole pipe at default verbosity; then
# `vm5k-vms --destroy | vm5k-oar --release`.
# Holds the lab lock; brings the lab to HOSTS hosts (back down after, if it was down).
# Env: N (100), HOSTS (10), RUNS (3), DOCS (a directory: keep each run's document, deployed-RUN.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin"
N=${N:-100}
HOSTS=${HOSTS:-10}
RUNS=${RUNS:-3}
. bench/lib/lab.sh

with_lab_lock "$@"

work=$(mktemp -d /tmp/vm5k-bench-seed.XXXXXX)
was_up=1
cleanup() {
    if [ -s "$work/deployed.json" ]; then
        vm5k-vms -q --destroy -i "$work/deployed.json" | vm5k-oar -q --release >/dev/null || true
    fi
    if [ "$was_up" = 0 ]; then vm5k-lab -q down >/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

vm5k-lab -q status >/dev/null 2>&1 || was_up=0
vm5k-lab -q up --hosts "$HOSTS" >/dev/null
echo "lab: $HOSTS hosts, virt $(vm5k-lab -q status | jq -r .virt), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB"
echo "line: vm5k-topo -n $N | vm5k-oar -w 2:00:00 | vm5k-net | vm5k-hosts | vm5k-vms"
printf '%-4s %5s %9s %9s %9s %8s %13s   %s\n' run exit ready pipeline vm5k-vms restarts "stderr lines" "why restarted"
for run in $(seq "$RUNS"); do
    t0=$(now)
    status=0
    { vm5k-topo -n "$N" | vm5k-oar -w 2:00:00 | vm5k-net | vm5k-hosts | vm5k-vms \
        > "$work/deployed.json"; } 2> "$work/stderr" || status=$?   # every stage's stderr
    t1=$(now)
    ready=$(jq '[.vms[] | select(.state == "ready")] | length' "$work/deployed.json")
    vms_s=$(jq '[.events[] | select(.stage == "vms")][-1].seconds | floor' "$work/deployed.json")
    restarts=$(jq '[.vms[].timings.restarted // empty] | length' "$work/deployed.json")
    printf '%-4s %5s %9s %8ss %8ss %8s %13s   %s\n' "$run" "$status" "$ready/$N" "$(secs "$t0" "$t1")" "$vms_s" \
        "$restarts" "$(wc -l < "$work/stderr")" \
        "$(jq -r '[.vms[] | select(.timings.restarted) | .id] | join(" ")' "$work/deployed.json")"
    if [ -n "${DOCS:-}" ]; then mkdir -p "$DOCS" && cp "$work/deployed.json" "$DOCS/deployed-$run.json"; fi
    if [ "$run" = 1 ]; then sed 's/^/    | /' "$work/stderr"; fi
    if [ "$status" != 0 ]; then
        jq -c '.vms[] | select(.state != "ready") | {id, host, error}' "$work/deployed.json" | head -5 >&2
    fi
    vm5k-vms -q --destroy -i "$work/deployed.json" | vm5k-oar -q --release > "$work/released.json"
    rm -f "$work/deployed.json"
    wait_job_end "$work/released.json"
done
