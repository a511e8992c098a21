"""MAC addresses, always derived from the IP so that a plan is reproducible and a MAC is
unique exactly when its IP is.

- subnets (Grid'5000 g5k-subnets, and the lab's site DHCP): 00:16:3e + the 2nd..4th IP
  octets, e.g. 10.132.8.1 -> 00:16:3e:84:08:01 (the pairs the site DHCP already knows).
- KaVLAN (our own DHCP): locally administered unicast 02:<vlan id>:<the 4 IP octets>, so
  the same IP in two vlans (kavlan-local nets are the same on every site) never shares a MAC.
"""


def subnet_mac(ip):
    return f"00:16:3e:{ip >> 16 & 255:02x}:{ip >> 8 & 255:02x}:{ip & 255:02x}"


def kavlan_mac(vlan, ip):
    return f"02:{vlan & 255:02x}:{ip >> 24:02x}:{ip >> 16 & 255:02x}:{ip >> 8 & 255:02x}:{ip & 255:02x}"


def mac_function(mode, vlan=None):
    if mode == "kavlan":
        return lambda ip: kavlan_mac(vlan, ip)
    return subnet_mac
