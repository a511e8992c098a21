"""--lists DIR: vm5k's hosts.list (one host per line) and vms.list ('IP<TAB>id'), and
dhcp-hosts ('MAC,IP,id', dnsmasq's dhcp-hostsfile) for a DHCP server of your own (--dhcp)."""
import os


def write(directory, doc):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "hosts.list"), "w") as handle:
        handle.writelines(f"{host['id']}\n" for host in doc.get("hosts", []))
    with open(os.path.join(directory, "vms.list"), "w") as handle:
        handle.writelines(f"{vm['ip']}\t{vm['id']}\n" for vm in doc.get("vms", []) if vm.get("ip"))
    with open(os.path.join(directory, "dhcp-hosts"), "w") as handle:
        handle.writelines(f"{vm['mac']},{vm['ip']},{vm['id']}\n" for vm in doc.get("vms", [])
                          if vm.get("ip") and vm.get("mac"))
