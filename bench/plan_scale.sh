#!/usr/bin/env bash
# vm5k-topo on the Grid'5000 snapshot for 1 000, 10 000 and 100 000 VMs:
# wall time and peak RSS of each, and the 100k/10k ratios (linear growth = ~10).
# Goal: 10 000 VMs under 1 s and 150 MB. 256 MB VMs, 12 vCPUs per core so that 100 000 fit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
printf '%-8s %10s %10s %12s\n' VMs wall_s rss_MB doc_MB
declare -A wall rss
for n in 1000 10000 100000; do
    /usr/bin/time -f '%e %M' -o "$out/time" \
        vm5k-topo --platform g5k --dry-run -q -n "$n" -r grid5000 -t "<vm mem=\"256\"/>" --cpu-ratio 12 -o "$out/doc.json"
    read -r w kb < "$out/time"
    wall[$n]=$w; rss[$n]=$((kb / 1024))
    printf '%-8s %10s %10s %12s\n' "$n" "$w" "${rss[$n]}" "$(( $(stat -c %s "$out/doc.json") / 1048576 ))"
done
awk -v a="${wall[100000]}" -v b="${wall[10000]}" -v c="${rss[100000]}" -v d="${rss[10000]}" \
    'BEGIN { printf "ratio 100k/10k: wall %.1f, rss %.1f\n", a / b, c / d }'
