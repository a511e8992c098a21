"""What the stage needs to know about the platform: how to reach hosts, where lab images are."""
import json
import os
import shutil
import subprocess
import sys

from vm5k_doc.errors import PlatformError

from .remote import Connection


def lab_status():
    """`vm5k-lab status` as a dict (it exits 1 when the lab is down, still printing JSON)."""
    # on PATH, or next to our own interpreter (a venv that is not activated)
    exe = shutil.which("vm5k-lab") or shutil.which("vm5k-lab", path=os.path.dirname(sys.executable))
    if exe is None:
        raise PlatformError("vm5k-lab is not installed: cannot find the lab's ssh key and images")
    proc = subprocess.run([exe, "status"], capture_output=True, text=True, timeout=120)
    try:
        status = json.loads(proc.stdout)
    except ValueError:
        raise PlatformError(f"vm5k-lab status printed no JSON: {proc.stderr.strip()[-200:]}") from None
    if status.get("state") != "up":
        raise PlatformError("the lab is down (vm5k-lab up)")
    return status


def connection(platform, ssh_key=None, ssh_user=None, lab=None):
    """Connection to the hosts: the lab's key on the lab, else the user's ssh setup."""
    if platform == "lab" and lab is not None and not ssh_key:
        ssh = lab.get("ssh") or {}
        ssh_key, ssh_user = ssh.get("key"), ssh_user or ssh.get("user")
    if ssh_key and not os.path.isfile(ssh_key):
        raise PlatformError(f"ssh key {ssh_key} does not exist")
    return Connection(user=ssh_user or "root", keyfile=ssh_key)
