"""vm5k_doc.progress: the live line on a terminal (a real pty), nothing elsewhere; the log
levels of -q, default and -v; the stage context's bars; run_scripts' on_done."""
import io
import logging
import os
import re
import threading
import time

import pytest
from vm5k_doc import progress, remote
from vm5k_doc import stage as stage_mod
from vm5k_doc.cli import setup_logging
from vm5k_doc.ssh import Ssh


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def tty():
    """A pseudo-terminal: (the stage's stderr, a function reading what the terminal got)."""
    master, slave = os.openpty()
    stream = open(slave, "w", buffering=1, closefd=True)
    got = bytearray()

    def read():
        os.set_blocking(master, False)
        try:
            while True:
                chunk = os.read(master, 65536)
                if not chunk:
                    break
                got.extend(chunk)
        except (BlockingIOError, OSError):
            pass
        return got.decode(errors="replace")

    yield stream, read
    stream.close()
    os.close(master)


def plain(text):
    """What stays on the screen, roughly: escapes out, one entry per redraw."""
    return [s for s in re.split(r"\r|\n", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)) if s.strip()]


def test_text_counts_total_step_note_elapsed():
    clock = Clock()
    bar = progress.Progress("vm5k-hosts", "hosts", 10, clock=clock)
    assert bar.text() == "vm5k-hosts: hosts... 10 hosts [0s elapsed]"
    bar.update(step="prepare", done=0, ko=0)
    assert bar.text() == "vm5k-hosts: prepare... 0 done of 10 hosts [0s elapsed]"   # zeros: the first only
    clock.now += 75
    bar.update(done=7, ko=1)
    assert bar.text() == "vm5k-hosts: prepare... 7 done, 1 KO of 10 hosts [1m15s elapsed]"
    bar.update(note="wave 2/5", total=12)
    assert bar.text() == "vm5k-hosts: prepare... 7 done, 1 KO of 12 hosts wave 2/5 [1m15s elapsed]"
    clock.now += 7300
    assert bar.text().endswith("[2h02m elapsed]")   # 2 h 02 min 55 s
    assert progress.Progress("vm5k-oar", "jobs", clock=clock).update(note="lab:3 Waiting").text() == \
        "vm5k-oar: jobs... lab:3 Waiting [0s elapsed]"


def test_ko_summary_groups_by_message_and_bounds_the_ids():
    items = [(f"h{i}", "apt-get failed") for i in range(12)] + [("x", "timeout"), ("y", None)]
    assert progress.ko_summary(items) == ("h0, h1, h2, h3, h4 (+7 more): apt-get failed; x: timeout; y: KO")
    assert progress.ko_summary([]) == ""


def test_enabled_only_on_a_terminal_and_never_quiet(tty, monkeypatch):
    stream, _ = tty
    monkeypatch.setenv("TERM", "xterm")
    assert progress.enabled(stream=stream)
    assert not progress.enabled(quiet=True, stream=stream)
    assert not progress.enabled(stream=io.StringIO())           # a pipe, a file: summary lines only
    monkeypatch.setenv("TERM", "dumb")
    assert not progress.enabled(stream=stream)
    closed = io.StringIO()
    closed.close()
    assert not progress.enabled(stream=closed)


def test_not_live_draws_nothing(capsys):
    with progress.Progress("vm5k-x", "VMs", 3) as bar:
        bar.update(ready=1)
    bar.done()
    assert capsys.readouterr().err == "" and not bar.live


