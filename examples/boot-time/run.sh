#!/usr/bin/env bash
# Boot time of VMs vs number of VMs per host, on the lab: reserve once, sweep the number of
# VMs per host over that one reservation, then a CSV and a PNG plot.
#
#   examples/boot-time/run.sh                      # 1, 2 and 4 VMs per host, 2 repetitions
#   PER_HOST=1,2 REPEAT=1 OUT=/tmp/bt examples/boot-time/run.sh
#
# Rerun it after a crash or Ctrl-C: the reservation (OUT/reserved.json) and the finished
# combinations (OUT/sweep) are kept, only what is missing runs. KEEP=1 keeps the job at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-boot-time-out}
per_host=${PER_HOST:-1,2,4}
repeat=${REPEAT:-2}
walltime=${WALLTIME:-1:00:00}
combination=${COMBINATION:-$here/combination.sh}
mkdir -p "$out"

# Reserve once, for the largest combination; every combination reuses this job.
if [ ! -s "$out/reserved.json" ]; then
    hosts=${HOSTS:-2}
    max=$(( hosts * $(tr , '\n' <<<"$per_host" | sort -n | tail -1) ))
    # shellcheck disable=SC2086  # TOPO_ARGS is a list of flags
    vm5k-topo -n "$max" --platform lab ${TOPO_ARGS:-} | vm5k-oar -w "$walltime" > "$out/reserved.json.part"
    mv "$out/reserved.json.part" "$out/reserved.json"
fi

# One combination = one run of combination.sh; -j 1: combinations share the hosts.
RESERVED=$(cd "$out" && pwd)/reserved.json \
    vm5k-sweep run "$out/sweep" -p "vms_per_host=$per_host" -p "iteration=$(seq -s, 1 "$repeat")" \
    -- "$combination" || echo "boot-time: some combinations failed, see: vm5k-sweep status $out/sweep" >&2

vm5k-sweep results "$out/sweep" --state done \
    --field 'vms=count(vms[])' --field 'ready=count(vms[].timings.ssh)' \
    --field 'boot_mean=mean(vms[].timings.ssh)' --field 'boot_max=max(vms[].timings.ssh)' \
    > "$out/boot-time.csv"
python3 "$here/plot.py" "$out/boot-time.csv" "$out/boot-time.png"

if [ -z "${KEEP:-}" ]; then
    vm5k-oar --release -i "$out/reserved.json" > "$out/released.json"
fi
echo "boot-time: $out/boot-time.csv $out/boot-time.png" >&2
