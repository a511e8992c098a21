"""Sizing against the real Grid'5000 reference snapshot."""
import math

import pytest
from vm5k_doc import reference
from vm5k_doc.errors import InputError, NoResources
from vm5k_doc.placement import place
from vm5k_topo import elements, sizing


@pytest.fixture(scope="module")
def ref():
    return reference.load()


def vms(n, mem=1024, n_cpu=1):
    return [{"id": f"vm-{i}", "mem": mem, "n_cpu": n_cpu} for i in range(1, n + 1)]


def expected_hosts(cluster, n, mem, n_cpu, ratio=3.0, unit="cores"):
    usable = cluster.mem_mb - min(max(cluster.mem_mb * 0.02, 256), 4096)
    per_node = min(usable // mem, (getattr(cluster, unit) * ratio) // n_cpu)
    return math.ceil(n / per_node)


@pytest.mark.parametrize("cluster, n, mem, n_cpu", [
    ("taurus", 100, 1024, 1),     # lyon, 12 cores / 24 threads, 32 GB: CPU-bound
    ("nova", 300, 4096, 1),       # lyon, 16 cores, 64 GB: RAM-bound
    ("gros", 50, 2048, 4),        # nancy, 18 cores, 96 GB
    ("paradoxe", 500, 512, 1),    # rennes, 52 cores, 384 GB
    ("dahu", 64, 8192, 2),        # grenoble, 32 cores, 192 GB
])
def test_hosts_per_cluster_follow_cores_and_ram(ref, cluster, n, mem, n_cpu):
    wanted, _, _ = sizing.size(vms(n, mem, n_cpu), elements.classify([{"element": cluster, "hosts": 0}], ref), ref)
    assert wanted == {cluster: expected_hosts(ref.clusters[cluster], n, mem, n_cpu)}


def test_threads_count_when_asked(ref):
    taurus = ref.clusters["taurus"]
    assert taurus.threads == 2 * taurus.cores
    spec = [{"element": "taurus", "hosts": 0}]
    by_core, _, _ = sizing.size(vms(100, 512), elements.classify(spec, ref), ref, cpu_ratio=1)
    by_thread, _, _ = sizing.size(vms(100, 512), elements.classify(spec, ref), ref, cpu_ratio=1, vcore="thread")
    assert by_core == {"taurus": math.ceil(100 / 12)} and by_thread == {"taurus": math.ceil(100 / 24)}


def test_sized_hosts_really_place_the_vms(ref):
    some = vms(100)
    wanted, _, _ = sizing.size(some, elements.classify([{"element": "lyon", "hosts": 0}], ref), ref)
    hosts = [ref.clusters[c].node_record(f"{c}-{i}") for c, n in wanted.items() for i in range(1, n + 1)]
    place(some, hosts)
    assert all(vm["host"] for vm in some)


def test_site_skips_clusters_without_virtualization(ref):
    lyon = {c.uid for c in sizing.candidates({"element": "lyon", "kind": "site"}, ref, set())}
    no_virt = {c.uid for c in ref.site_clusters("lyon") if not c.virtualizable}
    assert lyon and no_virt and not lyon & no_virt
    with pytest.raises(InputError, match="no hardware virtualization"):
        sizing.candidates({"element": sorted(no_virt)[0], "kind": "cluster"}, ref, set())


def test_blacklist_and_counts(ref):
    spec = elements.classify(elements.parse_resources("lyon"), ref)
    wanted, _, _ = sizing.size(vms(20), spec, ref, blacklist=["nova"])
    assert "nova" not in wanted
    wanted, _, _ = sizing.size(vms(10), elements.classify(elements.parse_resources("taurus:4"), ref), ref)
    assert wanted == {"taurus": 4}


def test_too_many_vms_says_how_many_fit(ref):
    with pytest.raises(NoResources, match=r"do not fit .*taurus holds at most 372"):
        sizing.size(vms(1000), elements.classify([{"element": "taurus", "hosts": 0}], ref), ref)
    with pytest.raises(NoResources, match="only 12 hosts"):
        sizing.size(vms(10), elements.classify([{"element": "taurus", "hosts": 50}], ref), ref)


def test_unknown_elements(ref):
    with pytest.raises(InputError, match="unknown site or cluster 'atlantis'"):
        elements.classify(elements.parse_resources("atlantis"), ref)
    with pytest.raises(InputError, match="not an integer"):
        elements.parse_resources("taurus:x")
    with pytest.raises(InputError, match="not a valid id"):
        elements.parse_resources("taurus;reboot")


def test_counted_sites_are_sized_on_what_oar_may_grant(ref):
    """-r lyon:2 names only the clusters the plan counted on, sized on the smallest of them."""
    spec = elements.classify(elements.parse_resources("lyon:2"), ref)
    wanted, _, pinned = sizing.size(vms(90), spec, ref)
    assert wanted == {"lyon": 2} and pinned["lyon"]
    smallest = min(ref.clusters[c].mem_mb for c in pinned["lyon"])
    assert all(not ref.clusters[c].exotic and ref.clusters[c].default_queue and ref.clusters[c].virtualizable
               for c in pinned["lyon"])
    assert smallest * 2 >= 90 * 1024
    wanted, _, pinned = sizing.size(vms(20), elements.classify(elements.parse_resources("grid5000:10"), ref), ref)
    assert wanted == {"grid5000": 10} and all(ref.clusters[c].default_queue for c in pinned["grid5000"])
