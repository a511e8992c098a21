"""vm5k-vms: the thin command line over vm5k_vms.stage."""
import click
from vm5k_doc.cli import Command, epilog, run_stage, stage_options

from . import __version__, stage

EXAMPLES = """  vm5k-topo -n 6 | vm5k-oar -w 0:30:00 | vm5k-net | vm5k-hosts | vm5k-vms > deployed.json
  vm5k-vms -i deployed.json --events boot.ndjson -o deployed.json   # rerun: only what is not ready
  vm5k-vms --migrate vm-3=host2.lab -i deployed.json -o deployed.json
  vm5k-vms --destroy -i deployed.json -o destroyed.json"""


@click.command(cls=Command, epilog=epilog(EXAMPLES), context_settings={"help_option_names": ["-h", "--help"]})
@stage_options
@click.version_option(__version__, package_name="vm5k-vms")
@click.option("--destroy", "destroy_vms", is_flag=True,
              help="Destroy and undefine the document's VMs and remove their disks, and nothing else.")
@click.option("--migrate", "migrations", multiple=True, metavar="VM=HOST",
              help="Live-migrate VM to HOST (a host of the document), copying its disk. Repeatable.")
@click.option("--ssh-key", metavar="FILE", envvar="VM5K_SSH_KEY",
              help="Private key to reach hosts and VMs (stays here; FILE.pub goes into the VMs). "
                   "Default: the lab key on the lab, else ~/.ssh/id_ed25519 or id_rsa.")
@click.option("--ssh-user", default="root", show_default=True, help="User on the hosts and VMs.")
@click.option("--timeout", type=click.FloatRange(1, 7200), default=1200, show_default=True,
              help="Seconds a VM may take from its first start to answer SSH, restarts included; then KO.")
@click.option("--stall", type=click.FloatRange(5, 3600), default=60, show_default=True,
              help="Seconds without progress (console output, CPU time, DHCP lease, TCP 22) after which "
                   "a booting VM is restarted (at once on a kernel panic); KO after 2 restarts. "
                   "Once TCP 22 is open, 3 times this without an SSH answer.")
@click.option("--boot-slots", type=click.IntRange(0, 10000), default=None, metavar="N",
              help="VMs a host boots at once (default: 8 per core). 0: all at once.")
@click.option("--min", "min_ready", type=click.IntRange(0), default=None,
              help="Exit 0 if at least N VMs are ready (default: all).")
@click.option("--leases", metavar="FILE",
              help="dnsmasq lease file to time the DHCP step (default on the lab: the site's).")
def main(destroy_vms, migrations, ssh_key, ssh_user, timeout, stall, boot_slots, min_ready, leases, **options):
    """Create, start and wait for every VM of the document, each VM's fate in its record.

    Per VM: a qcow2 overlay on its host's base image (or a copy with real_file), a libvirt
    domain (kvm or qemu as the host decided), hostname and public key through the kernel
    command line or a NoCloud seed. Each VM is ready when it answers SSH with its own
    name; the steps defined, started, lease, tcp22, ssh are timed in `timings` (seconds
    since the stage started; `ready` is from start to SSH) and streamed with --events.
    Each host boots a few VMs at once and starts the next as one is ready; a VM that
    stops making progress, or whose console shows a kernel panic, is restarted with the
    reason recorded. VMs already ready and running are skipped (--force recreates them).
    """
    run_stage("vms", stage.run, destroy_vms=destroy_vms, migrations=migrations, ssh_key=ssh_key,
              ssh_user=ssh_user, timeout=timeout, stall=stall, boot_slots=boot_slots, min_ready=min_ready, leases=leases,
              version=__version__, cleanup=bool(destroy_vms), **options)
