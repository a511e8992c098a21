#!/usr/bin/env bash
# `make demo`: the main job. Brings the lab up (if it is down), deploys 6 busybox VMs
# on its 3 hosts through the whole pipeline, prints them, then cleans up everything it
# started: VMs, the OAR job, and the lab itself if the demo brought it up.
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
cleanup() {
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
first_ip=$(jq -r '[.vms[] | select(.state == "ready")][0].ip // empty' out/deployed.json)
if [ -n "$first_ip" ]; then
    key=$(vm5k-lab status | jq -r .ssh.key)
    echo "== ssh root@$first_ip uname -a" >&2
    ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        "root@$first_ip" uname -a
fi
exit $status
