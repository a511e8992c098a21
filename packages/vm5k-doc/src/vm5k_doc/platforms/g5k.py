"""Grid'5000: OAR on each site's frontend (locally on our own), kadeploy3, KaVLAN by
kadeploy3 --vlan, the site's DHCP (g5k-subnets pairs MAC and IP), the bundled reference."""
import shutil
import socket

from .base import Platform

G5K_TZ = "Europe/Paris"   # OAR's dates on Grid'5000


class G5k(Platform):
    name = "g5k"
    default_backing_file = "/grid5000/virt-images/debian11-x64-nfs.qcow2"  # EnOSlib's default
    deploys = True
    vlan_formulas = True

    @staticmethod
    def here():
        return socket.getfqdn().endswith(".grid5000.fr") and shutil.which("oarsub") is not None

    def reference_path(self):
        """The live reference API when it can be asked (on Grid'5000, or with API access set
        up in ~/.python-grid5000.yaml), cached a day; else the snapshot shipped with vm5k."""
        from .. import grid5000
        from ..reference import snapshot_path
        if self.here() or grid5000.configured():
            return grid5000.live_reference(snapshot_path()) or snapshot_path()
        return snapshot_path()

    def default_resources(self):
        return [{"element": "grid5000", "hosts": 0}]

    def frontend(self, site):
        # on a frontend its own site runs here; every other site over ssh to its frontend
        fqdn = socket.getfqdn()
        local = fqdn.split(".")[-3] if fqdn.endswith(".grid5000.fr") and fqdn.count(".") >= 3 else None
        return None if site == local else f"{site}.grid5000.fr"

    def oar_settings(self, oar_user=None):
        return {"tz": G5K_TZ, "poll_seconds": 10, "ssh_host": self.frontend}

    def vm_domain(self, site):
        return f"{site}.grid5000.fr"
