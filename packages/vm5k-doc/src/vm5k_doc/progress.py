"""Live progress on a terminal, plain summary lines everywhere else.

What a stage prints on stderr:

- default: a few summary lines per stage (counts, time, the KO list: `ko_summary`);
- `-v`: also one line per host and per VM (`log.debug`), as the document and the events have;
- `-vv`: also the scripts vm5k-vms sends (`ctx.verbose > 1`);
- `-q`: warnings and errors only, nothing drawn;
- stderr a terminal (and not `-q`): besides, one live status line per running stage, redrawn
  with its counts and elapsed time, erased when the stage is done, like terraform's
  "Still creating... [40s elapsed]":

      vm5k-hosts: prepare... 7 done, 1 KO of 10 hosts [12s elapsed]

The live line is drawn by rich (a transient `rich.live.Live` of exactly one line, never
wrapped) and only when stderr is a terminal, so stages in one pipe share the terminal: each
one owns one line while it runs, erases it when done, then prints its summary as plain
lines. Log lines printed while a line is live go above it (`Handler`).

The API (a stage gets it from its context, `vm5k_doc.stage.StageContext.progress`):

    with ctx.progress("VMs", total=len(vms)) as bar:     # a no-op unless live
        bar.update(step="start", defined=10, started=4)  # any counts, in this order
        bar.update(ready=3, ko=1)                         # counts are kept between updates
        bar.update(note="wave 2/5")                      # free text after the counts
    ctx.log.info("%d of %d VMs ready in %.1f s", ready, len(vms), seconds)   # the summary
    if kos:
        ctx.log.warning("KO: %s", progress.ko_summary((vm["id"], why) for ...))

`update` is cheap (no drawing: rich redraws twice a second) and thread-safe, so it can be
called per VM from worker threads.

For vm5k-vms (vm5k_vms.deploy, not wired yet): `bar = ctx.progress("VMs", total=len(todo))`
where "creating and starting N VMs" is logged, with `step=` "define", "start", "wait"
as the boot loop goes; on every state change (where `emit_and_show` calls its own
`progress()` today) `bar.update(**counts)` with the VMs of `todo` counted by state, in
the order defined, started, ready, ko (`{"defined": .., "started": .., "ready": ..,
"ko": ..}`); `bar.update(note=f"wave {i}/{n}")` for admission waves. Then remove
deploy.progress() and the `sys.stderr.write("\n")` after the loop (`ctx` erases the
line when the stage ends; `bar.done()` before the summary is cleaner). Per-VM lines go
to `log.debug`: `Deployment.ko`'s warning, "not ready in time, restarted", "ready and
running, skipped", and the dry run's one line per VM; `outcome()` logs its summary line
and, when some are KO, `log.warning("KO: %s", progress.ko_summary((vm["id"],
f"{vm['error']['step']}: {vm['error']['message']}") for vm in ko))`.

Outside a stage: `progress.Progress(prog, what, total, live=progress.enabled(quiet))`
(vm5k-sweep does so).
"""
import logging
import os
import sys
import threading
import time

KO_LIMIT = 5  # ids named per message in a KO summary; the rest counted

_active = None   # the one live Progress of this process (rich allows one live display)
_active_lock = threading.Lock()


def enabled(quiet=False, stream=None):
    """A live line is drawn only on a terminal, never under -q (nor with TERM=dumb)."""
    stream = sys.stderr if stream is None else stream
    if quiet or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):   # closed or not a file
        return False


def elapsed(seconds):
    """12s, 1m05s, 2h03m: terraform's way."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def ko_summary(items, limit=KO_LIMIT):
    """One line for many failures: [(id, message)] grouped by message, at most `limit` ids
    named per message: 'h1, h2 (+8 more): apt-get failed; h4: timeout'."""
    by_message = {}
    for ident, message in items:
        by_message.setdefault(message or "KO", []).append(str(ident))
    parts = []
    for message, ids in by_message.items():
        named = ", ".join(ids[:limit]) + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")
        parts.append(f"{named}: {message}")
    return "; ".join(parts)


class Progress:
    """One stage's status: a step, counts of `total` `what`, a note, the elapsed time.

    live=False: nothing is drawn; `text()` still says what would be (the tests use it).
    """

    def __init__(self, prog, what, total=None, *, step=None, live=False, stream=None, clock=time.monotonic):
        self.prog, self.what, self.total = prog, what, total
        self.step, self.note, self.counts = step, None, {}
        self.clock, self.start = clock, clock()
        self._lock = threading.Lock()
        self._live = None
        if live:
            self._start_live(sys.stderr if stream is None else stream)

    def _start_live(self, stream):
        global _active
        from rich.console import Console
        from rich.live import Live
        with _active_lock:
            if _active is not None:   # one line per process: a nested status draws nothing
                return
            console = Console(file=stream, force_terminal=True, highlight=False, markup=False,
                              emoji=False)
            self._live = Live(get_renderable=self._renderable, console=console, transient=True,
                              refresh_per_second=2, redirect_stdout=False, redirect_stderr=False)
            _active = self
        self._live.start()

    @property
    def live(self):
        return self._live is not None

    def update(self, step=None, note=None, total=None, **counts):
        """Set the step, the note, the total or counts (ready=3, ko=1...); others are kept.
        Counts at 0 are not shown (all at 0: the first), in the order first given."""
        with self._lock:
            if step is not None:
                self.step = step
            if note is not None:
                self.note = note
            if total is not None:
                self.total = total
            self.counts.update(counts)
        return self

    def text(self):
        """vm5k-hosts: prepare... 7 done, 1 KO of 10 hosts [12s elapsed]"""
        with self._lock:
            shown = [(k, n) for k, n in self.counts.items() if n] or list(self.counts.items())[:1]
            counts = ", ".join(f"{n} {'KO' if k == 'ko' else k}" for k, n in shown)
            step, note, total = self.step, self.note, self.total
        head = f"{self.prog}: {step or self.what}..."
        if counts and total is not None:
            body = f"{counts} of {total} {self.what}"
        elif counts:
            body = counts
        elif total is not None:
            body = f"{total} {self.what}"
        else:
            body = ""
        parts = [head, body, note or "", f"[{elapsed(self.clock() - self.start)} elapsed]"]
        return " ".join(p for p in parts if p)

    def _renderable(self):
        from rich.text import Text
        return Text(self.text(), no_wrap=True, overflow="ellipsis", end="")

    def done(self):
        """Erase the live line (idempotent). The summary is the stage's to print, after."""
        global _active
        live, self._live = self._live, None
        if live is None:
            return
        try:
            live.stop()
        finally:
            with _active_lock:
                if _active is self:
                    _active = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.done()


def _above(line):
    """Print `line` above the live line; False when none is drawn."""
    active = _active
    live = active._live if active is not None else None
    if live is None:
        return False
    from rich.text import Text
    live.console.print(Text(line), soft_wrap=True)
    return True


def say(line):
    """One plain line on stderr, above the live line when one is drawn (commands that do
    not log through `logging`: vm5k-sweep)."""
    if not _above(line):
        print(line, file=sys.stderr, flush=True)


class Handler(logging.StreamHandler):
    """The stages' log handler: while a live line is drawn, a log line goes above it."""

    def emit(self, record):
        if _active is None:
            return super().emit(record)
        try:
            if not _above(self.format(record)):
                super().emit(record)
        except Exception:
            self.handleError(record)
