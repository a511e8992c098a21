#!/usr/bin/env bash
# Live-migration time vs dirty rate x bandwidth x co-located VMs, on the lab: reserve 2 hosts
# once, sweep, then OUT/migration.csv and OUT/migration.png (measured points, precopy model).
#
#   examples/migration/run.sh                        # the full sweep (see RATES, BANDWIDTHS...)
#   QUICK=1 OUT=/tmp/mig examples/migration/run.sh   # 4 dirty rates, 1 bandwidth, ~8 min
#
# Rerun it after a crash or Ctrl-C: the reservation (OUT/reserved.json) and the finished
# combinations (OUT/sweep) are kept, only what is missing runs. KEEP=1 keeps the job at the end.
# Exit status: 0 every combination measured; 3 some failed (the CSV and PNG have the others);
# anything else: no reservation, no CSV or no plot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-migration-out}
if [ -n "${QUICK:-}" ]; then
    rates=${RATES:-0,8,16,24}; bandwidths=${BANDWIDTHS:-32}; colocated=${COLOCATED:-0}; repeat=${REPEAT:-1}
else
    rates=${RATES:-0,4,8,12,16,20,24,28,32,40}; bandwidths=${BANDWIDTHS:-16,32}; colocated=${COLOCATED:-0,1}
    repeat=${REPEAT:-2}
fi
export WS_MB=${WS_MB:-64} MAX_S=${MAX_S:-120}
mem=${MEM:-256}
walltime=${WALLTIME:-2:00:00}
template="{\"mem\": $mem, \"hdd\": 1, \"backing_file\": \"mini\"}"
mkdir -p "$out"

# Reserve once: 2 hosts, 1 + the largest COLOCATED VMs (all placed on the first host).
if [ ! -s "$out/reserved.json" ]; then
    vm5k-lab image mini > /dev/null          # cached; /bin/dirty is in it
    n=$(( 1 + $(tr , '\n' <<<"$colocated" | sort -n | tail -1) ))
    vm5k-topo -n "$n" --platform lab -r lab:2 -t "$template" | vm5k-oar -w "$walltime" > "$out/reserved.json.part"
    mv "$out/reserved.json.part" "$out/reserved.json"
fi

rc=0
RESERVED=$(cd "$out" && pwd)/reserved.json \
    vm5k-sweep run "$out/sweep" -p "dirty_rate=$rates" -p "bandwidth=$bandwidths" -p "colocated=$colocated" \
    -p "iteration=$(seq -s, 1 "$repeat")" -- python3 "$here/combination.py" || rc=$?
[ "$rc" = 0 ] || echo "migration: some combinations failed (exit $rc), see: vm5k-sweep status $out/sweep" >&2

vm5k-sweep results "$out/sweep" --format jsonl --field migration=migration > "$out/results.jsonl" || rc=$?
python3 "$here/migration.py" table "$out/results.jsonl" "$out/migration.csv" "$WS_MB" || rc=$?
python3 "$here/migration.py" plot "$out/migration.csv" "$out/migration.png" "$WS_MB" || rc=$?

if [ -z "${KEEP:-}" ]; then
    vm5k-oar --release -i "$out/reserved.json" > "$out/released.json" || rc=$?
fi
echo "migration: $out/migration.csv $out/migration.png" >&2
exit "$rc"
