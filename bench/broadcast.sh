#!/usr/bin/env bash
# bench/broadcast.sh - image broadcast (issue 7): a 200 MB file to every lab host by a plain
# sequential scp loop, execo Put (parallel scp) and ChainPut (host-to-host chain), best of 3,
# checksums verified; prints seconds and ratios to the scp loop. vm5k-hosts' `--broadcast
# auto` takes Put below 5 hosts and ChainPut from 5 on these figures.
# NEEDS THE LAB UP: it does not bring it up. When `vm5k-lab status` exits non-zero it says so
# and exits 0. Holds the machine-wide lab lock while it runs (the lab is shared).
# Env: MB (200).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LAB=${LAB:-.venv/bin/vm5k-lab}
MB=${MB:-200}
. bench/lib/lab.sh

lab_up() { "$LAB" status >/dev/null 2>&1; }
skip() { echo "bench/broadcast.sh: the lab is not up (vm5k-lab up): skipped"; exit 0; }

lab_up || skip   # before waiting for the lock: a lab that is down is no reason to wait
with_lab_lock "$@"
lab_up || skip   # the lock holder may have taken it down
"$PY" packages/vm5k-hosts/bench/broadcast.py "$MB"