def test_live_line_changes_then_is_erased_with_logs_above_it(tty):
    stream, read = tty
    setup_logging("vm5k-x", 0, False)
    logging.getLogger("vm5k").handlers[0].setStream(stream)
    log = logging.getLogger("vm5k.x")
    with progress.Progress("vm5k-x", "VMs", 3, live=True, stream=stream) as bar:
        assert bar.live
        assert progress.Progress("vm5k-x", "nested", live=True, stream=stream).live is False  # one per process
        for ready in range(1, 4):
            bar.update(step="boot", ready=ready)
            log.info("line %d", ready)
            time.sleep(0.6)    # rich redraws twice a second
    log.info("summary")
    text = read()
    lines = plain(text)
    drawn = [s for s in lines if s.startswith("vm5k-x: boot...")]
    assert {"1 ready", "2 ready", "3 ready"} <= {re.search(r"\d ready", s).group() for s in drawn}, lines
    assert [s for s in lines if not s.startswith("vm5k-x: boot") and not s.startswith("vm5k-x: VMs")] == \
        ["vm5k-x: line 1", "vm5k-x: line 2", "vm5k-x: line 3", "vm5k-x: summary"]
    # erased at the end: the last thing the terminal got is the summary on a clean line
    assert text.endswith("\x1b[2Kvm5k-x: summary\n") or text.endswith("\x1b[2Kvm5k-x: summary\r\n"), repr(text[-200:])
    assert "\x1b[?25h" in text    # the cursor is given back
    assert progress._active is None


def test_say_goes_above_the_live_line_or_to_stderr(tty, capsys):
    progress.say("plain")
    assert capsys.readouterr().err == "plain\n"
    stream, read = tty
    with progress.Progress("vm5k-sweep", "combinations", 2, live=True, stream=stream):
        progress.say("vm5k-sweep: failed k")
    assert capsys.readouterr().err == ""
    assert "vm5k-sweep: failed k" in plain(read())


@pytest.mark.parametrize("verbose,quiet,level", [(0, False, logging.INFO), (1, False, logging.DEBUG),
                                                 (2, False, logging.DEBUG), (0, True, logging.WARNING),
                                                 (1, True, logging.WARNING)])
def test_levels_summary_by_default_detail_with_v_errors_with_q(verbose, quiet, level):
    setup_logging("vm5k-x", verbose, quiet)
    root = logging.getLogger("vm5k")
    assert root.level == level and isinstance(root.handlers[0], progress.Handler)


def test_stage_bars_are_live_only_when_asked_and_closed_at_the_end(tty, monkeypatch):
    stream, read = tty
    monkeypatch.setattr("sys.stderr", stream)
    seen = {}

    def work(ctx):
        seen["quiet"] = ctx.progress("VMs", 2).update(ready=1).live
        return None

    stage_mod.run("x", work, {"vm5k": {"version": 1, "platform": "lab", "stages": []}, "events": []})
    assert seen["quiet"] is False and read() == ""          # a library call draws nothing

    def slow(ctx):
        seen["live"] = ctx.progress("VMs", 2).update(ready=1).live
        time.sleep(0.3)
        raise KeyboardInterrupt   # Ctrl-C: the line is still erased, the cursor given back

    result = stage_mod.run("x", slow, {"vm5k": {"version": 1, "platform": "lab", "stages": []}, "events": []},
                           live=True)
    assert seen["live"] is True and result.status == 130
    text = read()
    assert "vm5k-x: VMs... 1 ready of 2 VMs" in text and text.rstrip().endswith("\x1b[2K"), repr(text)
    assert progress._active is None


def test_run_scripts_reports_each_host_as_it_finishes(tmp_path):
    program = tmp_path / "ssh"
    program.write_text('#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift; shift\nexec sh -c "$*"\n')
    program.chmod(0o755)
    done, lock = [], threading.Lock()

    def on_done(name, result):
        with lock:
            done.append((name, result.ok, round(time.monotonic() - start)))

    start = time.monotonic()
    scripts = {"fast": ("h1", "exit 0"), "slow": ("h2", "sleep 1"), "bad": ("h3", "exit 3")}
    remote.run_scripts(Ssh(program=str(program)), scripts, on_done=on_done)
    assert sorted(done) == [("bad", False, 0), ("fast", True, 0), ("slow", True, 1)]
    assert done[-1][0] == "slow"
