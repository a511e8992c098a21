import pytest
from vm5k_doc.errors import InputError, NoResources
from vm5k_doc.placement import host_reserve_mb, max_vms, place


def hosts(n, mem_mb=4096, cores=2):
    return [{"id": f"h{i}", "mem_mb": mem_mb, "cores": cores, "threads": cores * 2} for i in range(1, n + 1)]


def vms(n, mem=512, n_cpu=1):
    return [{"id": f"vm-{i}", "mem": mem, "n_cpu": n_cpu} for i in range(1, n + 1)]


def hosts_of(placed):
    return [vm["host"] for vm in placed]


def test_round_robin_cycles():
    assert hosts_of(place(vms(5), hosts(3))) == ["h1", "h2", "h3", "h1", "h2"]


def test_concentrated_fills_one_host_first():
    # 4096 MB - 256 MB reserve = 3840 MB: 7 VMs of 512 MB, but 2 cores x 3 = 6 vCPUs
    assert hosts_of(place(vms(8), hosts(3), "concentrated")) == ["h1"] * 6 + ["h2"] * 2


def test_n_by_hosts_never_drops_a_vm():
    placed = place(vms(7), hosts(3), "n_by_hosts")
    assert len(placed) == 7
    assert hosts_of(placed) == ["h1", "h1", "h1", "h2", "h2", "h3", "h3"]


def test_random_is_reproducible_with_a_seed():
    first = hosts_of(place(vms(10), hosts(3), "random", seed=7))
    again = hosts_of(place(vms(10), hosts(3), "random", seed=7))
    other = hosts_of(place(vms(10), hosts(3), "random", seed=8))
    assert first == again and first != other


def test_not_enough_capacity_says_how_many_fit():
    with pytest.raises(NoResources, match="18 of 20 VMs fit on 3 hosts"):
        place(vms(20), hosts(3))  # 6 per host by vCPUs


def test_ram_limit_and_reserve():
    assert host_reserve_mb(4096) == 256 and host_reserve_mb(512 * 1024) == 4096
    assert max_vms({"mem_mb": 4096, "cores": 64}, {"mem": 1024, "n_cpu": 1}) == 3
    with pytest.raises(NoResources, match="3 of 4 VMs fit on 1 hosts"):
        place(vms(4, mem=1024), [{"id": "h", "mem_mb": 4096, "cores": 64}], "concentrated")


def test_cpu_ratio_and_threads():
    assert max_vms(hosts(1)[0], {"mem": 16, "n_cpu": 1}, cpu_ratio=1) == 2
    assert max_vms(hosts(1)[0], {"mem": 16, "n_cpu": 1}, cpu_ratio=1, vcore="thread") == 4


def test_placed_vms_stay_and_count():
    some = vms(4)
    some[0]["host"] = "h3"
    assert hosts_of(place(some, hosts(3))) == ["h3", "h1", "h2", "h3"]


def test_unknown_distribution_and_no_host():
    with pytest.raises(InputError, match="not one of"):
        place(vms(1), hosts(1), "spiral")
    with pytest.raises(NoResources, match="no host"):
        place(vms(1), [])
