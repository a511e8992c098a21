#!/usr/bin/env bash
# vm5k-net at scale: 10 000 and 100 000 VMs on a Grid'5000 dry-run document (lyon,
# planned /22 subnets, then --kavlan on a routed vlan); wall time and peak RSS of the
# whole command (read + validate + plan + check + write); cpu_s = user + sys, steadier than
# wall time on a loaded machine. Goal: 10 000 VMs under 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
NET=${NET:-.venv/bin/vm5k-net}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

make_doc() {  # N_VMS MODE(subnet|kavlan) > doc
    "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
n, mode = int(sys.argv[1]), sys.argv[2]
from vm5k_doc.reference import snapshot_path
hosts = [{"id": f"nova-{i}.lyon.grid5000.fr", "site": "lyon", "cluster": "nova", "cores": 16,
          "mem_mb": 65536, "state": "planned"} for i in range(1, 1 + max(1, n // 50))]
vms = [{"id": f"vm-{i}", "mem": 512, "n_cpu": 1, "hdd": 10, "state": "placed",
        "host": hosts[i % len(hosts)]["id"]} for i in range(1, n + 1)]
doc = {"vm5k": {"version": 1, "platform": "g5k", "stages": ["topo", "oar"], "reference": snapshot_path(),
                "dry_run": True},
       "reservation": {"jobs": [{"site": "lyon", "id": None}], "subnets": [],
                       "vlan": 4 if mode == "kavlan" else None},
       "hosts": hosts, "vms": vms, "events": []}
json.dump(doc, sys.stdout)
PYEOF
}

printf '%-8s %-7s %8s %8s %10s %s\n' mode vms wall_s cpu_s peak_MB addresses
for mode in subnet kavlan; do
    for n in 10000 100000; do
        if [ "$mode" = kavlan ] && [ "$n" -gt 16000 ]; then continue; fi  # a /18 holds ~16 000
        make_doc "$n" "$mode" > "$TMP/in.json"
        flag=(); [ "$mode" = kavlan ] && flag=(--kavlan)
        /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" "$NET" -q --dry-run "${flag[@]}" -i "$TMP/in.json" -o "$TMP/out.json"
        read -r wall user sys rss < "$TMP/time"
        got=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len({v["ip"] for v in d["vms"]}))' "$TMP/out.json")
        cpu=$(echo "$user + $sys" | bc)
        printf '%-8s %-7s %8s %8s %10.0f %s\n' "$mode" "$n" "$wall" "$cpu" "$((rss / 1024))" "$got"
    done
done
