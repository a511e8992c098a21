import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args, check=None, **kw):
    """vm5k-sweep as a user runs it: a separate process, real exit status and streams."""
    p = subprocess.run([sys.executable, "-m", "vm5k_sweep", *map(str, args)],
                       capture_output=True, text=True, timeout=60, **kw)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def popen_cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "vm5k_sweep", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def status(d):
    return json.loads(run_cli("status", d, check=0).stdout)


def records(d):
    """run.json of every combination that has one, read straight from DIR."""
    return {p.parent.name: json.loads(p.read_text()) for p in Path(d).glob("runs/*/run.json")}


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(name="status")
def status_fixture():
    return status


@pytest.fixture(name="records")
def records_fixture():
    return records


@pytest.fixture(name="popen_cli")
def popen_fixture():
    return popen_cli
