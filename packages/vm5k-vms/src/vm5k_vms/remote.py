"""How vm5k-vms reaches hosts and VMs: vm5k_doc.ssh (argv, key) and vm5k_doc.remote (one
script per host in parallel). What is left here is the key rule as the command asks it."""
from vm5k_doc import platforms
from vm5k_doc.ssh import Ssh, find_key

__all__ = ["Ssh", "default_key"]


def default_key(platform):
    """The platform's own key (the lab's), else the user's ~/.ssh/id_* (vm5k_doc.ssh.find_key);
    --ssh-key and VM5K_SSH_KEY come first, on the command line."""
    return find_key(None, platforms.get(platform).ssh_key)
