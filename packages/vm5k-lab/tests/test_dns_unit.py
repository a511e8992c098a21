"""`vm5k-lab ssh NAME`: names resolved through the lab DNS, not the control node's resolver."""
import socket
import struct
import threading

import pytest
from vm5k_lab import dns, lab
from vm5k_lab.state import LabError


def fake_dns(answers):
    """A one-shot-per-query UDP DNS server on 127.0.0.1 answering A records from `answers`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve():
        try:
            while True:
                data, peer = sock.recvfrom(512)
                end = data.index(b"\0", 12) + 5
                labels, i = [], 12
                while data[i]:
                    labels.append(data[i + 1:i + 1 + data[i]].decode())
                    i += 1 + data[i]
                ips = answers.get(".".join(labels), [])
                reply = data[:2] + struct.pack(">HHHHH", 0x8180, 1, len(ips), 0, 0) + data[12:end]
                for ip in ips:
                    reply += struct.pack(">HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(ip)
                sock.sendto(reply, peer)
        except OSError:
            pass
    threading.Thread(target=serve, daemon=True).start()
    return sock


def test_query_a_against_a_fake_server():
    server = fake_dns({"vm-1.lab": ["10.77.4.1"], "two.lab": ["10.77.4.2", "10.77.4.3"]})
    try:
        port = server.getsockname()[1]
        assert dns.query_a("127.0.0.1", "vm-1.lab", port=port) == ["10.77.4.1"]
        assert dns.query_a("127.0.0.1", "two.lab", port=port) == ["10.77.4.2", "10.77.4.3"]
        assert dns.query_a("127.0.0.1", "nope.lab", port=port) == []
    finally:
        server.close()


def test_resolve_short_names_in_the_lab_domain():
    asked = []

    def query(server, name):
        asked.append((server, name))
        return {"vm-1.lab": ["10.77.4.1"]}.get(name, [])
    assert dns.resolve("vm-1", query=query) == "10.77.4.1"
    assert dns.resolve("vm-1.lab", query=query) == "10.77.4.1"
    assert asked == [("10.77.0.1", "vm-1.lab")] * 2
    assert dns.resolve("10.77.4.9", query=query) == "10.77.4.9"     # an address: no query
    with pytest.raises(ValueError, match="does not know vm-9.lab"):
        dns.resolve("vm-9", query=query)


def test_ssh_argv_hosts_vms_and_users():
    def resolve(name):
        if name in ("vm-1", "vm-1.lab"):
            return "10.77.4.1"
        raise ValueError(f"lab DNS 10.77.0.1 does not know {name}")
    argv = lab.ssh_argv("vm-1", "hostname", resolve=resolve)
    assert argv[0] == "ssh" and argv[-5:] == ["-l", "root", "--", "10.77.4.1", "hostname"]
    assert argv[argv.index("-i") + 1] == str(lab.key_path()) and "BatchMode=yes" in argv
    assert argv[1:-5] == lab.ssh_options()          # vm5k_doc.ssh's option set, with the lab key
    assert lab.ssh_argv("host2", resolve=resolve)[-4:] == ["-l", "root", "--", "10.77.0.12"]  # no DNS for hosts
    assert lab.ssh_argv("user@vm-1.lab", "id", resolve=resolve)[-5:] == ["-l", "user", "--", "10.77.4.1", "id"]
    with pytest.raises(LabError, match="does not know vm-7"):
        lab.ssh_argv("vm-7", resolve=resolve)
