#!/usr/bin/env bash
# `make demo`: the main job. Until every stage runs on the lab, a dry run of the
# pipeline on the Grid'5000 reference snapshot, printing the planned VMs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p out
vm5k-topo --platform g5k --dry-run -n 20 -r lyon -w 1:00:00 > out/demo.json
echo "== planned: $(jq -c .reservation.wanted out/demo.json)" >&2
jq -r '.vms[] | [.id, .mem, .n_cpu, .hdd, (.host // "-"), .state] | @tsv' out/demo.json | column -t
