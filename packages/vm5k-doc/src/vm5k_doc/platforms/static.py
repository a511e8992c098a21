"""Any list of SSH hosts: no scheduler, no reference data, no DHCP of its own (vm5k-net
runs its service node on one of the hosts), images the user brings."""
import os

from .base import Platform


class Static(Platform):
    name = "static"
    scheduler = False
    site = "static"
    subnet_service = True
    # a disk image the user puts there (README "Your own cluster"); vm5k-hosts says so when it is not
    default_backing_file = os.path.expanduser("~/vm5k-images/debian.qcow2")
