"""How the stage reaches the hosts of a platform."""
import os

from vm5k_doc.errors import PlatformError

from .remote import Connection


def connection(platform, ssh_key=None, ssh_user=None):
    """Connection to the hosts: the platform's own key (the lab's), else the user's ssh setup."""
    if not ssh_key:
        ssh_key, ssh_user = platform.ssh_key(), ssh_user or platform.ssh_user()
    if ssh_key and not os.path.isfile(ssh_key):
        raise PlatformError(f"ssh key {ssh_key} does not exist")
    return Connection(user=ssh_user or "root", keyfile=ssh_key)
