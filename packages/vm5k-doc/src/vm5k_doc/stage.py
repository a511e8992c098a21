"""A stage as a library call: the context a stage works in, and the rules around it,
without click, streams or exit. `vm5k_doc.cli.run_stage` adds reading, writing and the
exit status; from Python:

    from vm5k_doc import stage
    from vm5k_net import stage as net
    result = stage.run("net", net.run, doc)      # doc changed in place
    result.status, result.message                # ExitStatus, one line or None

A stage is a function `run(ctx, **options)` that changes `ctx.doc` in place and may
return an ExitStatus (PARTIAL) or raise a Vm5kError. It says how far it is with
`ctx.progress(what, total)` (vm5k_doc.progress: a live line on a terminal, else nothing)
and logs its summary lines at info, its per-host and per-VM lines at debug (-v).
"""
import logging
import time
import traceback
from dataclasses import dataclass, field

from . import document
from . import progress as progress_mod
from .errors import Vm5kError
from .events import EventLog
from .schema import problem as schema_problem
from .status import ExitStatus

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
    live: bool = False      # draw live progress lines (stderr is a terminal, not -q)
    bars: list = field(default_factory=list)

    def progress(self, what, total=None, step=None):
        """A Progress for this stage (`with ctx.progress("hosts", total=N) as bar:`); it
        draws only when `live`, and is erased when the stage ends at the latest."""
        bar = progress_mod.Progress(f"vm5k-{self.stage}", what, total, step=step, live=self.live)
        self.bars.append(bar)
        return bar

    def close_progress(self):
        for bar in self.bars:
            bar.done()


@dataclass
class Result:
    doc: dict               # None only when a first stage failed before it had a document
    status: ExitStatus
    message: str = None     # one line for the user, None when all went well
    passed_through: bool = False  # the input had failed earlier: nothing was run


def run(stage, work, doc=None, *, new_document=None, dry_run=False, force=False, events_path=None,
        verbose=0, version=None, cleanup=False, input_kind="json", input_lines=None, live=False,
        **options):
    """Run `work` on `doc` (or on `new_document(ctx, **options)` when doc is None).

    A document that failed at an earlier stage passes through unchanged with its status,
    except with cleanup (`vm5k-oar --release`, `vm5k-vms --destroy`): releasing a granted
    job is exactly what a failed document needs. live: draw progress lines on stderr
    (vm5k_doc.cli does when stderr is a terminal and not -q).
    """
    if doc is not None and not cleanup:
        failed = document.failed_status(doc, stage)
        if failed is not None:
            log.warning("input document failed earlier (exit %s): passed through unchanged", failed)
            return Result(doc, ExitStatus(failed), passed_through=True)

    ctx = StageContext(stage=stage, doc=doc, dry_run=dry_run, force=force, verbose=verbose,
                       events=EventLog(stage), input_kind=input_kind, input_lines=input_lines or {},
                       live=live)
    start, at = time.monotonic(), document.now()
    status, message = ExitStatus.OK, None
    try:
        if ctx.doc is None:
            ctx.doc = new_document(ctx, **options)
        ctx.events = EventLog(stage, events_path)  # a bad --events path: the document is still written
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
        ctx.close_progress()   # erased before any summary or error line is printed
        ctx.events.close()

    doc = ctx.doc
    if doc is None:  # nothing was reached: there is no document
        return Result(None, status, message or "no document")
    if status in (ExitStatus.OK, ExitStatus.PARTIAL):
        document.mark_stage(doc, stage, version or "0.1.0")
    if dry_run:
        doc["vm5k"]["dry_run"] = True
    document.add_event(doc, stage, at, time.monotonic() - start, ok=status == ExitStatus.OK,
                       status=status, message=message)
    problem = schema_problem(doc) if status != ExitStatus.BAD_INPUT else None
    if problem:  # our own output broke the schema: a bug, but the document is kept
        status, message = ExitStatus.ERROR, f"output document invalid: {problem}"
    return Result(doc, status, message)
