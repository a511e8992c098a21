"""Hosts into the reserved vlan (lab: vm5k-lab kavlan; Grid'5000: kadeploy3 --vlan names)."""
import json
import subprocess

import pytest
from vm5k_doc.errors import PlatformError
from vm5k_hosts import kavlan

LAB = {"hosts": [{"id": "host1.lab", "address": "10.77.0.11"},
                 {"id": "host2.lab", "address": "10.77.0.12", "vlan": 5, "vlan_address": "10.78.5.12"}]}


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


def test_record_keeps_the_default_address_and_restores_it():
    host = {"id": "host1.lab", "address": "10.77.0.11"}
    kavlan.record(host, 4, "10.78.4.11")
    kavlan.record(host, 4, "10.78.4.11")        # rerun: the default address is not lost
    assert host == {"id": "host1.lab", "address": "10.78.4.11", "vlan": 4, "default_address": "10.77.0.11"}
    kavlan.record(host, None, "10.77.0.11")
    assert host == {"id": "host1.lab", "address": "10.77.0.11"}


class FakeLab:
    def __init__(self, code=0):
        self.calls, self.code = [], code

    def __call__(self, argv, **_):
        self.calls.append(argv[1:])
        host, vlan = argv[2], argv[3]
        n = host[4]
        address = f"10.77.0.1{n}" if vlan == "DEFAULT" else f"10.78.{vlan}.1{n}"
        out = json.dumps({"host": host, "vlan": vlan, "address": address, "changed": True})
        return subprocess.CompletedProcess(argv, self.code, out, "Error: the lab is down")


def test_lab_apply_moves_only_the_hosts_not_there_yet():
    hosts = [{"id": "host1.lab", "address": "10.77.0.11"}, {"id": "host2.lab", "address": "10.77.0.12"}]
    fake = FakeLab()
    moved = kavlan.lab_apply(hosts, 5, LAB, run=fake)
    assert fake.calls == [["kavlan", "host1.lab", "5"]]
    assert list(moved) == ["host1.lab"] and "10.78.5.11" in moved["host1.lab"]
    assert [(h["address"], h["vlan"]) for h in hosts] == [("10.78.5.11", 5), ("10.78.5.12", 5)]


def test_lab_apply_default_moves_back_and_restores_addresses():
    hosts = [{"id": "host2.lab", "address": "10.78.5.12", "vlan": 5, "default_address": "10.77.0.12"}]
    fake = FakeLab()
    kavlan.lab_apply(hosts, None, LAB, run=fake)
    assert fake.calls == [["kavlan", "host2.lab", "DEFAULT"]]
    assert hosts == [{"id": "host2.lab", "address": "10.77.0.12"}]


def test_lab_apply_failure_is_a_platform_error():
    with pytest.raises(PlatformError, match="lab is down"):
        kavlan.lab_apply([{"id": "host1.lab"}], 4, LAB, run=FakeLab(code=1))
