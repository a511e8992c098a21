"""Slot search: first window where every count is free; the best one when none is."""
import random
import time

from vm5k_oar import oar_text
from vm5k_oar.planning import Block, Busy, PlanHost, Planning, Wanted, find_slot

H = 3600


def planning(busy_by_host, blocks=(), start=0, end=48 * H):
    p = Planning(start=start, end=end)
    p.hosts = [PlanHost(f"{c}-{i}.s.grid5000.fr", "s", c, Busy.of(b)) for (c, i), b in busy_by_host.items()]
    p.blocks = [Block("s", name, kind, Busy.of(b)) for name, kind, b in blocks]
    return p.sort()


def test_first_window_after_busy_hosts():
    p = planning({("a", 1): [(0, 2 * H)], ("a", 2): [(0, 5 * H)], ("a", 3): []})
    slot, _ = find_slot(p, Wanted({"a": ("cluster", 2)}), H, margin=0)
    assert slot.start == 0 and slot.hosts == {"s": {"a": ["a-3.s.grid5000.fr", "a-1.s.grid5000.fr"]}} or slot.start == 2 * H
    slot, _ = find_slot(p, Wanted({"a": ("cluster", 3)}), H, margin=120)
    assert slot.start == 5 * H + 120
    assert slot.fits and len(slot.hosts["s"]["a"]) == 3


def test_window_must_hold_for_the_whole_walltime():
    # a-1 free now for 1 h only, then busy 1 h..3 h: a 2 h job must wait until 3 h
    p = planning({("a", 1): [(H, 3 * H)]})
    slot, _ = find_slot(p, Wanted({"a": ("cluster", 1)}), 2 * H, margin=0)
    assert slot.start == 3 * H


def test_subnets_and_vlan_counted():
    p = planning({("a", 1): []}, blocks=[("10.0.4.0", "slash_22", [(0, 4 * H)]), ("4", "kavlan", [(0, 6 * H)])])
    wanted = Wanted({"a": ("cluster", 1)}, slash_22={"s": 1})
    slot, _ = find_slot(p, wanted, H, margin=0)
    assert slot.start == 4 * H and slot.slash_22 == {"s": 1}
    slot, _ = find_slot(p, Wanted({"a": ("cluster", 1)}, kavlan=True), H, margin=0)
    assert slot.start == 6 * H and slot.vlan == {"s": "kavlan"}


def test_blacklist_and_site_and_zero_means_all():
    p = planning({("a", 1): [], ("a", 2): [], ("b", 1): []})
    slot, _ = find_slot(p, Wanted({"s": ("site", 0)}, blacklist={"a-2"}), H)
    assert sorted(slot.hosts["s"]["s"]) == ["a-1.s.grid5000.fr", "b-1.s.grid5000.fr"]
    slot, _ = find_slot(p, Wanted({"a": ("cluster", 1), "s": ("site", 2)}), H)
    assert slot.fits and sum(len(v) for v in slot.hosts["s"].values()) == 3


def test_no_slot_gives_the_best_one():
    p = planning({("a", 1): [], ("a", 2): [(0, 100 * H)]}, end=10 * H)
    slot, best = find_slot(p, Wanted({"a": ("cluster", 2)}), H)
    assert slot is None and best.score == 0.5 and best.hosts == {"s": {"a": ["a-1.s.grid5000.fr"]}}


def test_recorded_gantt_next_window(recorded):
    """On the recorded lab gantt (host1 reserved later, host2 busy now), 3 hosts for 5 min
    fit only after both jobs end."""
    stdout, _ = recorded("oarstat-gantt-J")
    start = 1795551442 + 60  # while job 6 runs on host2, before reservation 5 on host1
    p = oar_text.parse_gantt(oar_text.loads(stdout, "gantt"), "lab", start, start + 7200)
    slot, _ = find_slot(p, Wanted({"lab": ("cluster", 3)}), 300, margin=5)
    assert slot.start == 1795551852 + 5
    slot, _ = find_slot(p, Wanted({"lab": ("cluster", 1)}), 300, margin=5)
    assert slot.start == start and slot.hosts["lab"]["lab"] == ["host3.lab"]
    slot, _ = find_slot(p, Wanted({"lab": ("cluster", 2)}), 300, margin=5)
    assert slot.start == 1795551742 + 5  # host2 free again; host1's reservation starts later
    assert slot.hosts["lab"]["lab"] == ["host2.lab", "host3.lab"]


def test_bench_300_hosts_2000_jobs():
    """Goal of issue 5: < 1 s for 300 hosts and 2 000 jobs."""
    rng = random.Random(1)
    busy = {}
    for _job in range(2000):
        begin = rng.randrange(0, 14 * 24 * H)
        for i in rng.sample(range(300), rng.randint(1, 8)):
            busy.setdefault((f"c{i % 6}", i), []).append((begin, begin + rng.randrange(H, 12 * H)))
    p = planning(busy, end=28 * 24 * H)
    t0 = time.perf_counter()
    slot, best = find_slot(p, Wanted({"c1": ("cluster", 45), "c2": ("cluster", 40)}), 4 * H)
    elapsed = time.perf_counter() - t0
    print(f"slot search, 300 hosts, 2000 jobs: {elapsed:.3f} s, slot at +{(slot or best).start / H:.1f} h")
    assert elapsed < 1.0
