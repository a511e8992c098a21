import ipaddress
import json

import pytest
from vm5k_doc import reference
from vm5k_doc.errors import InputError, NoResources
from vm5k_doc.reference import snapshot_path
from vm5k_net import macs, plan, pools
from vm5k_net.addr import to_int, to_str

REFERENCE = snapshot_path()

SITES = ("grenoble", "lyon", "nancy", "rennes", "luxembourg")


def plan_data():
    return reference.load(REFERENCE).address_plan()


# ---------------------------------------------------------------- KaVLAN networks vs formulas

def test_kavlan_networks_match_formulas_on_every_site():
    data = plan_data()
    checked = 0
    for site, site_plan in data["sites"].items():
        for key, vlan_data in (site_plan or {}).get("kavlans", {}).items() if site_plan and site_plan.get("kavlans") else ():
            if not key.isdigit():
                continue
            vlan = int(key)
            if site == "nantes":  # its kavlan_ip_range is luxembourg's in the data (README); networks say 10.44/14
                continue
            expected = ipaddress.IPv4Network(vlan_data["network"])
            assert pools.formula_network(site, vlan, data) == expected, (site, vlan)
            net, gateway = pools.vlan_network(site, vlan, data)
            assert net == expected
            assert to_str(gateway) == vlan_data["gateway"] == str(expected.broadcast_address - 1)
            checked += 1
    assert checked >= 5 * 10  # local 1-3, routed 4-9, the site's global id, for every site


@pytest.mark.parametrize("site,vlan,cidr", [
    ("lyon", 1, "192.168.192.0/20"), ("nancy", 3, "192.168.224.0/20"),
    ("lyon", 4, "10.12.0.0/18"), ("lyon", 7, "10.12.192.0/18"), ("lyon", 9, "10.13.64.0/18"),
    ("rennes", 8, "10.25.0.0/18"), ("lyon", 13, "10.15.192.0/18"), ("grenoble", 11, "10.7.192.0/18"),
    ("luxembourg", 20, "10.43.192.0/18"),
])
def test_kavlan_formula_examples(site, vlan, cidr):
    assert str(pools.formula_network(site, vlan, plan_data())) == cidr


def test_kavlan_network_equipment_agrees():
    for site in SITES:
        with open(f"{REFERENCE}/{site}.json") as handle:
            equipment = json.load(handle)["kavlan_network_equipment"]
        for item in equipment:
            for entry in item["vlans"].values():
                name = entry.get("name", "")
                if name.startswith("kavlan-"):
                    vlan = int(name.split("-")[1])
                    net, _ = pools.vlan_network(site, vlan, plan_data())
                    assert [str(net)] == entry["addresses"], (site, name)


def test_vlan_out_of_range_is_input_error():
    with pytest.raises(InputError, match="out of range"):
        pools.vlan_network("lyon", 42, plan_data())


# ---------------------------------------------------------------- subnets

def test_subnet_pairs_slash_22():
    pool = pools.Pool(pools.subnet_ranges(["10.132.8.0/22"]))
    addresses = list(pool)
    assert len(addresses) == 1022
    assert to_str(addresses[0]) == "10.132.8.1" and to_str(addresses[-1]) == "10.132.11.254"
    assert macs.subnet_mac(addresses[0]) == "00:16:3e:84:08:01"
    assert macs.subnet_mac(to_int("10.132.11.254")) == "00:16:3e:84:0b:fe"


def test_subnet_pairs_slash_18_stay_inside_each_22():
    pool = pools.Pool(pools.subnet_ranges(["10.140.0.0/18"]))
    addresses = list(pool)
    assert len(addresses) == 16 * 1022
    text = {to_str(a) for a in addresses}
    assert "10.140.4.0" not in text and "10.140.3.255" not in text  # /22 edges are not handed out
    assert "10.140.3.254" in text and "10.140.4.1" in text
    assert len({macs.subnet_mac(a) for a in addresses}) == len(addresses)


def test_planned_subnets_are_the_first_blocks_of_the_virt_range():
    assert pools.planned_subnets("10.140.0.0/14", 1) == ["10.140.0.0/22"]
    assert pools.planned_subnets("10.140.0.0/14", 1023) == ["10.140.0.0/22", "10.140.4.0/22"]


def test_kavlan_mac_is_local_unicast_and_encodes_vlan_and_ip():
    mac = macs.kavlan_mac(4, to_int("10.12.10.5"))
    assert mac == "02:04:0a:0c:0a:05"
    assert int(mac[:2], 16) & 0b11 == 0b10


# ---------------------------------------------------------------- the plan on documents

