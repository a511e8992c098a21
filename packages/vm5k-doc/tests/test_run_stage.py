"""The stage runner: the document is always written, failed documents pass through."""
import io as stdio
import json
import sys

import pytest
from vm5k_doc.cli import run_stage
from vm5k_doc.errors import NoResources

FAILED = {"vm5k": {"version": 1, "platform": "lab", "stages": ["topo"]},
          "vms": [{"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1}],
          "events": [{"stage": "oar", "at": "now", "ok": False, "status": 4, "message": "no slot"}]}


def run(monkeypatch, doc, work, stage="net"):
    monkeypatch.setattr(sys, "stdin", stdio.TextIOWrapper(stdio.BytesIO(json.dumps(doc).encode())))
    out = stdio.BytesIO()
    monkeypatch.setattr(sys, "stdout", stdio.TextIOWrapper(out))
    with pytest.raises(SystemExit) as info:
        run_stage(stage, work)
    return info.value.code, json.loads(out.getvalue())


def test_failed_document_passes_through_unchanged_with_its_status(monkeypatch):
    called = []
    status, doc = run(monkeypatch, FAILED, lambda ctx: called.append(1))
    assert status == 4 and doc == FAILED and not called


def test_failure_is_recorded_and_the_document_written(monkeypatch):
    ok = {**FAILED, "events": []}

    def work(ctx):
        ctx.doc["vms"][0]["state"] = "KO"
        raise NoResources("3 addresses missing")
    status, doc = run(monkeypatch, ok, work)
    assert status == 4 and doc["vms"][0]["state"] == "KO"
    assert doc["events"][-1] | {"at": "x", "seconds": 0} == {"stage": "net", "at": "x", "seconds": 0, "ok": False,
                                                             "status": 4, "message": "3 addresses missing"}
    assert doc["vm5k"]["stages"] == ["topo"]


def test_partial_marks_the_stage_done(monkeypatch):
    status, doc = run(monkeypatch, {**FAILED, "events": []}, lambda ctx: 3)
    assert status == 3 and doc["vm5k"]["stages"] == ["topo", "net"]


def test_interrupt_is_130_with_the_document(monkeypatch):
    def work(ctx):
        raise KeyboardInterrupt
    status, doc = run(monkeypatch, {**FAILED, "events": []}, work)
    assert status == 130 and doc["events"][-1]["status"] == 130


def test_cleanup_runs_on_a_failed_document(monkeypatch):
    """`vm5k-oar --release` on a document that failed later must still release the job."""
    def work(ctx):
        ctx.doc.setdefault("reservation", {})["released"] = True
    monkeypatch.setattr(sys, "stdin", stdio.TextIOWrapper(stdio.BytesIO(json.dumps(FAILED).encode())))
    out = stdio.BytesIO()
    monkeypatch.setattr(sys, "stdout", stdio.TextIOWrapper(out))
    with pytest.raises(SystemExit) as info:
        run_stage("oar", work, cleanup=True)
    doc = json.loads(out.getvalue())
    assert info.value.code == 0 and doc["reservation"]["released"] is True


def test_a_dead_ssh_does_not_kill_the_stage(monkeypatch):
    """The script of a host whose ssh already exited (connection refused) hits a closed
    pipe: the stage goes on and the document is written (CI once lost it to SIGPIPE)."""
    import subprocess

    def work(ctx):
        proc = subprocess.Popen(["true"], stdin=subprocess.PIPE)
        proc.wait()
        with pytest.raises(BrokenPipeError):
            proc.stdin.write(b"x" * 200_000)
            proc.stdin.flush()
        ctx.doc["vms"][0]["state"] = "KO"
    status, doc = run(monkeypatch, {**FAILED, "events": []}, work)
    assert status == 0 and doc["vms"][0]["state"] == "KO"
