"""vm5k: the command line, a thin layer over translate and pipeline."""
import sys

import click
from vm5k_doc.cli import run_command
from vm5k_doc.status import EXIT_STATUS_HELP, ExitStatus

from . import __version__, flags, pipeline, translate

EPILOG = f"""\b
Examples (vm5k's README):
  vm5k --n_vm 100 -w 2:00:00
  vm5k --n_vm 20 --vm_template mytemplate.xml --vm_backing_file /path/on/g5k/image.qcow2
  vm5k --n_vm 100 -r hercule,griffon,graphene --host_env_file path_to_my_kadeploy_env
  vm5k --n_vm 100 -r lyon:4,griffon:10 -k
  vm5k --n_vm 100 -j 42895
  vm5k -i topology_file.xml -w 6:00:00
  vm5k --explain --n_vm 6 -w 0:30:00      # the equivalent pipe, nothing run

\b
{EXIT_STATUS_HELP.replace("The document is written to stdout in every case.",
                          "Every document reached is kept in DIR.")}"""


@click.command(params=list(flags.PARAMS), context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, prog_name="vm5k")
def command(outdir, explain, plot, quiet, **options):
    """Deploy VMs with vm5k's flags, as the pipeline

    \b
      vm5k-topo | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms

    keeping each stage's document in DIR (topo.json, oar.json, net.json, hosts.json,
    deployment.json) with vm5k's final_topo.xml, hosts.list and vms.list; prints one line
    per VM at the end: id, host, ip, state.
    """
    argvs = translate.stages(quiet=quiet, **options)
    if explain:
        click.echo(translate.shell_line(argvs))
        return ExitStatus.OK
    outdir = outdir or pipeline.fresh_dir()
    outcome = pipeline.run(argvs, outdir, plot)
    if not quiet:
        click.echo(f"vm5k: {outdir}: {' '.join(outcome.files) or 'no document'}", err=True)
    for line in pipeline.summary(outcome.doc):
        click.echo(line)
    return outcome.status


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    run_command("vm5k", command, args, verbose=any(a in ("-v", "--verbose") for a in args))
