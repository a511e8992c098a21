from vm5k_net import dnsmasq, service


def record():
    return {"vlan": 4, "cidr": "10.12.0.0/18", "netmask": "255.255.192.0", "gateway": "10.12.63.254",
            "service_address": "10.12.8.1", "service_node": "sirius-1.lyon.grid5000.fr", "domain": "lyon.grid5000.fr"}


ASSIGNMENTS = [({"id": "vm-1"}, "10.12.0.1", "02:04:0a:0c:00:01"), ({"id": "vm-2"}, "10.12.0.2", "02:04:0a:0c:00:02")]


def test_service_conf_is_static_dhcp_on_the_service_address():
    conf = dnsmasq.service_conf(record(), 2, "/var/lib/vm5k-net/kavlan-4")
    assert "listen-address=10.12.8.1" in conf and "bind-interfaces" in conf
    assert "dhcp-range=10.12.0.0,static,255.255.192.0,12h" in conf
    assert "dhcp-option=option:router,10.12.63.254" in conf
    assert "dhcp-hostsfile=/var/lib/vm5k-net/kavlan-4/dhcp-hosts" in conf


def test_one_line_per_vm():
    assert dnsmasq.dhcp_host_lines(ASSIGNMENTS) == "02:04:0a:0c:00:01,10.12.0.1,vm-1\n02:04:0a:0c:00:02,10.12.0.2,vm-2\n"
    hosts = dnsmasq.hosts_lines(ASSIGNMENTS, "lyon.grid5000.fr", [("nova-1", "10.12.4.1")])
    assert hosts.splitlines() == ["10.12.4.1 nova-1.lyon.grid5000.fr nova-1", "10.12.0.1 vm-1.lyon.grid5000.fr vm-1",
                                  "10.12.0.2 vm-2.lyon.grid5000.fr vm-2"]


def test_setup_script_is_valid_sh_and_quotes_values():
    script = service.setup_script(record(), ASSIGNMENTS)
    assert script.count(service.EOF_MARK) == 8
    import subprocess
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0


def test_subnet_service_on_a_shared_network_is_not_authoritative():
    """On the hosts' own network other machines renew leases from their DHCP: ours must not NAK them."""
    rec = dict(record(), mode="subnet", gateway=None, cidr="10.77.0.0/16", netmask="255.255.0.0")
    conf = dnsmasq.service_conf(rec, 4, dnsmasq.service_dir_of(rec))
    assert "dhcp-authoritative" not in conf and "option:router" not in conf
    assert "dhcp-range=10.77.0.0,static,255.255.0.0,12h" in conf
    assert "dhcp-hostsfile=/var/lib/vm5k-net/subnet/dhcp-hosts" in conf
    assert "dhcp-authoritative" in dnsmasq.service_conf(record(), 2, dnsmasq.service_dir(4))
