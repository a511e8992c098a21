"""vm5k-oar: the thin command line over vm5k_oar.stage."""
import click
from vm5k_doc.cli import Command, epilog, run_stage, stage_options

from . import __version__, stage

EXAMPLES = """  vm5k-topo -n 4 --platform lab | vm5k-oar -w 0:20:00 > reserved.json
  vm5k-oar --release -i reserved.json > released.json
  vm5k-oar -j lyon:1234567 -i topo.json       # reuse a job
  vm5k-oar --name myexp -w 2:00:00 -i topo.json  # reuse the running job named myexp, or submit one
  vm5k-oar --dry-run -i topo.json             # planning from reference data only
  vm5k-oar --hosts h1.example.org,h2.example.org -i topo.json  # static hosts, no scheduler
  vm5k-oar --hosts @hosts.txt --ssh-key ~/.ssh/cluster -i topo.json  # one [user@]host a line"""


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=epilog(EXAMPLES))
@stage_options
@click.version_option(__version__, package_name="vm5k-oar")
@click.option("-w", "--walltime", metavar="H:MM:SS", help="Job walltime (default: request.walltime, else 1:00:00).")
@click.option("-j", "--jobs", metavar="SITE:ID[,...]", help="Reuse these OAR jobs instead of submitting.")
@click.option("-n", "--name", metavar="NAME", help="Job name (default vm5k); reuse the user's running or waiting jobs of that name.")
@click.option("--release", is_flag=True, help="Delete the document's jobs and mark them and their hosts released.")
@click.option("--hosts", metavar="H1,H2,...|@FILE",
              help="Static hosts, no scheduler (platform static): a list, or a file of one [user@]host a line.")
@click.option("--ssh-key", metavar="FILE", envvar="VM5K_SSH_KEY",
              help="--hosts: private key for the hosts (default: ~/.ssh/id_*, and ~/.ssh/config).")
@click.option("--ssh-user", metavar="USER", help="--hosts: user on the hosts (default root).")
@click.option("--backend", "backend_kind", type=click.Choice(["oar", "api"]), default="oar", show_default=True,
              help="OAR command line (local, lab user, or ssh to <site>.grid5000.fr) or the Grid'5000 REST API.")
@click.option("--window", default="24:00:00", show_default=True, metavar="H:MM:SS",
              help="Give up (exit 4, best slot in reservation.slot) when no slot starts within this time.")
@click.option("--reference", "reference_path", metavar="PATH", help="Reference data file or directory (default: vm5k.reference).")
@click.option("--oar-user", metavar="USER", help="Lab: run OAR commands as USER (default: the lab's submit user).")
@click.option("--deploy/--no-deploy", default=None, help="Add -t deploy (default: on Grid'5000 only).")
@click.option("--queue", metavar="QUEUE", help="OAR queue.")
@click.option("--api-user", default=None, metavar="LOGIN", help="REST API: your Grid'5000 login (default: username in ~/.python-grid5000.yaml, else yours).")
def main(**options):
    """Reserve hosts for the document's VMs: find a slot, submit one OAR job per site at one
    start date, wait until they run, write hosts, subnets/vlan and the VMs' placement."""
    run_stage("oar", stage.run, version=__version__, cleanup=bool(options.get("release")), **options)


if __name__ == "__main__":
    main()
