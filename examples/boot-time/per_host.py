"""Keep the first K VMs of each reserved host: `per_host.py K < reserved.json > doc.json`.

The reservation was made for the largest combination; a smaller one uses part of it.
Editing the document between stages is allowed: a stage keeps what it does not own.
"""
import json
import sys


def main():
    k = int(sys.argv[1])
    doc = json.load(sys.stdin)
    hosts = [h["id"] for h in doc.get("hosts", [])]
    kept = {h: [] for h in hosts}
    for vm in doc.get("vms", []):
        if vm.get("host") in kept and len(kept[vm["host"]]) < k:
            kept[vm["host"]].append(vm)
    short = [h for h, vms in kept.items() if len(vms) < k]
    if not hosts or short:
        sys.exit(f"per_host.py: error: {short[0] if short else 'no host'} has fewer than {k} VMs: reserve for more")
    keep = {id(vm) for vms in kept.values() for vm in vms}
    doc["vms"] = [vm for vm in doc["vms"] if id(vm) in keep]  # the document's order: same addresses each time
    json.dump(doc, sys.stdout)


if __name__ == "__main__":
    main()
