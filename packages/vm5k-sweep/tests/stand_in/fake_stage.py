"""STAND-IN for the real vm5k stages (the real run is test_boot_time_lab.py, on the lab).

`fake_stage.py STAGE [args]` plays vm5k-lab (image), vm5k-topo, vm5k-oar, vm5k-net, vm5k-hosts or vm5k-vms
just enough for examples/boot-time: it reads/writes a plausible document and appends
"STAGE args" to $FAKE_LOG, so a test can count reservations, deployments and destroys.
Boot time grows with the VMs per host, like on a real host.
"""
import json
import os
import sys

stage, args = sys.argv[1], sys.argv[2:]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(" ".join([stage, *args]) + "\n")


def read():
    if "-i" in args:
        with open(args[args.index("-i") + 1]) as f:
            return json.load(f)
    return json.load(sys.stdin)


if stage == "vm5k-lab":  # `vm5k-lab image mini`: the image is "built"
    sys.exit(0)
if stage == "vm5k-topo":
    n = int(args[args.index("-n") + 1])
    doc = {"vm5k": {"version": 1, "platform": "lab", "stages": ["topo"]},
           "vms": [{"id": f"vm-{i}", "mem": 128, "n_cpu": 1, "hdd": 1} for i in range(1, n + 1)]}
elif stage == "vm5k-oar":
    doc = read()
    if "--release" in args:
        doc["reservation"]["jobs"][0]["state"] = "released"
    else:
        doc["reservation"] = {"jobs": [{"site": "lab", "id": 7, "state": "Running"}]}
        doc["hosts"] = [{"id": f"host{i}.lab"} for i in (1, 2)]
        for i, vm in enumerate(doc["vms"]):
            vm["host"] = f"host{i % 2 + 1}.lab"
elif stage == "vm5k-vms" and "--destroy" in args:
    doc = read()
    for vm in doc["vms"]:
        vm["state"] = "destroyed"
else:
    doc = read()
    doc["vm5k"]["stages"].append(stage.removeprefix("vm5k-"))
    if stage == "vm5k-vms":
        per_host = len(doc["vms"]) / len(doc["hosts"])
        for i, vm in enumerate(doc["vms"]):
            vm.update(state="ready", timings={"started": 0.5, "ssh": 2.5 + 0.75 * per_host + i / 100,
                                                  "ready": 2.0 + 0.75 * per_host + i / 100})
json.dump(doc, sys.stdout)
