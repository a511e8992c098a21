# Sourced by the lab benchmarks (bench/lab.sh, deploy.sh, broadcast.sh), from the repo root.

LOCK=/run/vm5k-lab.lock

# Run the calling script again under the machine-wide lab lock, unless it already holds it:
# the lab is shared by every user and test run on this machine.
with_lab_lock() {
    if [ "${VM5K_LAB_LOCKED:-}" != 1 ]; then
        echo "bench/$(basename "$0"): waiting for the lab lock ($LOCK)..." >&2
        exec flock "$LOCK" env VM5K_LAB_LOCKED=1 bash "$0" "$@"
    fi
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# oardel is asynchronous: wait (30 s at most) until the job of a released document has
# ended, or the next round's reservation is planned after its walltime
wait_job_end() {
    local job
    job=$(jq -r '.reservation.jobs[0].id' "$1")
    for _ in $(seq 60); do
        oarstat -s -j "$job" 2>/dev/null | grep -qE 'Terminated|Error' && return 0
        sleep 0.5
    done
}
