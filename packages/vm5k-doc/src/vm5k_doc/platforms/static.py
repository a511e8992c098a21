"""Any list of SSH hosts: no scheduler, no reference data, no DHCP of its own."""
from .base import Platform


class Static(Platform):
    name = "static"
    scheduler = False
    site = "static"
