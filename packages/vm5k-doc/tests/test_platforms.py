"""The platform layer: one object per platform, the same questions, and the lab seen only
through `vm5k-lab` (its status JSON and `kavlan`), here with a stand-in for the command."""
import json
import subprocess

import pytest
from vm5k_doc import platforms
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.platforms.base import record_vlan
from vm5k_doc.platforms.lab import Lab

STATUS = {
    "state": "up",
    "hosts": [{"id": "host1.lab", "address": "10.77.0.11"},
              {"id": "host2.lab", "address": "10.77.0.12", "vlan": 5, "vlan_address": "10.78.5.12"}],
    "ssh": {"user": "root", "key": "/lab/ssh/id_ed25519"},
    "oar": {"state": "running", "user": "vm5k", "tz": "Europe/Paris",
            "command": ["runuser", "-u", "vm5k", "--", "env", "TZ=Europe/Paris"]},
    "virt": "qemu",
    "reference": "/lab/reference/lab.json",
    "network": {"dhcp": {"server": "10.77.0.1", "pid": 1, "leases": "/lab/net/dnsmasq.leases",
                         "hostsfile_dir": "/lab/net/dhcp-hosts.d", "addn_hosts_dir": "/lab/net/hosts.d"}},
}


class FakeLab:
    """`vm5k-lab kavlan HOST VLAN` as the lab answers it."""

    def __init__(self, code=0):
        self.calls, self.code = [], code

    def __call__(self, argv, **_):
        self.calls.append(argv[1:])
        if argv[1] == "status":
            return subprocess.CompletedProcess(argv, 0, json.dumps(STATUS), "")
        host, vlan = argv[2], argv[3]
        n = host[4]
        address = f"10.77.0.1{n}" if vlan == "DEFAULT" else f"10.78.{vlan}.1{n}"
        out = json.dumps({"host": host, "vlan": vlan, "address": address, "changed": True})
        return subprocess.CompletedProcess(argv, self.code, out, "Error: the lab is down")


def lab(run=None, **changes):
    return Lab(status={**STATUS, **changes}, run=run or FakeLab())


def test_one_object_per_platform_and_unknown_names_refused():
    assert platforms.get("g5k") is platforms.get("g5k")
    assert platforms.of({"vm5k": {"platform": "static"}}).name == "static"
    with pytest.raises(InputError, match="unknown"):
        platforms.get("openstack")


def test_defaults_differ_by_platform_not_by_stage():
    g5k, static = platforms.get("g5k"), platforms.get("static")
    assert (g5k.deploys, g5k.vlan_formulas, g5k.scheduler) == (True, True, True)
    assert (static.deploys, static.scheduler, static.site) == (False, False, "static")
    assert g5k.default_resources() == [{"element": "grid5000", "hosts": 0}]
    assert lab().default_resources() == [{"element": "lab", "hosts": 0}]
    assert (lab().default_backing_file, lab().default_mem) == ("mini", 128)
    assert g5k.vm_domain("lyon") == "lyon.grid5000.fr" and lab().vm_domain("lab") == "lab"
    assert g5k.ssh_key() is None and g5k.leases_path({}) is None and g5k.release_vlans({"hosts": []}) == []


def test_the_lab_answers_from_its_status():
    platform = lab()
    assert platform.ssh_key() == "/lab/ssh/id_ed25519" and platform.virt() == "qemu"
    assert platform.leases_path({"mode": "subnet"}) == "/lab/net/dnsmasq.leases"
    assert platform.leases_path({"mode": "kavlan", "service_dir": "/var/lib/vm5k-net/kavlan-4"}) == \
        "/var/lib/vm5k-net/kavlan-4/leases"
    settings = platform.oar_settings()
    assert settings["tz"] == "Europe/Paris" and settings["server_tz"] is None
    assert settings["wrap"](["oarstat", 3]) == ["runuser", "-u", "vm5k", "--", "env", "TZ=Europe/Paris", "oarstat", "3"]
    assert platform.oar_settings("alice")["wrap"](["oarstat"]) == ["runuser", "-u", "alice", "--", "oarstat"]


def test_a_lab_that_is_down_says_so():
    with pytest.raises(PlatformError, match="lab is down"):
        lab(state="down").ssh_key()
    assert not lab(state="down").running() and lab().running()


def test_lab_moves_only_the_hosts_not_there_yet():
    hosts = [{"id": "host1.lab", "address": "10.77.0.11"}, {"id": "host2.lab", "address": "10.77.0.12"}]
    fake = FakeLab()
    moved = Lab(status=STATUS, run=fake).move_hosts_to_vlan(hosts, 5)
    assert fake.calls[0] == ["kavlan", "host1.lab", "5"]
    assert list(moved) == ["host1.lab"] and "10.78.5.11" in moved["host1.lab"]
    assert [(h["address"], h["vlan"]) for h in hosts] == [("10.78.5.11", 5), ("10.78.5.12", 5)]


def test_lab_moves_back_and_restores_addresses():
    hosts = [{"id": "host2.lab", "address": "10.78.5.12", "vlan": 5, "default_address": "10.77.0.12"}]
    fake = FakeLab()
    Lab(status=STATUS, run=fake).move_hosts_to_vlan(hosts, None)
    assert fake.calls[0] == ["kavlan", "host2.lab", "DEFAULT"]
    assert hosts == [{"id": "host2.lab", "address": "10.77.0.12"}]


def test_lab_move_failure_is_a_platform_error():
    with pytest.raises(PlatformError, match="lab is down"):
        lab(run=FakeLab(code=1)).move_hosts_to_vlan([{"id": "host1.lab"}], 4)


def test_lab_release_puts_hosts_back_in_the_default_vlan():
    fake = FakeLab()
    doc = {"hosts": [{"id": "host1.lab", "address": "10.77.0.11"},
                     {"id": "host2.lab", "address": "10.78.4.12", "vlan": 4, "default_address": "10.77.0.12"}]}
    assert lab(run=fake).release_vlans(doc) == ["host2.lab"]
    assert fake.calls == [["kavlan", "host2.lab", "DEFAULT"]]
    assert doc["hosts"][1] == {"id": "host2.lab", "address": "10.77.0.12"}


def test_lab_release_failure_is_only_a_warning():
    doc = {"hosts": [{"id": "host2.lab", "address": "10.78.4.12", "vlan": 4}]}
    assert lab(run=FakeLab(code=1)).release_vlans(doc) == []
    assert doc["hosts"][0]["vlan"] == 4


def test_record_vlan_keeps_the_default_address_and_restores_it():
    host = {"id": "host1.lab", "address": "10.77.0.11"}
    record_vlan(host, 4, "10.78.4.11")
    record_vlan(host, 4, "10.78.4.11")        # rerun: the default address is not lost
    assert host == {"id": "host1.lab", "address": "10.78.4.11", "vlan": 4, "default_address": "10.77.0.11"}
    record_vlan(host, None, "10.77.0.11")
    assert host == {"id": "host1.lab", "address": "10.77.0.11"}


def test_topology_sites_name_the_platform():
    assert platforms.of_sites(["lab"]) == "lab" and platforms.of_sites(["lyon", "nancy"]) == "g5k"