def test_subnet_plan_assigns_pairs_in_order(make_doc):
    doc = make_doc(4, subnets=["10.140.8.0/22"])
    p = plan.build(doc)
    result = plan.assign(doc, p)
    assert [(ip, mac) for _, ip, mac in result][:2] == [("10.140.8.1", "00:16:3e:8c:08:01"),
                                                        ("10.140.8.2", "00:16:3e:8c:08:02")]
    assert p.record["gateway"] == "10.143.255.254" and p.record["netmask"] == "255.252.0.0"
    assert p.record["planned"] is False


def test_dry_run_guesses_subnets_flagged_planned(make_doc):
    doc = make_doc(2000, job_id=None)
    p = plan.build(doc)
    assert p.record["subnets"] == ["10.140.0.0/22", "10.140.4.0/22"] and p.record["planned"]
    assert len(plan.assign(doc, p)) == 2000


def test_granted_doc_without_subnets_is_input_error(make_doc):
    with pytest.raises(InputError, match="reservation.subnets is empty"):
        plan.build(make_doc(4))


def test_no_reservation_is_input_error(make_doc):
    doc = make_doc(4)
    del doc["reservation"]
    with pytest.raises(InputError, match="no reservation"):
        plan.build(doc)


def test_too_few_addresses_says_how_many_are_missing(make_doc):
    doc = make_doc(1030, subnets=["10.140.8.0/22"])
    with pytest.raises(NoResources, match="8 of 1030 VMs get none"):
        plan.assign(doc, plan.build(doc))


def test_rerun_keeps_assignments_and_new_vms_get_new_addresses(make_doc):
    doc = make_doc(4, subnets=["10.140.8.0/22"])
    p = plan.build(doc)
    for vm, ip, mac in plan.assign(doc, p):
        vm["ip"], vm["mac"] = ip, mac
    doc["vms"][0]["ip"], doc["vms"][0]["mac"] = "10.140.9.7", macs.subnet_mac(to_int("10.140.9.7"))
    doc["vms"].append({"id": "vm-5", "mem": 1024, "n_cpu": 1, "hdd": 10, "host": doc["hosts"][0]["id"]})
    again = plan.assign(doc, plan.build(doc))
    assert [ip for _, ip, _ in again] == ["10.140.9.7", "10.140.8.2", "10.140.8.3", "10.140.8.4", "10.140.8.1"]


def test_duplicate_kept_ip_is_replanned_not_duplicated(make_doc):
    doc = make_doc(2, subnets=["10.140.8.0/22"])
    for vm in doc["vms"]:
        vm["ip"], vm["mac"] = "10.140.8.9", macs.subnet_mac(to_int("10.140.8.9"))
    result = plan.assign(doc, plan.build(doc))
    assert [ip for _, ip, _ in result] == ["10.140.8.9", "10.140.8.1"]


def test_vm_never_gets_a_host_address(make_doc):
    doc = make_doc(2, subnets=["10.140.8.0/22"])
    doc["hosts"][0]["address"] = "10.140.8.1"
    result = plan.assign(doc, plan.build(doc))
    assert "10.140.8.1" not in [ip for _, ip, _ in result]


def test_check_rejects_duplicates_and_gateway(make_doc):
    doc = make_doc(2, subnets=["10.140.8.0/22"])
    p = plan.build(doc)
    vm1, vm2 = doc["vms"]
    with pytest.raises(InputError, match="duplicate IP"):
        plan.check([(vm1, "10.140.8.1", "00:16:3e:8c:08:01"), (vm2, "10.140.8.1", "00:16:3e:8c:08:02")], p, doc)
    with pytest.raises(InputError, match="host, gateway"):
        plan.check([(vm1, "10.140.8.0", "00:16:3e:8c:08:00")], p, doc)


def test_kavlan_plan_routed_lyon(make_doc):
    doc = make_doc(3, vlan=4)
    p = plan.build(doc, kavlan=True)
    assert p.record["cidr"] == "10.12.0.0/18" and p.record["gateway"] == "10.12.63.254"
    assert p.record["service_node"] == "nova-1.lyon.grid5000.fr"
    assert p.record["service_address"] == "10.12.4.1"  # nova-1's kavlan-4 address in the reference
    result = plan.assign(doc, p)
    nodes = reference.load(REFERENCE).site_nodes("lyon")
    node_ips = {n.vlan_address(4) for n in nodes.values()}
    for _, ip, mac in result:
        assert ip not in node_ips and not ip.endswith((".0", ".255"))
        assert mac == macs.kavlan_mac(4, to_int(ip))
    assert result[0][1] == "10.12.0.1"
    assert p.service["names"] == [("nova-1", "10.12.4.1")]  # nova-2 is not in the reference: no vlan name


