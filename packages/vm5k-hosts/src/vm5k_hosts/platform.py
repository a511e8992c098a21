"""How the stage reaches the hosts of a platform: vm5k_doc.ssh's key rule and options."""
import os

from vm5k_doc.errors import PlatformError
from vm5k_doc.ssh import Ssh, find_key


def connection(platform, ssh_key=None, ssh_user=None):
    """Ssh to the hosts: --ssh-key, else the platform's own key (the lab's) and user, else
    the user's ~/.ssh/id_*. A key that is not there fails here, once, not on every host."""
    key = find_key(ssh_key, platform.ssh_key)
    if key and not os.path.isfile(key):
        raise PlatformError(f"ssh key {key} does not exist")
    user = ssh_user or (None if ssh_key else platform.ssh_user())
    return Ssh(user=user or "root", key=key)
