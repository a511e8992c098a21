"""What every vm5k command shares (DESIGN.md §4): the same flags, the same streams, the
same exit statuses, one-line errors, and the rule that the document is always written.

A stage is a function `work(ctx, **options)` that changes `ctx.doc` in place and may
return an ExitStatus (PARTIAL) or raise a Vm5kError. `run_stage` does the rest.
"""
import logging
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field

import click

from . import document, io
from .errors import InputError, Vm5kError
from .events import EventLog
from .schema import problem as schema_problem
from .status import EXIT_STATUS_HELP, ExitStatus

log = logging.getLogger("vm5k")


@dataclass
class StageContext:
    stage: str
    doc: dict
    dry_run: bool = False
    force: bool = False
    verbose: int = 0
    events: EventLog = None
    log: logging.Logger = field(default_factory=lambda: log)
    input_kind: str = "json"
    input_lines: dict = field(default_factory=dict)  # XML lines of hosts/clusters, for errors


def stage_options(func):
    """The flags every stage has: -i/-o/--xml/--dry-run/--force/--events/-v/-q."""
    options = [
        click.option("-i", "--input", "input_path", metavar="FILE", help="Read the document (JSON or XML) from FILE instead of stdin ('-')."),
        click.option("-o", "--output", "output_path", metavar="FILE", help="Write the document to FILE instead of stdout."),
        click.option("--xml", "as_xml", is_flag=True, help="Write vm5k's state XML instead of JSON."),
        click.option("--dry-run", is_flag=True, help="Plan only: touch no platform, reserve and start nothing."),
        click.option("--force", is_flag=True, help="Redo work already done according to the document."),
        click.option("--events", "events_path", metavar="FILE", help="Append NDJSON events (one per transition) to FILE."),
        click.option("-v", "--verbose", count=True, help="More logs on stderr; tracebacks on errors."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def epilog(examples):
    return f"\b\nExamples:\n{examples}\n\n\b\n{EXIT_STATUS_HELP}"


def setup_logging(prog, verbose, quiet):
    level = logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    root = logging.getLogger("vm5k")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def fail(prog, message, status):
    click.echo(f"{prog}: error: {message}", err=True)
    sys.exit(int(status))


def run_stage(stage, work, *, input_path=None, output_path=None, as_xml=False, dry_run=False,
              force=False, events_path=None, verbose=0, quiet=False, new_document=None,
              version=None, cleanup=False, **options):
    """Read, check, run `work`, and always write the document; exit with its status.

    new_document: for the first stage, a callable giving the document when no -i is
    given (stdin is not read then). cleanup: this run releases or destroys what the
    document holds (`vm5k-oar --release`, `vm5k-vms --destroy`): it runs on a failed
    document too, since that is exactly when a granted job must still be released.
    """
    prog = f"vm5k-{stage}"
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    setup_logging(prog, verbose, quiet)
    try:
        if input_path is None and new_document is not None:
            doc, kind, lines = None, "json", {}
        else:
            doc, kind, lines = io.read(input_path or "-")
    except Vm5kError as exc:
        fail(prog, str(exc), exc.status)

    if doc is not None and not cleanup:
        failed = document.failed_status(doc, stage)
        if failed is not None:
            log.warning("input document failed earlier (exit %s): passed through unchanged", failed)
            io.write(doc, output_path, as_xml)
            sys.exit(failed)

    ctx = StageContext(stage=stage, doc=doc, dry_run=dry_run, force=force, verbose=verbose,
                       events=EventLog(stage, events_path), input_kind=kind, input_lines=lines)
    start, at = time.monotonic(), document.now()
    status, message = ExitStatus.OK, None
    try:
        if ctx.doc is None:
            ctx.doc = new_document(ctx, **options)
        result = work(ctx, **options)
        if result is not None:
            status = ExitStatus(result)
    except Vm5kError as exc:
        status, message = exc.status, str(exc)
    except KeyboardInterrupt:
        status, message = ExitStatus.INTERRUPTED, "interrupted"
    except Exception as exc:  # a bug: keep the document, say it in one line
        status, message = ExitStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}"
        if verbose:
            traceback.print_exc()
    finally:
        ctx.events.close()

    doc = ctx.doc
    if doc is None:  # nothing was reached: there is no document to write
        fail(prog, message or "no document", status)
    if status in (ExitStatus.OK, ExitStatus.PARTIAL):
        document.mark_stage(doc, stage, version or "0.1.0")
    if dry_run:
        doc["vm5k"]["dry_run"] = True
    document.add_event(doc, stage, at, time.monotonic() - start, ok=status == ExitStatus.OK,
                       status=status, message=message)
    problem = schema_problem(doc) if status != ExitStatus.BAD_INPUT else None
    try:
        io.write(doc, output_path, as_xml)
    except BrokenPipeError:
        pass
    except (OSError, TypeError, ValueError) as exc:
        fail(prog, f"cannot write the document: {exc}", ExitStatus.ERROR if status == ExitStatus.OK else status)
    if problem:  # our own output broke the schema: a bug, but the document is written
        fail(prog, f"output document invalid: {problem}", ExitStatus.ERROR)
    if message:
        click.echo(f"{prog}: {'error' if status != ExitStatus.PARTIAL else 'partial'}: {message}", err=True)
    sys.exit(int(status))


def check_positive(name, value, maximum):
    if value is not None and not 0 < value <= maximum:
        raise InputError(f"{name} must be between 1 and {maximum}, got {value}")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=epilog("  vm5k-topo -n 4 --dry-run | vm5k-doc validate\n"
                           "  vm5k-doc convert --xml < deployment.json > final_topo.xml\n"
                           "  vm5k-doc schema > document-v1.json"))
@click.version_option(package_name="vm5k-doc")
def main():
    """Check and convert vm5k deployment documents."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


@main.command()
@click.option("-i", "--input", "input_path", default="-", metavar="FILE", help="Document (JSON or XML); '-' is stdin.")
def validate(input_path):
    """Exit 0 if the document matches the schema, else 2 with one line naming the path."""
    try:
        doc, _, _ = io.read(input_path)
    except Vm5kError as exc:
        fail("vm5k-doc", str(exc), exc.status)
    click.echo(f"ok: {len(doc.get('vms', []))} VMs, {len(doc.get('hosts', []))} hosts, "
               f"stages {','.join(doc['vm5k']['stages']) or '-'}", err=True)


@main.command()
@click.option("-i", "--input", "input_path", default="-", metavar="FILE", help="Document (JSON or XML); '-' is stdin.")
@click.option("--xml", "as_xml", is_flag=True, help="Write vm5k's state XML (default: JSON).")
def convert(input_path, as_xml):
    """Read JSON or XML, write JSON or (--xml) vm5k's state XML."""
    try:
        doc, _, _ = io.read(input_path)
    except Vm5kError as exc:
        fail("vm5k-doc", str(exc), exc.status)
    io.write(doc, "-", as_xml)


@main.command()
def schema():
    """Print the JSON Schema of the document."""
    import json

    from .schema import schema as load_schema
    click.echo(json.dumps(load_schema(), indent=1))
