"""vm5k's flags, as its README and `vm5k --help` spelled them (bin/vm5k of lpouillo/vm5k,
0.7, plus the older spellings its README still shows), and the few new ones. The flags no
stage can honour are here too, so that they fail with the reason instead of 'no such option'.
"""
import click

DISTRIBUTIONS = ["round-robin", "concentrated", "n_by_hosts", "random"]

# old flag -> why the pipeline has no equivalent (exit 2 with this line)
UNSUPPORTED = {
    "--program": "no stage runs a program: run it after vm5k, on DIR/hosts.list and DIR/vms.list",
    "--aptcacher": "no stage deploys an apt cache",
    "--packages-upgrade": "vm5k-hosts installs missing packages and never upgrades the others",
}
# -l/--vm_disk_location: 'one' (each VM's disk on its host) is what vm5k-vms does
DISK_LOCATION_ALL = ("vm5k-vms creates a VM's disk on its own host only "
                     "(`vm5k-vms --migrate` copies the disk with the VM)")


def _refuse(ctx, param, value):
    if value:
        raise click.UsageError(f"{param.opts[-1]}: not supported: {UNSUPPORTED[param.opts[-1]]}")
    return value


def _disk_location(ctx, param, value):
    if value == "all":
        raise click.UsageError(f"--vm_disk_location all: not supported: {DISK_LOCATION_ALL}")
    return value


def _opt(*decls, **attrs):
    return click.Option(list(decls), **attrs)


def _unsupported(*decls, is_flag=True):
    return click.Option(list(decls), is_flag=is_flag, callback=_refuse, expose_value=False,
                        help="Not supported (the error says why).")


PARAMS = [
    # Mode
    _opt("-n", "--n_vm", "n_vm", type=int, help="Number of VMs (vm5k-topo -n)."),
    _opt("-i", "--infile", "infile", metavar="FILE", help="vm5k topology XML (or a document): vm5k-topo -i."),
    _opt("-j", "--job_id", "--job-id", "--oargrid_job_id", "job_id", metavar="[SITE:]ID[,...]",
         help="Reuse these OAR jobs (vm5k-oar -j); a bare ID on a one-site platform."),
    _opt("-w", "--walltime", "walltime", metavar="H:MM:SS", help="Reservation walltime (vm5k-oar -w)."),
    _opt("-k", "--kavlan", "kavlan", is_flag=True,
         help="A KaVLAN: vm5k-topo -k | vm5k-oar | vm5k-hosts | vm5k-net --kavlan | vm5k-vms."),
    # Physical hosts
    _opt("-r", "--resources", "resources", metavar="ELEMENTS", help="Sites, clusters, grid5000, with :N (vm5k-topo -r)."),
    _opt("-b", "--blacklisted", "--blacklist", "blacklist", metavar="ELEMENTS",
         help="Sites, clusters or hosts to leave out (vm5k-topo -b)."),
    _opt("-e", "--env_name", "--host_env_name", "env_name", metavar="ENV", help="kadeploy3 environment (vm5k-hosts -e)."),
    _opt("-a", "--env_file", "--host_env_file", "env_file", metavar="FILE",
         help="kadeploy3 environment file (vm5k-hosts -a)."),
    _opt("--forcedeploy", is_flag=True, help="Deploy even deployed hosts (vm5k-hosts --forcedeploy)."),
    _opt("--nodeploy", is_flag=True, help="Do not deploy, only check the hosts (vm5k-hosts --nodeploy)."),
    _opt("--no-packages-management", "no_packages", is_flag=True, help="vm5k-hosts --no-packages."),
    _opt("--other-packages", "--host-packages", "other_packages", metavar="P1,P2",
         help="More packages on the hosts (vm5k-hosts --other-packages)."),
    _unsupported("--packages-upgrade"),
    # Virtual machines
    _opt("-t", "--vm_template", "vm_template", metavar="XML|FILE",
         help="<vm mem=.. hdd=.. n_cpu=.. cpuset=.. backing_file=../>, inline or in a file (vm5k-topo -t)."),
    _opt("-f", "--vm_backing_file", "vm_backing_file", metavar="IMAGE",
         help="The VMs' backing file when the template names none (vm5k-topo -t)."),
    _opt("-d", "--vm_distribution", "vm_distribution", type=click.Choice(DISTRIBUTIONS),
         help="How VMs are spread on hosts (vm5k-topo -d)."),
    _opt("-l", "--vm_disk_location", "vm_disk_location", type=click.Choice(["one", "all"]),
         callback=_disk_location, expose_value=False, help="one (what vm5k-vms does); all is not supported."),
    _opt("--vm-clean-disks", "vm_clean_disks", is_flag=True, expose_value=False,
         help="Always so: vm5k-vms removes a VM's old disk before creating it."),
    # Execution
    _opt("-o", "--outdir", "outdir", metavar="DIR",
         help="Keep every stage's document, final_topo.xml, hosts.list and vms.list here "
              "(default: vm5k_YYYYMMDD_HHMMSS)."),
    _opt("-v", "--verbose", "verbose", count=True, help="More logs from every stage."),
    _opt("-q", "--quiet", "quiet", is_flag=True, help="Only errors from every stage."),
    _unsupported("-p", "--program", is_flag=False),
    _opt("--plot", is_flag=True, help="Also draw DIR/final_topo.png (vm5k-doc plot) from the last document."),
    _unsupported("--aptcacher"),
    # new
    _opt("--platform", type=click.Choice(["auto", "g5k", "lab", "static"]),
         help="vm5k-topo --platform (default auto: a Grid'5000 frontend, else a running lab)."),
    _opt("--reference", metavar="PATH", help="Reference data (vm5k-topo --reference)."),
    _opt("--dry-run", "dry_run", is_flag=True, help="Every stage plans only: nothing reserved, deployed or started."),
    _opt("--events", metavar="FILE", help="Every stage appends its NDJSON events to FILE."),
    _opt("--explain", is_flag=True, help="Print the equivalent pipe and run nothing."),
]
