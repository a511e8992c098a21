"""KO hosts and re-placement of their VMs."""
from vm5k_hosts import failures


def doc(n_vms=6, mem=1024):
    hosts = [{"id": f"h{i}", "cores": 2, "mem_mb": 4096, "state": "ready"} for i in range(1, 4)]
    vms = [{"id": f"vm-{i}", "mem": mem, "n_cpu": 1, "hdd": 1, "host": f"h{i % 3 + 1}"}
           for i in range(n_vms)]
    return {"request": {"distribution": "round-robin"}, "hosts": hosts, "vms": vms}


def test_mark_ko_keeps_step_and_tail():
    host = {"id": "h1", "state": "reserved"}
    failures.mark_ko(host, "prepare", "exit 100: E: broken", "x" * 5000)
    assert host["state"] == "KO"
    assert host["error"]["step"] == "prepare" and len(host["error"]["output"]) == failures.OUTPUT_MAX


def test_vms_of_ko_host_move_to_the_others():
    d = doc()
    lost = [vm["id"] for vm in d["vms"] if vm["host"] == "h2"]
    moved, not_placed = failures.replace_vms(d, {"h1", "h3"})
    assert sorted(moved) == sorted(lost) and not_placed == []
    assert all(vm["host"] in ("h1", "h3") for vm in d["vms"])
    assert "x-was-on" not in str(d)


def test_vms_that_fit_nowhere_are_reported():
    d = doc(n_vms=6, mem=1800)      # 3740 MB usable per host: two 1800 MB VMs each
    moved, not_placed = failures.replace_vms(d, {"h1"})
    assert len(moved) == 0 and len(not_placed) == 4
    for vm in d["vms"]:
        if vm["id"] in not_placed:
            assert vm["host"] is None and "KO" in vm["error"]["message"]


def test_nothing_to_move():
    d = doc()
    assert failures.replace_vms(d, {"h1", "h2", "h3"}) == ([], [])
