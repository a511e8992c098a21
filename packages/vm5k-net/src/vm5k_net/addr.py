"""IPv4 addresses as ints: 100 000 VMs are planned in well under a second this way."""
import ipaddress
import socket


def to_int(ip):
    """'10.1.2.3' -> int; ValueError unless exactly a dotted quad (inet_pton is strict and fast)."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except (OSError, TypeError):
        raise ValueError(f"not an IPv4 address: {ip!r}") from None


def to_str(n):
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def network(cidr, what="network"):
    """An IPv4Network from 'a.b.c.d/p' (host bits must be zero)."""
    from vm5k_doc.errors import InputError
    try:
        return ipaddress.IPv4Network(cidr)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} {cidr!r} is not an IPv4 CIDR: {exc}") from None
