"""Names of the lab (hosts, VMs vm5k-net registered) through the lab's own DNS server.

The control node keeps its own resolver (/etc/resolv.conf is never edited); this asks the
site dnsmasq (10.77.0.1, `status.network.dns`) directly with one UDP A query.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import struct

from . import plan


def query_a(server: str, name: str, timeout: float = 2.0, port: int = 53) -> list[str]:
    """The IPv4 addresses `server` gives for `name` ([] if none); OSError when no answer."""
    qid = int.from_bytes(os.urandom(2), "big")
    labels = [p.encode("idna") for p in name.rstrip(".").split(".")]
    if any(not 0 < len(p) < 64 for p in labels):
        raise OSError(f"not a DNS name: {name!r}")
    question = b"".join(bytes([len(p)]) + p for p in labels) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, port))
        while True:
            data, _ = sock.recvfrom(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    return parse_answer(data)


def parse_answer(data: bytes) -> list[str]:
    _, _, qdcount, ancount = struct.unpack(">HHHH", data[:8])
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _, _, length = struct.unpack(">HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += length
    return addresses


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += length + 1


def lab_name(name: str) -> str:
    """'vm-1' -> 'vm-1.lab'; a name with a dot is taken as it is."""
    return name if "." in name else f"{name}.{plan.DOMAIN}"


def resolve(name: str, server: str = plan.GATEWAY, query=query_a) -> str:
    """An address for `name`: itself if it is one, else the lab DNS's first A record
    (`vm-1` is asked as `vm-1.lab`). ValueError when the lab DNS does not know it."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    fqdn = lab_name(name)
    try:
        answer = query(server, fqdn)
    except OSError as e:
        raise ValueError(f"lab DNS {server} did not answer for {fqdn}: {e} (is the lab up?)") from None
    if not answer:
        raise ValueError(f"lab DNS {server} does not know {fqdn}")
    return answer[0]
