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
