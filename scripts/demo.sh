#!/usr/bin/env bash
# `make demo`: the main job. Brings the lab up (if it is down), deploys 6 busybox VMs
# on its 3 hosts through the whole pipeline, prints them, then cleans up everything it
# started: VMs, the OAR job, and the lab itself if the demo brought it up.
# `make demo KEEP=1` leaves it all running and says how to ssh in and how to tear down.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p out
exec 9>/run/vm5k-lab.lock
flock 9                              # one user of the lab at a time (tests take it too)
export VM5K_LAB_LOCKED=1

started=0
if ! vm5k-lab status >/dev/null 2>&1; then
    vm5k-lab up --hosts 3 >/dev/null
    started=1
fi
KEEP=${KEEP:-0}
cleanup() {
    if [ "$KEEP" = 1 ]; then
        cat >&2 <<'TXT'
== left running (KEEP=1). Log in:   .venv/bin/vm5k-lab ssh vm-1
   Tear down:  .venv/bin/vm5k-vms --destroy -i out/deployed.json | .venv/bin/vm5k-oar --release > out/released.json
               .venv/bin/vm5k-lab down
TXT
        return
    fi
    [ -s out/deployed.json ] && vm5k-vms -q --destroy -i out/deployed.json | vm5k-oar -q --release > out/released.json || true
    [ $started = 1 ] && vm5k-lab down >/dev/null || true
}
trap cleanup EXIT
vm5k-lab image mini >/dev/null

echo "== vm5k-topo | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms  (6 VMs, 3 lab hosts)" >&2
status=0
vm5k-topo --platform lab -n 6 -r lab:3 -t '{"mem": 128, "hdd": 1, "backing_file": "mini"}' -w 0:30:00 \
    | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms --events out/events.ndjson > out/deployed.json || status=$?

echo "== deployed VMs (out/deployed.json), exit status $status" >&2
jq -r '["VM", "HOST", "IP", "MAC", "STATE", "BOOT_S"],
       (.vms[] | [.id, .host, .ip, .mac, .state, (.timings.ready // "-")]) | @tsv' out/deployed.json | column -t
first=$(jq -r '[.vms[] | select(.state == "ready")][0].id // empty' out/deployed.json)
if [ -n "$first" ]; then
    echo "== vm5k-lab ssh $first uname -a   (by name, through the lab DNS)" >&2
    vm5k-lab ssh "$first" uname -a
fi
exit $status
