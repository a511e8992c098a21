"""The execo mends: each bug is there before, gone after, and mending twice is harmless."""
import os
import tempfile

import pytest
from vm5k_hosts import execo_mends


def test_mends_fix_the_three_bugs():
    from execo import action, process
    execo_mends.apply()
    assert hasattr(process.TaktukProcess, "_trigger_start_handlers")
    assert hasattr(process.TaktukProcess, "_trigger_end_handlers")
    assert process._decode("already text") == "already text"
    assert process._decode(b"bytes") == "bytes"
    fd, path = tempfile.mkstemp()
    try:
        action.os.write(fd, "str is written")
        os.close(fd)
        assert open(path).read() == "str is written"
    finally:
        os.unlink(path)
    assert execo_mends.apply() == []     # once only


@pytest.mark.slow
def test_taktuk_remote_runs_locally_once_mended(tmp_path):
    import shutil
    if not shutil.which("taktuk"):
        pytest.skip("taktuk not installed")
    import execo
    execo_mends.apply()
    # a connector that runs the command here ("ssh HOST CMD" without ssh): execo's whole
    # taktuk path is used, no host or key is needed
    connector = tmp_path / "local-ssh"
    connector.write_text('#!/bin/sh\nshift\nexec sh -c "$*"\n')
    connector.chmod(0o755)
    remote = execo.TaktukRemote("echo mended", [execo.Host("localhost")],
                                connection_params={"taktuk_connector": str(connector),
                                                   "taktuk_connector_options": ()})
    remote.run(timeout=30)
    if not remote.ok:
        pytest.skip("taktuk cannot reach localhost here: " + remote.processes[0].stderr[-200:])
    assert remote.processes[0].stdout.strip() == "mended"
