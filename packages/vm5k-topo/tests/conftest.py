import json
import pathlib
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture
def topo():
    """Run vm5k-topo as a user would: returns (status, document or None, stderr)."""
    def run(*args, stdin=b""):
        done = subprocess.run([str(BIN / "vm5k-topo"), *args], input=stdin, capture_output=True)
        doc = json.loads(done.stdout) if done.stdout.strip().startswith(b"{") else None
        return done.returncode, doc, done.stderr.decode()
    return run
