"""What every platform answers; a stage asks these instead of testing the platform's name.

Defaults here are those of a platform with nothing special: a subclass overrides what it has.
"""
import os

from ..checks import check_id
from ..errors import PlatformError
from ..ssh import Ssh, find_key


class Platform:
    name = ""
    # the VM a template gets when it names no disk, memory (MiB) or disk size (GiB)
    default_backing_file = "debian"
    default_mem = 1024
    default_hdd = 10
    default_cpu_ratio = 3.0  # vCPUs per host core (vm5k's rule)
    scheduler = True         # vm5k-oar reserves hosts (static: the user gives them)
    deploys = False          # hosts get their OS by kadeploy3 unless --nodeploy
    vlan_formulas = False    # vlan numbers follow Grid'5000's kinds (1-3 local, 4-9 routed, 10+ global)
    site = None              # the one site of a one-site platform (job ids without a site, DHCP domain)
    # subnet mode with nothing else on the network: vm5k-net runs its own DHCP/DNS (the
    # service node it runs under KaVLAN) on one of the hosts, bridged where the VMs are
    subnet_service = False

    def reference_path(self):
        """The reference data (Grid'5000 API site layout) the platform's hosts are in, or None."""
        return None

    def default_resources(self):
        """request.resources when the user names none."""
        return []

    def frontend(self, site):
        """The host to ssh to for a site's tools (oarsub, kadeploy3), None to run them here."""
        return None

    def oar_settings(self, oar_user=None):
        """How vm5k-oar reaches OAR: keyword arguments of its OarCli."""
        raise NotImplementedError(f"{self.name}: no OAR")

    def ssh_key(self):
        """The private key that reaches the hosts, when the platform has one of its own."""
        return None

    def ssh_user(self):
        return None

    def ssh(self, key=None, user=None):
        """How every stage reaches the hosts, one meaning for --ssh-key/--ssh-user: the key
        given, else the platform's own (the lab's), else ~/.ssh/id_* (vm5k_doc.ssh.find_key;
        ~/.ssh/config's IdentityFile, HostName, Port, ProxyJump still apply); the user given,
        else the platform's, else root. A key that is not there fails here, once."""
        found = find_key(key, self.ssh_key)
        if found and not os.path.isfile(found):
            raise PlatformError(f"ssh key {found} does not exist")
        user = user or (None if key else self.ssh_user()) or "root"
        return Ssh(user=check_id(user, "--ssh-user"), key=found)

    def images(self):
        """Named images the platform ships ({name: {kernel, initrd, disk, built}}), or None."""
        return None

    def virt(self):
        """'kvm' or 'qemu' when the platform already knows what its hosts can run, else None."""
        return None

    def move_hosts_to_vlan(self, hosts, vlan):
        """Put the hosts' ports into `vlan` (None: the default network) when the platform does
        it apart from deployment; returns {host id: what changed}."""
        return {}

    def release_vlans(self, doc):
        """What the end of a job does to hosts moved into a vlan; returns the ids moved back."""
        return []

    def serve_bindings(self, record, assignments):
        """Make the platform's own DHCP/DNS serve the VMs' addresses (subnet mode); returns
        what to add to the network record ({} when the site serves them by itself)."""
        return {}

    def leases_path(self, network):
        """A DHCP lease file on this machine to time the VMs' DHCP step, or None."""
        return None

    def vm_domain(self, site):
        """The DNS domain of VMs on `site` when the user gives none."""
        return site


def record_vlan(host, vlan, address):
    """Mark a host record as in `vlan` at `address` (None: back on the default network, at
    the address it had there)."""
    if vlan is None:
        if host.get("default_address"):
            host["address"] = host.pop("default_address")
        host.pop("vlan", None)
        return
    host.setdefault("default_address", host.get("address") or host["id"])
    host["address"], host["vlan"] = address, int(vlan)
