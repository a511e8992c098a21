#!/usr/bin/env bash
# A document of 100 000 VMs through every stage's dry run on the Grid'5000 snapshot:
# wall time, peak RSS and document size after each stage, against the input cap
# (vm5k_doc.io.MAX_INPUT_BYTES) and the 1 GB budget. 256 MB VMs, 20 vCPUs per core so
# that 100 000 fit on the snapshot's 673 nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
n=${1:-100000}
printf '%-6s %8s %8s %8s\n' stage wall_s rss_MB doc_MB
/usr/bin/time -f '%e %M' -o "$out/time" \
    vm5k-topo --platform g5k --dry-run -q -n "$n" -r grid5000 -t '{"mem": 256}' --cpu-ratio 20 -o "$out/topo.json"
prev=topo
report() { read -r w kb < "$out/time"; printf '%-6s %8s %8s %8s\n' "$1" "$w" $((kb / 1024)) $(( $(stat -c %s "$out/$1.json") / 1048576 )); }
report topo
for stage in oar net hosts vms; do
    # hosts are planned, not deployed, in a dry run: vms records every VM KO (host not ready)
    /usr/bin/time -f '%e %M' -o "$out/time" vm5k-$stage --dry-run -q -i "$out/$prev.json" -o "$out/$stage.json" 2>/dev/null || true
    report $stage
    prev=$stage
done
python -c "from vm5k_doc.io import MAX_INPUT_BYTES as m; print(f'input cap: {m // 2**20} MB; budget: 1024 MB RSS')"
