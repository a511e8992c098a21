"""What every vm5k command shares: the same flags, the same streams, the same exit
statuses, one-line errors, and the rule that the document is always written. The stage
itself runs through vm5k_doc.stage (a library call); this module is its command line.
"""
import logging
import os
import sys
import traceback

import click

from . import io, progress
from . import stage as stage_mod
from .errors import Vm5kError
from .status import EXIT_STATUS_HELP, ExitStatus


def stage_options(func):
    """The flags every stage has: -i/-o/--xml/--dry-run/--force/--events/-v/-q."""
    options = [
        click.option("-i", "--input", "input_path", metavar="FILE", help="Read the document (JSON or XML) from FILE instead of stdin ('-')."),
        click.option("-o", "--output", "output_path", metavar="FILE", help="Write the document to FILE instead of stdout."),
        click.option("--xml", "as_xml", is_flag=True, help="Write vm5k's state XML instead of JSON."),
        click.option("--dry-run", is_flag=True, help="Plan only: touch no platform, reserve and start nothing."),
        click.option("--force", is_flag=True, help="Redo work already done according to the document."),
        click.option("--events", "events_path", metavar="FILE", help="Append NDJSON events (one per transition) to FILE."),
        click.option("-v", "--verbose", count=True, help="Per-host and per-VM lines on stderr (-vv: scripts too); tracebacks on errors."),
        click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr: no summary, no live progress."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def epilog(examples):
    return f"\b\nExamples:\n{examples}\n\n\b\n{EXIT_STATUS_HELP}"


def setup_logging(prog, verbose, quiet):
    """Summary lines (info) by default, per-host and per-VM lines (debug) with -v, errors
    only with -q; while a live progress line is drawn, log lines go above it."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = progress.Handler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    root = logging.getLogger("vm5k")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def run_command(prog, command, argv=None, verbose=False, bare_help=True):
    """Run a click command the way every vm5k command ends: a usage error or a Vm5kError
    is one line `PROG: error: ...` and its exit status, Ctrl-C is 130, a bug is one line
    (the traceback with -v). bare_help: no arguments at all print the help (not for
    stages, which read stdin then).

    SIGPIPE stays ignored (Python's default): with SIG_DFL, the ssh of a host that refuses
    the connection killed the whole stage when its script was written to that ssh's stdin,
    and no document was written. A reader that goes away (`| head`) is a BrokenPipeError."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if bare_help and not argv:
        argv = ["--help"]
    try:
        status = command.main(argv, prog_name=prog, standalone_mode=False)
    except click.exceptions.Abort:
        status = ExitStatus.INTERRUPTED
    except click.ClickException as exc:
        click.echo(f"{prog}: error: {' '.join(exc.format_message().split())}", err=True)
        status = ExitStatus.BAD_INPUT if exc.exit_code == 2 else exc.exit_code
    except Vm5kError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"{prog}: error: {exc}", err=True)
        status = exc.status
    except KeyboardInterrupt:
        status = ExitStatus.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        reader_gone()
        status = ExitStatus.OK
    except Exception as exc:  # a bug: one line, the traceback with -v
        if verbose:
            traceback.print_exc()
        click.echo(f"{prog}: error: {type(exc).__name__}: {exc}", err=True)
        status = ExitStatus.ERROR
    sys.exit(int(status or 0))


class Command(click.Command):
    """A stage's click command: usage errors (`-n abc`) are one line and exit 2, like
    every other error, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        run_command(prog_name or os.path.basename(sys.argv[0]), self, args, bare_help=False)


def reader_gone():
    """stdout's reader went away: send what is left to /dev/null, so that the flush at exit
    does not print a BrokenPipeError."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def fail(prog, message, status):
    click.echo(f"{prog}: error: {message}", err=True)
    sys.exit(int(status))


def run_stage(stage, work, *, input_path=None, output_path=None, as_xml=False, quiet=False,
              new_document=None, **options):
    """Read, run `work` (vm5k_doc.stage.run), and always write the document; exit with its status.

    new_document: for the first stage, a callable giving the document when no -i is
    given (stdin is not read then). cleanup=True: the run releases or destroys what the
    document holds, so it runs on a failed document too.
    """
    prog = f"vm5k-{stage}"
    setup_logging(prog, options.get("verbose", 0), quiet)
    try:
        if input_path is None and new_document is not None:
            doc, kind, lines = None, "json", {}
        else:
            doc, kind, lines = io.read(input_path or "-")
    except Vm5kError as exc:
        fail(prog, str(exc), exc.status)

    result = stage_mod.run(stage, work, doc, new_document=new_document, input_kind=kind,
                           input_lines=lines, live=progress.enabled(quiet), **options)
    if result.doc is None:
        fail(prog, result.message, result.status)
    try:
        io.write(result.doc, output_path, as_xml)
    except BrokenPipeError:
        reader_gone()
    except (OSError, TypeError, ValueError) as exc:
        status = ExitStatus.ERROR if result.status == ExitStatus.OK else result.status
        fail(prog, f"cannot write the document: {exc}", status)
    if result.message:
        kind = "partial" if result.status == ExitStatus.PARTIAL else "error"
        click.echo(f"{prog}: {kind}: {result.message}", err=True)
    sys.exit(int(result.status))


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=epilog("  vm5k-topo -n 4 --dry-run | vm5k-doc validate\n"
                           "  vm5k-doc convert --xml < deployment.json > final_topo.xml\n"
                           "  vm5k-doc schema > document-v1.json"))
