"""Failed hosts: KO with the step and the error; their VMs re-placed on the hosts left."""
from vm5k_doc.errors import NoResources
from vm5k_doc.placement import place

OUTPUT_MAX = 2000


def mark_ko(host, step, message, output=""):
    host["state"] = "KO"
    host["error"] = {"step": step, "message": message}
    if output:
        host["error"]["output"] = output[-OUTPUT_MAX:]


def replace_vms(doc, usable_ids):
    """Move the VMs of hosts that are not usable onto the usable ones, with the request's
    distribution; a VM that fits nowhere gets host None and an error. Returns
    (moved, not_placed) VM ids."""
    request = doc.get("request") or {}
    distribution = request.get("distribution", "round-robin")
    if distribution == "explicit":   # the user chose hosts: spread the orphans evenly
        distribution = "round-robin"
    options = {"seed": request.get("seed", 0), "vcore": request.get("vcore", "core")}
    if request.get("cpu_ratio"):
        options["cpu_ratio"] = request["cpu_ratio"]
    hosts = [h for h in doc.get("hosts", []) if h["id"] in usable_ids]
    vms = doc.get("vms", [])
    orphans = [vm for vm in vms if vm.get("host") is not None and vm.get("host") not in usable_ids]
    if not orphans:
        return [], []
    kept = [vm for vm in vms if vm.get("host") in usable_ids]
    for vm in orphans:
        vm["x-was-on"] = vm["host"]
        vm["host"] = None
    not_placed = []
    try:
        place(kept + orphans, hosts, distribution, **options)
    except NoResources:
        # not all fit: place them one by one, as many as fit, in order
        for vm in orphans:
            try:
                place(kept + [vm], hosts, distribution, **options)
                kept.append(vm)
            except NoResources:
                vm["host"] = None
                not_placed.append(vm)
    for vm in orphans:
        was = vm.pop("x-was-on")
        if vm in not_placed:
            vm["error"] = {"step": "hosts", "message": f"host {was} is KO and no other host has room"}
    moved = [vm["id"] for vm in orphans if vm not in not_placed]
    return moved, [vm["id"] for vm in not_placed]
