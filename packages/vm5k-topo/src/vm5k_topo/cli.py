"""vm5k-topo: thin CLI over vm5k_topo.stage."""
import click
from vm5k_doc.cli import Command, epilog, run_stage, stage_options

from . import __version__, stage

EXAMPLES = """  vm5k-topo -n 100 --platform g5k --dry-run -r lyon
  vm5k-topo -n 6 -t '<vm mem="128" n_cpu="1" backing_file="mini"/>' | vm5k-oar -w 0:30:00
  vm5k-topo --platform g5k --dry-run -i topo.xml --xml > state.xml
  vm5k-topo -n 20 -r taurus:4,nancy -b graphene -d concentrated"""


@click.command(cls=Command, epilog=epilog(EXAMPLES), context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@stage_options
@click.version_option(__version__, prog_name="vm5k-topo")
@click.option("-n", "--n-vm", type=int, help="Number of VMs (vm-1..vm-N). Default 30 without -i.")
@click.option("-r", "--resources", metavar="ELEMENTS", help="grid5000, sites, clusters, each with optional :N hosts (lyon,taurus:4).")
@click.option("-b", "--blacklist", metavar="ELEMENTS", help="Sites, clusters or hosts to leave out.")
@click.option("-t", "--vm-template", metavar="TEMPLATE", help="""'<vm mem="1024" hdd="10" n_cpu="1" cpuset="auto" backing_file=".."/>' or JSON.""")
@click.option("-d", "--distribution", type=click.Choice(["round-robin", "concentrated", "n_by_hosts", "random"]), help="How VMs are spread on hosts (default round-robin).")
@click.option("--platform", type=click.Choice(["auto", "g5k", "lab", "static"]), default="auto", show_default=True, help="auto: a Grid'5000 frontend, else a running lab.")
@click.option("-w", "--walltime", metavar="H:MM:SS", help="Walltime wish for the reservation (default 1:00:00).")
@click.option("--reference", type=click.Path(), help="Reference data (Grid'5000 API site layout): a file or a directory.")
@click.option("--seed", type=int, help="Seed of the random distribution (default 0).")
@click.option("--cpu-ratio", type=float, help="vCPUs per core (or thread) a host may carry (default 3).")
@click.option("--vcore", type=click.Choice(["core", "thread"]), help="Count host cores or threads (default core).")
@click.option("-k", "--kavlan", is_flag=True, help="Ask for a KaVLAN (isolated network) instead of subnets.")
def main(input_path, **options):
    """Build the request and the VMs, and size the hosts they need from reference data.

    Reads a topology (vm5k XML or a vm5k document) with -i, or builds N VMs with -n.
    """
    run_stage("topo", stage.run, input_path=input_path,
              new_document=None if input_path else stage.new_document, version=__version__, **options)
