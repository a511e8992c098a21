"""Pure logic of the lab: address plan, generated configs, reference documents."""

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from vm5k_doc.reference import snapshot_path
from vm5k_doc.schema import lab_status_problem
from vm5k_lab import cli, guests, hosts, images, network, plan, reference
from vm5k_lab import lab as labmod
from vm5k_lab.state import LabError

G5K = Path(snapshot_path())  # the Grid'5000 snapshot vm5k ships: the lab copies its shape


def test_host_plan():
    assert plan.host_address(1) == "10.77.0.11"
    assert plan.host_fqdn(3) == "host3.lab"
    for x in ("host2", "host2.lab", "10.77.0.12"):
        assert plan.host_number(x) == 2
    for bad in ("host0", "hostx", "10.77.1.12", "node-1", "10.77.0.10"):
        with pytest.raises(ValueError):
            plan.host_number(bad)
    assert all(len(i) <= 15 for n in (1, 80) for i in plan.host_veth(n))


def test_subnets_are_disjoint_slash22_in_site_net_outside_infra():
    nets = [ipaddress.ip_network(s) for s in plan.subnets()]
    assert nets[0] == ipaddress.ip_network("10.77.4.0/22")
    assert len(nets) == plan.N_SUBNETS
    for i, a in enumerate(nets):
        assert a.prefixlen == 22 and a.subnet_of(plan.SITE_NET)
        assert not a.overlaps(plan.INFRA_NET)
        assert all(not a.overlaps(b) for b in nets[i + 1:])
    assert ipaddress.ip_address(plan.VIRT_GATEWAY) in plan.SITE_NET


def test_vlans():
    vs = plan.vlans()
    assert [v["id"] for v in vs] == list(plan.VLAN_IDS)
    for v in vs:
        net = ipaddress.ip_network(v["network"])
        assert net.subnet_of(plan.KAVLAN_RANGE) and not net.overlaps(plan.SITE_NET)
        assert ipaddress.ip_address(v["gateway"]) in net
        assert len(v["bridge"]) <= 15


def test_g5k_mac_rule():
    assert plan.g5k_mac("10.77.4.1") == "00:16:3e:4d:04:01"


def test_dnsmasq_conf(tmp_path):
    c = network.dnsmasq_conf(2, tmp_path)
    lines = c.splitlines()
    assert "interface=labbr0" in lines and "bind-interfaces" in lines
    assert f"dhcp-hostsfile={tmp_path / 'dhcp-hosts.d'}" in lines
    assert f"addn-hosts={tmp_path / 'hosts.d'}" in lines
    assert "dhcp-range=10.77.0.0,static,255.255.0.0,12h" in lines
    assert "host-record=host2.lab,10.77.0.12" in lines
    assert not any(ln.startswith("host-record=host3") for ln in lines)
    assert f"pid-file={tmp_path / 'dnsmasq.pid'}" in lines


def test_sshd_config(tmp_path):
    c = hosts.sshd_config(2, tmp_path, tmp_path / "ak")
    assert "ListenAddress 0.0.0.0" in c
    assert f"PidFile {tmp_path / 'sshd.pid'}" in c
    assert "StrictModes no" in c and "UsePAM no" in c and "PasswordAuthentication no" in c


def test_etc_hosts():
    t = hosts.etc_hosts(2, 3)
    assert "10.77.0.12\thost2.lab host2" in t
    assert "host3.lab" in t and t.count("host2.lab") == 1


def _keys_deep(d, prefix=""):
    out = set()
    if isinstance(d, dict):
        for k, v in d.items():
            out.add(prefix + k)
            if isinstance(v, dict) and k not in ("kavlans", "vlans", "kavlan"):
                out |= _keys_deep(v, prefix + k + ".")
    return out


