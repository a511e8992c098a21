#!/usr/bin/env bash
# `make test`: every pytest suite (unit and lab end-to-end) in one run, so the lab
# is brought up once, then the bats pipeline tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
python -m pytest packages tests
rc=$?
[ $rc -eq 5 ] && { echo "test: pytest collected no tests" >&2; rc=1; }
[ $rc -ne 0 ] && exit $rc
shopt -s nullglob
suites=(tests/*.bats packages/*/tests/*.bats)
if [ ${#suites[@]} -gt 0 ]; then
    bats "${suites[@]}" || exit $?
fi