def test_kavlan_service_node_is_the_fastest_host(make_doc):
    doc = make_doc(2, vlan=4, n_hosts=1)
    doc["hosts"].append({"id": "sirius-1.lyon.grid5000.fr", "site": "lyon", "cluster": "sirius", "cores": 1})
    nodes = reference.load(REFERENCE).site_nodes("lyon")
    assert nodes["sirius-1"].flops > nodes["nova-1"].flops
    record = plan.build(doc, kavlan=True).record
    assert record["service_node"] == "sirius-1.lyon.grid5000.fr" and record["service_address"] == "10.12.8.1"


def test_kavlan_global_and_local(make_doc):
    doc = make_doc(2, vlan=13)
    assert plan.build(doc, kavlan=True).record["cidr"] == "10.15.192.0/18"
    doc = make_doc(2, vlan=2)
    assert plan.build(doc, kavlan=True).record["cidr"] == "192.168.208.0/20"


def test_kavlan_without_vlan_on_granted_doc_is_input_error(make_doc):
    with pytest.raises(InputError, match="reservation.vlan is null"):
        plan.build(make_doc(2), kavlan=True)


def test_multi_site_vms_take_addresses_of_their_host_site(make_doc):
    doc = make_doc(4, subnets=["10.140.8.0/22", "10.144.4.0/22"])
    doc["reservation"]["jobs"].append({"site": "nancy", "id": 99})
    doc["hosts"][1].update(id="grisou-1.nancy.grid5000.fr", site="nancy", cluster="grisou")
    for i, vm in enumerate(doc["vms"]):
        vm["host"] = doc["hosts"][i % 2]["id"]
    p = plan.build(doc)
    ips = [ip for _, ip, _ in plan.assign(doc, p)]
    assert ips == ["10.140.8.1", "10.144.4.1", "10.140.8.2", "10.144.4.2"]
    assert p.record["sites"]["nancy"]["gateway"] == "10.147.255.254"


def test_static_hosts_with_given_subnet_need_no_reference(make_doc):
    doc = make_doc(3, platform="static", reference=None)
    del doc["vm5k"]["reference"]
    doc["reservation"] = {}
    for host in doc["hosts"]:
        host.pop("site")
    p = plan.build(doc, subnets=["192.168.50.0/24"])
    assert p.record["domain"] == "static"
    # the subnet is its own network: the service node takes its first address
    assert [ip for _, ip, _ in plan.assign(doc, p)] == ["192.168.50.2", "192.168.50.3", "192.168.50.4"]
    assert (p.record["dhcp"], p.record["service_address"], p.record["gateway"]) == ("192.168.50.1",) * 2 + (None,)


def static_doc(make_doc, n_vms=4):
    doc = make_doc(n_vms, platform="static", reference=None)
    del doc["vm5k"]["reference"]
    doc["reservation"] = {"jobs": []}
    doc["hosts"] = [{"id": f"10.77.0.{10 + i}", "site": "static", "cluster": "static", "cores": i, "mem_mb": 4096,
                     "state": "ready"} for i in (1, 2)]
    for i, vm in enumerate(doc["vms"]):
        vm["host"] = doc["hosts"][i % 2]["id"]
    return doc


def test_static_subnet_on_the_hosts_network_is_served_from_the_fastest_host(make_doc):
    """A block of free addresses on the hosts' network: the VMs join that network (its
    netmask, its gateway) and the service node answers on its host's own address."""
    doc = static_doc(make_doc)
    lan = {"address": "10.77.0.12/16", "gateway": "10.77.0.1"}
    p = plan.build(doc, subnets=["10.77.200.0/24"], service_lan=lan)
    assert p.mode == "subnet" and p.service["host"] == "10.77.0.12" and p.service["ssh_address"] == "10.77.0.12"
    assert {k: p.record[k] for k in ("cidr", "netmask", "gateway", "dhcp", "dns", "service_node", "service_address")} == {
        "cidr": "10.77.0.0/16", "netmask": "255.255.0.0", "gateway": "10.77.0.1", "dhcp": "10.77.0.12",
        "dns": ["10.77.0.12"], "service_node": "10.77.0.12", "service_address": "10.77.0.12"}
    assignments = plan.assign(doc, p)
    assert [ip for _, ip, _ in assignments] == ["10.77.200.1", "10.77.200.2", "10.77.200.3", "10.77.200.4"]
    plan.check(assignments, p, doc)


def test_static_subnet_with_the_users_dhcp_runs_no_service(make_doc):
    doc = static_doc(make_doc, 2)
    p = plan.build(doc, subnets=["10.77.200.0/24"], dhcp="10.77.0.2")
    assert p.service is None and (p.record["dhcp"], p.record["service_node"]) == ("10.77.0.2", None)
    with pytest.raises(InputError, match="--dhcp"):
        plan.build(doc, subnets=["10.77.200.0/24"], dhcp="-oops")
    with pytest.raises(InputError, match="give --subnet CIDR"):
        plan.build(static_doc(make_doc), reference_path=None)