@click.version_option(package_name="vm5k-doc")
def doc_commands():
    """Check and convert vm5k deployment documents."""


def main(argv=None):
    run_command("vm5k-doc", doc_commands, argv)


@doc_commands.command()
@click.option("-i", "--input", "input_path", default="-", metavar="FILE", help="Document (JSON or XML); '-' is stdin.")
def validate(input_path):
    """Exit 0 if the document matches the schema, else 2 with one line naming the path."""
    doc, _, _ = io.read(input_path)
    click.echo(f"ok: {len(doc.get('vms', []))} VMs, {len(doc.get('hosts', []))} hosts, "
               f"stages {','.join(doc['vm5k']['stages']) or '-'}", err=True)


@doc_commands.command()
@click.option("-i", "--input", "input_path", default="-", metavar="FILE", help="Document (JSON or XML); '-' is stdin.")
@click.option("--xml", "as_xml", is_flag=True, help="Write vm5k's state XML (default: JSON).")
def convert(input_path, as_xml):
    """Read JSON or XML, write JSON or (--xml) vm5k's state XML."""
    doc, _, _ = io.read(input_path)
    io.write(doc, "-", as_xml)


@doc_commands.command()
def schema():
    """Print the JSON Schema of the document."""
    import json

    from .schema import schema as load_schema
    click.echo(json.dumps(load_schema(), indent=1))


@doc_commands.command()
@click.option("-i", "--input", "input_path", default="-", metavar="FILE", help="Document (JSON or XML); '-' is stdin.")
@click.option("-o", "--output", "output_path", required=True, metavar="FILE", help="Picture to write: FILE.png or FILE.svg.")
def plot(input_path, output_path):
    """Draw the deployment: sites > clusters > hosts > VMs, coloured by state."""
    from . import plot as picture
    doc, _, _ = io.read(input_path)
    picture.render(doc, output_path)


@doc_commands.command()
@click.option("--events", "events_path", required=True, metavar="FILE", help="NDJSON events of vm5k-vms --events FILE.")
@click.option("-o", "--output", "output_path", required=True, metavar="FILE", help="Picture to write: FILE.png or FILE.svg.")
def timeline(events_path, output_path):
    """Draw each VM's boot, define to SSH-ready, on one time axis."""
    from . import timeline as picture
    picture.render(events_path, output_path)
