"""vm5k-hosts: the thin click layer over vm5k_hosts.stage."""
import click
from vm5k_doc.cli import Command, epilog, run_stage, stage_options

from . import __version__, images, stage, virt


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=epilog(
    "  vm5k-topo -n 4 | vm5k-oar -w 0:20:00 | vm5k-net | vm5k-hosts | vm5k-vms\n"
    "  vm5k-hosts -i addressed.json -o ready.json --other-packages htop\n"
    "  vm5k-hosts --env-name debian12-nfs < addressed.json   # Grid'5000: kadeploy3\n"
    "  vm5k-hosts --nodeploy --no-packages < addressed.json  # hosts already installed"))
@stage_options
@click.version_option(package_name="vm5k-hosts")
@click.option("--nodeploy", is_flag=True, help="Grid'5000: do not run kadeploy3; only check the hosts.")
@click.option("--forcedeploy", is_flag=True, help="Grid'5000: deploy even the hosts already deployed.")
@click.option("-e", "--env-name", metavar="ENV", help=f"kadeploy3 environment (default {stage.deploy.DEFAULT_ENV}).")
@click.option("-a", "--env-file", metavar="FILE", help="kadeploy3 environment description file (on the frontend).")
@click.option("--env-user", metavar="USER", help="Owner of the kadeploy3 environment.")
@click.option("--deploy-retries", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Run kadeploy3 again this many times on the hosts that failed.")
@click.option("--local-kadeploy", "frontend_ssh", flag_value=False, default=True,
              help="Run kadeploy3 here (on the site frontend) instead of through ssh to each site.")
@click.option("--packages/--no-packages", default=True, show_default=True,
              help="Install libvirt, QEMU and the other host packages where missing.")
@click.option("--other-packages", metavar="P1,P2", default="",
              help="More Debian packages to install on the hosts (comma-separated).")
@click.option("--image-dir", default=images.DEFAULT_DIR, show_default=True, metavar="DIR",
              help="Where the base images go on the hosts.")
@click.option("--broadcast", type=click.Choice(["auto", "chainput", "put"]), default="auto", show_default=True,
              help="Image copy: host-to-host chain (chainput), parallel scp from here (put), or "
                   "put below 5 hosts and chainput from 5 (auto).")
@click.option("--kvm-timeout", type=click.IntRange(1, 300), default=virt.DEFAULT_TIMEOUT, show_default=True,
              help="Seconds a guest kernel has to boot under KVM before the host is given 'qemu'.")
@click.option("--ssh-key", metavar="FILE", envvar="VM5K_SSH_KEY",
              help="Private key for the hosts (default: the lab key on the lab, else ~/.ssh/id_*, and ~/.ssh/config).")
@click.option("--ssh-user", metavar="USER", help="User on the hosts (default root).")
def main(other_packages, **options):
    """Make the hosts ready to run VMs: deploy (Grid'5000) or check them, install the
    packages where missing, start libvirt with its own host UUID, bring up the bridge and a
    libvirt network on it, decide kvm or qemu by booting a kernel under KVM, and put the
    base images on every host. Hosts that fail are KO (with the step and the error) and
    their VMs move to the other hosts."""
    extra = tuple(p.strip() for p in other_packages.split(",") if p.strip())
    run_stage("hosts", stage.run, version=__version__, other_packages=extra, **options)
