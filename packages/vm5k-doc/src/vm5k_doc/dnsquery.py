"""A tiny DNS A query over UDP: does this server answer for that name?

Self-contained on purpose (standard library only, no package imports): vm5k-net also
sends this module's source to a service node and runs it there.
"""
import os
import socket
import struct


def query_a(server, name, timeout=2.0, port=53):
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
        while True:  # a late answer to an earlier query is skipped, not taken
            data, _ = sock.recvfrom(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    return parse_answer(data)


def parse_answer(data):
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


def _skip_name(data, offset):
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += length + 1
