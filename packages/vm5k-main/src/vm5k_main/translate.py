"""A vm5k command line -> the stages' command lines, in pipe order: argv lists, never shell
text. Pure: it reads only a --vm_template file, and runs nothing.

    translate(["--n_vm", "6", "-w", "0:30:00"])
    -> [["vm5k-topo", "-n", "6"], ["vm5k-oar", "-w", "0:30:00"], ["vm5k-net"], ["vm5k-hosts"], ["vm5k-vms"]]
"""
import json
import os
import shlex

import click
from vm5k_doc.checks import check_backing_file, check_id
from vm5k_doc.errors import InputError
from vm5k_topo import template as topo_template

from . import flags

MAX_TEMPLATE_BYTES = 64 * 1024


def parse(argv):
    """vm5k's flags -> {option: value}; a bad or unsupported flag is a click.UsageError."""
    return click.Command("vm5k", params=flags.PARAMS).make_context("vm5k", list(argv)).params


def translate(argv):
    return stages(**parse(argv))


def stages(*, n_vm=None, infile=None, job_id=None, walltime=None, kavlan=False, resources=None,
           blacklist=None, env_name=None, env_file=None, forcedeploy=False, nodeploy=False,
           no_packages=False, other_packages=None, vm_template=None, vm_backing_file=None,
           vm_distribution=None, platform=None, reference=None, dry_run=False, events=None,
           verbose=0, quiet=False, outdir=None, explain=False, plot=False):
    """The stages' argvs for vm5k's options (outdir, explain and plot say how to run, not what)."""
    shared = [*(["--dry-run"] if dry_run else []), *_opt("--events", events),
              *(["-v"] * verbose), *(["-q"] if quiet else [])]
    topo = ["vm5k-topo", *_opt("--platform", platform), *_opt("--reference", reference),
            *_opt("-n", n_vm), *_opt("-i", infile), *_opt("-r", elements(resources, "-r")),
            *_opt("-b", elements(blacklist, "-b")), *_opt("-t", template_arg(vm_template, vm_backing_file)),
            *_opt("-d", vm_distribution), *(["-k"] if kavlan else [])]
    oar = ["vm5k-oar", *_opt("-w", walltime), *_opt("-j", jobs(job_id))]
    net = ["vm5k-net", *(["--kavlan"] if kavlan else [])]
    hosts = ["vm5k-hosts", *_opt("-e", env_name), *_opt("-a", env_file),
             *(["--forcedeploy"] if forcedeploy else []), *(["--nodeploy"] if nodeploy else []),
             *(["--no-packages"] if no_packages else []), *_opt("--other-packages", other_packages)]
    vms = ["vm5k-vms"]
    # under KaVLAN the hosts move into the vlan first, then vm5k-net starts its DHCP/DNS there
    order = [topo, oar, hosts, net, vms] if kavlan else [topo, oar, net, hosts, vms]
    return [argv + shared for argv in order]


def shell_line(argvs):
    """The pipe a user would type, every value quoted."""
    return " | ".join(shlex.join(argv) for argv in argvs)


def _opt(flag, value):
    return [] if value is None else [flag, str(value)]


def elements(text, flag):
    """-r/-b 'lyon:4,taurus' as vm5k wrote them: each name an id, each count a number."""
    if text is None:
        return None
    for item in text.split(","):
        name, colon, count = item.strip().partition(":")
        check_id(name, f"{flag} element")
        if colon and not count.isdigit():
            raise InputError(f"{flag} {item!r}: the count after ':' must be a number of hosts")
    return text


def jobs(text):
    """-j '42895' or 'grenoble:1657430,toulouse:415866': sites are ids, job ids numbers."""
    if text is None:
        return None
    for item in text.split(","):
        site, colon, job = item.strip().rpartition(":")
        if colon:
            check_id(site, "-j site")
        if not job.isdigit():
            raise InputError(f"-j {item!r}: a job is [SITE:]NUMBER")
    return text


def template_arg(template, backing_file):
    """vm5k-topo's -t: the template as given (inline, or a file's content); with
    --vm_backing_file, the template with that backing file unless it names its own (vm5k's rule)."""
    text = read_template(template) if template is not None else None
    if backing_file is None:
        return text
    check_backing_file(backing_file, "--vm_backing_file")
    fields = topo_template.parse(text)
    fields.setdefault("backing_file", backing_file)
    return json.dumps(fields)


def read_template(value):
    """Inline XML/JSON, or the path of a file holding it."""
    if value.strip()[:1] in ("<", "{"):
        return value.strip()
    if not os.path.isfile(value):
        raise InputError(f"--vm_template {value!r}: neither a <vm .../> element nor a file")
    if os.path.getsize(value) > MAX_TEMPLATE_BYTES:
        raise InputError(f"--vm_template {value}: larger than {MAX_TEMPLATE_BYTES // 1024} KB, not a one-line template")
    try:
        with open(value, encoding="utf-8") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--vm_template {value}: cannot read it: {exc}") from None
    if text[:1] not in ("<", "{"):
        raise InputError(f"--vm_template {value}: the file holds no <vm .../> element")
    return text
