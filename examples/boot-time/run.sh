#!/usr/bin/env bash
# Boot time of VMs vs number of VMs per host, on the lab: reserve once, sweep the number of
# VMs per host over that one reservation, then a CSV and a PNG plot.
#
#   examples/boot-time/run.sh                      # 1, 2 and 4 VMs per host, 2 repetitions
#   PER_HOST=1,2 REPEAT=1 OUT=/tmp/bt examples/boot-time/run.sh
#
# Rerun it after a crash or Ctrl-C: the reservation (OUT/reserved.json) and the finished
# combinations (OUT/sweep) are kept, only what is missing runs. KEEP=1 keeps the job at the end.
# Exit status: 0 every combination done; 3 some failed (the CSV and PNG have the others);
# anything else: no reservation, no CSV or no plot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-boot-time-out}
per_host=${PER_HOST:-1,2,4}
repeat=${REPEAT:-2}
hosts=${HOSTS:-2}
walltime=${WALLTIME:-1:00:00}
image=${IMAGE:-mini}
template=${TEMPLATE:-"{\"mem\": 128, \"hdd\": 1, \"backing_file\": \"$image\"}"}
combination=${COMBINATION:-$here/combination.sh}
mkdir -p "$out"

# Reserve once, for the largest combination (HOSTS hosts x the largest PER_HOST VMs);
# every combination reuses this job.
if [ ! -s "$out/reserved.json" ]; then
    vm5k-lab image "$image" > /dev/null      # built once, cached: vm5k-hosts copies it to the hosts
    max=$(( hosts * $(tr , '\n' <<<"$per_host" | sort -n | tail -1) ))
    # shellcheck disable=SC2086  # TOPO_ARGS is a list of flags
    vm5k-topo -n "$max" --platform lab -r "lab:$hosts" -t "$template" ${TOPO_ARGS:-} \
        | vm5k-oar -w "$walltime" > "$out/reserved.json.part"
    mv "$out/reserved.json.part" "$out/reserved.json"
fi

# One combination = one run of combination.sh; -j 1: combinations share the hosts.
rc=0
RESERVED=$(cd "$out" && pwd)/reserved.json \
    vm5k-sweep run "$out/sweep" -p "vms_per_host=$per_host" -p "iteration=$(seq -s, 1 "$repeat")" \
    -- "$combination" || rc=$?
[ "$rc" = 0 ] || echo "boot-time: some combinations failed (exit $rc), see: vm5k-sweep status $out/sweep" >&2

# Boot time of a VM = timings.ready, from its (re)start to SSH (vm5k-vms); timings.ssh
# would count from the start of the stage, so the VMs created before it too.
vm5k-sweep results "$out/sweep" --state done \
    --field 'vms=count(vms[])' --field 'ready=count(vms[].timings.ready)' \
    --field 'boot_mean=mean(vms[].timings.ready)' --field 'boot_max=max(vms[].timings.ready)' \
    > "$out/boot-time.csv" || rc=$?
python3 "$here/plot.py" "$out/boot-time.csv" "$out/boot-time.png" || rc=$?

if [ -z "${KEEP:-}" ]; then
    vm5k-oar --release -i "$out/reserved.json" > "$out/released.json" || rc=$?
fi
echo "boot-time: $out/boot-time.csv $out/boot-time.png" >&2
exit "$rc"
