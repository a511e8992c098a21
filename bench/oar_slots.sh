#!/usr/bin/env bash
# bench/oar_slots.sh - vm5k-oar's slot search (issue 5): 300 hosts, 2 000 random jobs over
# 14 days, 45 + 40 hosts wanted for 4 h; goal < 1 s. Runs the pytest benchmark (no lab,
# no OAR) and prints its figure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -m pytest -q -s -p no:cacheprovider \
    packages/vm5k-oar/tests/test_planning.py::test_bench_300_hosts_2000_jobs \
    | grep -E '^slot search|passed|failed'