@pytest.mark.skipif(not (G5K / "lyon.json").exists(), reason="no g5k-reference")
def test_reference_has_lyon_layout():
    lyon = json.loads((G5K / "lyon.json").read_text())
    lab = reference.site_doc(3, 2, 4096, "qemu", now="2026-01-01T00:00:00Z")
    assert set(lab) == set(lyon)
    assert set(lab["site"]) == set(lyon["site"])
    assert set(lab["clusters"][0]) == set(lyon["clusters"][0])
    ln = lyon["nodes"][0]
    for node in lab["nodes"]:
        assert set(node) == set(ln)
        for k in ("architecture", "main_memory", "supported_job_types", "main_interface", "processor"):
            assert set(node[k]) >= set(ln[k]) - {"platform_type"}, k
    n1 = lab["nodes"][0]
    assert n1["uid"] == "host1" and n1["network_address"] == "host1.lab"
    assert n1["site"] == "lab" and n1["cluster"] == "lab"
    assert n1["architecture"]["nb_cores"] == 2 and n1["main_memory"]["ram_size"] == 4096 * 2 ** 20
    assert n1["supported_job_types"]["virtual"] == "tcg"
    assert lab["site"]["uid"] == "lab" and lab["clusters"][0]["uid"] == "lab"
    assert lab["site"]["g5ksubnet"]["network"] == "10.77.0.0/16"
    eq = lab["kavlan_network_equipment"][0]["vlans"]
    assert eq["vlan704"] == {"addresses": ["10.78.4.0/24"], "name": "kavlan-4"}
    assert n1["kavlan"]["eth0"]["kavlan-4"] == "10.78.4.11"


@pytest.mark.skipif(not (G5K / "kavlan-and-subnets.json").exists(), reason="no g5k-reference")
def test_kavlan_doc_has_g5k_shape():
    g = json.loads((G5K / "kavlan-and-subnets.json").read_text())
    k = reference.kavlan_doc()
    assert set(g) <= set(k)
    assert list(k["sites"]) == ["lab"]
    assert set(k["sites"]["lab"]) == set(g["sites"]["lyon"])
    assert k["lab_resources"]["subnets"] == plan.subnets()


def test_module_load_order():
    deps = {"virtio": ["virtio_ring"], "virtio_ring": [], "virtio_net": ["virtio_ring", "virtio", "net_failover"],
            "net_failover": ["failover"], "failover": []}
    order = images.load_order(deps)
    for m, ds in deps.items():
        for d in ds:
            assert order.index(d) < order.index(m)
    ko = b"\x7fELF...\0license=GPL\0depends=virtio_ring,net-failover\0name=x\0"
    assert images.module_depends(ko) == ["virtio_ring", "net_failover"]


def test_cmdline():
    c = images.cmdline("mini", "vm1", "ssh-ed25519 AAAAB3xyz comment")
    assert c == "console=ttyS0 quiet vmlab.hostname=vm1 vmlab.sshkey=ssh-ed25519,AAAAB3xyz"
    assert images.cmdline("debian", "vm1", None).startswith("root=/dev/vda rw ")


def test_domain_xml():
    x = guests.domain_xml("vm-1", "00:16:3e:4d:04:01", kernel="/k", initrd="/i", cmdline="a b", virt="qemu")
    assert "<domain type='qemu'>" in x and "tb-cache" in x and "<source bridge=\"br0\"/>" in x
    assert "kvm" in guests.domain_xml("vm1", "00:16:3e:4d:04:01", kernel="/k", initrd="/i", cmdline="",
                                      virt="kvm")
    with pytest.raises(LabError):
        guests.domain_xml("vm 1;rm", "m", kernel="/k", initrd="/i", cmdline="")


def test_cli_errors_are_one_line(monkeypatch):
    from vm5k_lab import lab
    from vm5k_lab.state import LabError

    def boom(*a, **k):
        raise LabError("no way")
    monkeypatch.setattr(lab, "stop_host", boom)
    monkeypatch.setenv("VM5K_LAB_LOCKED", "1")
    r = CliRunner().invoke(cli.main, ["stop-host", "host1"])
    assert r.exit_code == 5
    assert r.output.strip().splitlines()[-1] == "vm5k-lab: error: no way"


def test_cli_bad_usage_exits_2(monkeypatch):
    monkeypatch.setenv("VM5K_LAB_LOCKED", "1")
    r = CliRunner().invoke(cli.main, ["kavlan", "host1", "four"])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == "vm5k-lab: error: vlan must be an id or DEFAULT, not 'four'"


def test_cli_help_lists_commands():
    r = CliRunner().invoke(cli.main, ["--help"])
    for c in ("up", "down", "status", "image", "stop-host", "start-host", "ssh"):
        assert c in r.output


def test_status_has_the_shape_the_platform_adapter_reads():
    # up or down: `vm5k-lab status` is what vm5k_doc.platforms.lab reads, nothing more
    assert lab_status_problem(labmod.status()) is None
