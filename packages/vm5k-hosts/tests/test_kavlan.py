"""Hosts into the reserved vlan (Grid'5000: kadeploy3 --vlan names; the lab's moves are
tested with the platform layer, vm5k-doc tests/test_platforms.py)."""
from vm5k_hosts import kavlan


def doc(vlan=5, kavlan_asked=True, mode=None):
    d = {"reservation": {"vlan": vlan}, "request": {"kavlan": kavlan_asked}}
    if mode:
        d["network"] = {"mode": mode}
    return d


def test_wanted_vlan_only_when_kavlan_was_asked():
    assert kavlan.wanted_vlan(doc()) == 5
    assert kavlan.wanted_vlan(doc(kavlan_asked=False)) is None
    assert kavlan.wanted_vlan(doc(kavlan_asked=False, mode="kavlan")) == 5
    assert kavlan.wanted_vlan(doc(vlan=None)) is None
    assert kavlan.wanted_vlan({}) is None


def test_g5k_vlan_name():
    assert kavlan.g5k_vlan_name("nova-1.lyon.grid5000.fr", 4) == "nova-1-kavlan-4.lyon.grid5000.fr"
