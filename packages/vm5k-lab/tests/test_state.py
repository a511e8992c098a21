"""The lab's process helpers on real processes (no root, no lab): pid files, command-line
checks, descendants, stopping by pid; and LabError's exit status."""

import subprocess

from vm5k_doc.errors import PlatformError
from vm5k_doc.status import ExitStatus
from vm5k_lab.state import (
    LabError,
    alive,
    descendants,
    pidfile_alive,
    stop_pid,
    stop_pids,
    wait_for,
)


def _shell_with_child(tag):
    """sh running `sleep` in the background: a parent and one descendant, both ours."""
    p = subprocess.Popen(["sh", "-c", f"sleep 300 & wait # {tag}"], start_new_session=True)
    assert wait_for(lambda: descendants(p.pid), 5)
    return p


def test_alive_checks_comm_and_command_line(tmp_path):
    p = _shell_with_child("vm5k-test-alive")
    try:
        assert alive(p.pid) and alive(p.pid, comm="sh")
        assert alive(p.pid, cmdline="vm5k-test-alive") and not alive(p.pid, cmdline="Almighty")
        pidfile = tmp_path / "x.pid"
        pidfile.write_text(f"{p.pid}\n")
        assert pidfile_alive(pidfile, cmdline="vm5k-test-alive") == p.pid
        assert pidfile_alive(pidfile, cmdline="postgres", drop_stale=True) is None
        assert not pidfile.exists()         # not that program: a stale file, removed
    finally:
        stop_pid(p.pid, tree=True)
        p.wait()


def test_stop_pid_with_tree_stops_the_descendants_too():
    p = _shell_with_child("vm5k-test-tree")
    kids = descendants(p.pid)
    assert stop_pid(p.pid, timeout=2, tree=True)
    p.wait()
    assert not any(alive(k) for k in kids)
    assert not stop_pid(p.pid)              # gone: nothing to stop


def test_stop_pids_kills_what_ignores_term():
    p = subprocess.Popen(["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
                         start_new_session=True)
    assert wait_for(lambda: descendants(p.pid), 5)   # the trap is set once sleep runs
    stop_pids([p.pid], timeout=0.5)
    assert p.wait(5) == -9


def test_lab_errors_are_platform_failures():
    e = LabError("no way")
    assert isinstance(e, PlatformError) and e.status == ExitStatus.PLATFORM == 5
