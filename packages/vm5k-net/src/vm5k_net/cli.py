"""vm5k-net: the thin CLI over vm5k_net.stage."""
import click
from vm5k_doc.cli import Command, epilog, run_stage, stage_options

from . import __version__, stage

EXAMPLES = """  vm5k-topo -n 4 | vm5k-oar -w 0:20:00 | vm5k-net | vm5k-hosts | vm5k-vms
  vm5k-topo -n 4 -k | vm5k-oar | vm5k-hosts | vm5k-net --kavlan | vm5k-vms
  vm5k-vms --destroy -i deployed.json | vm5k-net --stop-service | vm5k-oar --release
  vm5k-oar --hosts @hosts.txt < topo.json | vm5k-hosts | vm5k-net --subnet 10.0.8.0/24 | vm5k-vms
  vm5k-net --dry-run --lists out/ < reserved.json | jq -r '.vms[] | "\\(.ip)\\t\\(.id)"'"""


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=epilog(EXAMPLES))
@stage_options
@click.version_option(package_name="vm5k-net")
@click.option("--kavlan", is_flag=True, help="Address VMs in the reserved vlan, with our own DHCP/DNS service node.")
@click.option("--subnet", multiple=True, metavar="CIDR", help="Address VMs from this block (repeatable) instead of reservation.subnets.")
@click.option("--reference", type=click.Path(), help="Reference data (a site file or directory with kavlan-and-subnets.json); default: vm5k.reference.")
@click.option("--domain", help="DNS domain of the VMs (default: <site>.grid5000.fr, or lab).")
@click.option("--dhcp", metavar="ADDRESS", help="Subnet mode: your DHCP server serves the VMs (give it --lists' dhcp-hosts); no service node.")
@click.option("--ssh-key", type=click.Path(), envvar="VM5K_SSH_KEY",
              help="Private key for the service node (default: the lab key on the lab, else ~/.ssh/id_*, and ~/.ssh/config).")
@click.option("--ssh-user", metavar="USER", help="User on the service node (default root).")
@click.option("--lists", "lists_dir", type=click.Path(file_okay=False), metavar="DIR", help="Also write DIR/hosts.list and DIR/vms.list.")
@click.option("--stop-service", is_flag=True, help="Stop the service node's dnsmasq (before releasing the hosts); nothing else.")
def main(**options):
    """Give every VM a MAC, an IP and a name, and make DHCP/DNS serve them.

    Subnet mode uses the granted /22 subnets (MAC from IP, as g5k-subnets), or --subnet
    (static hosts: a dnsmasq service node on the fastest host, on the hosts' network);
    --kavlan uses the vlan's network with a dnsmasq service node on the fastest host. A
    rerun keeps every assignment (--force re-plans)."""
    run_stage("net", stage.run, version=__version__, cleanup=bool(options.get("stop_service")), **options)
