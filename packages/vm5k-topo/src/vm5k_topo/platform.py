"""Which platform we are on: a Grid'5000 frontend, a running lab, or a list of SSH hosts."""
import json
import os
import shutil
import socket
import subprocess

from vm5k_doc.errors import InputError

from .reference import LAB_REFERENCE

# The VM disk a platform boots when the template names none.
DEFAULT_BACKING_FILE = {
    "g5k": "/grid5000/virt-images/debian11-x64-nfs.qcow2",  # EnOSlib's default on Grid'5000
    "lab": "mini",                                           # the lab's busybox guest
    "static": "debian",
}
DEFAULT_MEM = {"g5k": 1024, "lab": 128, "static": 1024}     # vm5k's template said 1024
DEFAULT_HDD = {"g5k": 10, "lab": 1, "static": 10}


def on_grid5000():
    return socket.getfqdn().endswith(".grid5000.fr") and shutil.which("oarsub") is not None


def lab_status():
    """`vm5k-lab status` as a dict, or None when no lab runs here."""
    if not shutil.which("vm5k-lab"):
        return None
    try:
        done = subprocess.run(["vm5k-lab", "status"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def detect(requested):
    """auto: a Grid'5000 frontend, else a running lab, else a clear error."""
    if requested != "auto":
        return requested
    if on_grid5000():
        return "g5k"
    if lab_status() is not None:
        return "lab"
    raise InputError("--platform auto: not on a Grid'5000 frontend and no lab is running "
                     "(start one with `vm5k-lab up`, or give --platform g5k --dry-run, or --platform static)")


def lab_reference():
    status = lab_status()
    path = (status or {}).get("reference") or LAB_REFERENCE
    if isinstance(path, dict):  # a status may give {"site": ..., "kavlan_and_subnets": ...}
        path = path.get("site") or path.get("path") or LAB_REFERENCE
    if not os.path.exists(path):
        raise InputError(f"--platform lab: no lab reference data at {path} (is the lab up? `vm5k-lab up`)")
    return path
