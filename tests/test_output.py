"""Output that scales (issue 14) and live progress (issue 16), through the real commands:

- on a terminal (a pty here), a stage draws one live line that changes as it goes, erased
  at the end, then its summary;
- piped, at default verbosity, the stages print a few summary lines, however many VMs and
  hosts; the per-host and per-VM lines come with -v.

No lab: vm5k-oar against a fake scheduler whose job waits a few polls, vm5k-sweep on a
local command, and dry runs on the bundled Grid'5000 snapshot. (The pipeline on the lab,
with vm5k-hosts' live line: test_output_lab.py.)
"""
import json
import os
import pathlib
import pty
import re
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
       "TERM": "xterm", "COLUMNS": "160"}


def in_pty(argv, timeout=60, cwd=None, env=None):
    """Run argv with stdin, stdout and stderr a pseudo-terminal; (exit status, what it drew)."""
    pid, fd = pty.fork()
    if pid == 0:
        if cwd:
            os.chdir(cwd)
        os.execve(argv[0], argv, env or ENV)
    got, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:   # the child is gone
            break
        if not chunk:
            break
        got.extend(chunk)
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), got.decode(errors="replace")


def redraws(text, prefix):
    """Each state of the live line that starts with `prefix` (escapes out), in order."""
    plain = re.split(r"\r|\n", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    seen = []
    for line in plain:
        if line.startswith(prefix) and (not seen or seen[-1] != line):
            seen.append(line)
    return seen


def screen_lines(text):
    """The lines left on the terminal at the end: a tiny terminal for what rich writes
    (text, CR, LF, ESC[2K erase the line, ESC[nA cursor up; other escapes ignored)."""
    screen, row = [""], 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", text):
        if token == "\n":
            row += 1
            screen += [""] * (row + 1 - len(screen))
        elif token == "\x1b[2K":
            screen[row] = ""
        elif token.startswith("\x1b[") and token.endswith("A"):
            row = max(0, row - int(token[2:-1] or 1))
        elif token != "\r" and not token.startswith("\x1b"):
            screen[row] += token
    return [line for line in screen if line.strip()]


OAR_DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from test_cli import FakeOar
    from vm5k_oar import cli, stage
    from vm5k_oar.oar_text import JobInfo

    class SlowOar(FakeOar):          # Waiting for 4 polls of 0.5 s, then Running
        poll_seconds = 0.5
        def job(self, site, job_id):
            if self.polls < 3:
                self.polls += 1
                return JobInfo(site, job_id, "Waiting", start=self.now + 30)
            return super().job(site, job_id)

    stage.make_backend = lambda *a, **k: SlowOar()
    sys.argv = ["vm5k-oar", *sys.argv[1:]]
    cli.main()
""")


@pytest.fixture
def topo_doc_file(tmp_path):
    sys.path.insert(0, str(ROOT / "packages/vm5k-oar/tests"))
    try:
        from conftest import _lab_reference, _topo_doc
    finally:
        sys.path.pop(0)
    path = tmp_path / "topo.json"
    path.write_text(json.dumps(_topo_doc(reference=_lab_reference(tmp_path))))
    return path


def test_oar_on_a_terminal_shows_the_job_state_live_then_one_summary(tmp_path, topo_doc_file):
    driver = tmp_path / "oar_driver.py"
    driver.write_text(OAR_DRIVER.format(tests=str(ROOT / "packages/vm5k-oar/tests")))
    code, text = in_pty([sys.executable, str(driver), "-w", "0:20:00", "-i", str(topo_doc_file),
                         "-o", str(tmp_path / "oar.json")])
    assert code == 0, text
    live = redraws(text, "vm5k-oar: waiting...")
    assert any("lab:101 Waiting, starts in" in line for line in live), live
    assert any("1 running of 1 jobs" in line for line in live), live
    elapsed = [re.search(r"\[(\d+)s elapsed\]", line).group(1) for line in live]
    assert len(set(elapsed)) >= 2, live          # redrawn while it waits: the time moves
    assert screen_lines(text) == [
        "vm5k-oar: job lab:101 submitted for as soon as possible: slash_22=1+{cluster='lab'}/nodes=2,walltime=0:20:00",
        next(line for line in screen_lines(text) if line.startswith("vm5k-oar: job lab:101 running after"))], text
    assert json.loads((tmp_path / "oar.json").read_text())["reservation"]["jobs"][0]["state"] == "Running"


def test_oar_quiet_on_a_terminal_draws_nothing(tmp_path, topo_doc_file):
    driver = tmp_path / "oar_driver.py"
    driver.write_text(OAR_DRIVER.format(tests=str(ROOT / "packages/vm5k-oar/tests")))
    code, text = in_pty([sys.executable, str(driver), "-q", "-w", "0:20:00", "-i", str(topo_doc_file),
                         "-o", str(tmp_path / "oar.json")])
    assert code == 0 and text == "", repr(text)


def test_sweep_on_a_terminal_counts_combinations_live(tmp_path):
    code, text = in_pty([str(BIN / "vm5k-sweep"), "run", str(tmp_path / "sw"), "-p", "n=1,2,3", "--",
                         "sh", "-c", "sleep 0.8; exit $((VM5K_P_N == 2))"])
    assert code == 3, text
    live = redraws(text, "vm5k-sweep: running...")
    assert live[0].startswith("vm5k-sweep: running... 1 running of 3 combinations"), live
    assert any("1 done, 1 failed" in line for line in live), live
    # left on the screen: the failure and the summary; no line per combination done
    left = screen_lines(text)
    assert len(left) == 2 and left[0].startswith("vm5k-sweep: failed n=2 (exit 1, "), left
    assert left[1] == "vm5k-sweep: 2 done, 1 failed (3 combinations)", left


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=300)


@pytest.mark.parametrize("n_vm", [6, 1000])
def test_piped_dry_run_pipeline_prints_a_few_lines_at_any_size(tmp_path, n_vm):
    """topo | oar | net | hosts on the bundled snapshot: a few summary lines whether 6 or
    1 000 VMs (vm5k-vms, being rewritten, counts its own lines)."""
    done = sh(f"vm5k-topo --platform g5k -n {n_vm} --dry-run | vm5k-oar -w 2:00:00 --dry-run"
              " | vm5k-net --dry-run | vm5k-hosts --dry-run > planned.json", tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert 2 <= len(lines) <= 6, done.stderr
    assert {line.split(":")[0] for line in lines} <= {"vm5k-topo", "vm5k-oar", "vm5k-net", "vm5k-hosts"}
    assert "\x1b" not in done.stderr      # not a terminal: no live line, no escapes
    quiet = sh(f"vm5k-topo -q --platform g5k -n {n_vm} --dry-run | vm5k-oar -q -w 2:00:00 --dry-run"
               " | vm5k-net -q --dry-run | vm5k-hosts -q --dry-run > planned.json", tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


def test_vm5k_stages_share_one_terminal_without_garbling(tmp_path):
    """`vm5k` runs the five stages one after the other on the same terminal: each draws its
    line while it runs and erases it; what stays is each stage's summary, then vm5k's."""
    code, text = in_pty([str(BIN / "vm5k"), "--platform", "g5k", "--dry-run", "--n_vm", "6", "-w", "0:30:00",
                         "-o", "out"], cwd=tmp_path)
    assert code == 0, text
    left = screen_lines(text)
    order = ["vm5k-topo", "vm5k-oar", "vm5k-net", "vm5k-hosts", "vm5k-vms"]
    stages = [line.split(":")[0] for line in left if line.startswith("vm5k-")]
    assert list(dict.fromkeys(stages))[:4] == order[:4] and set(stages) <= set(order), left   # whole lines
    assert stages == sorted(stages, key=order.index), left
    assert not any("elapsed]" in line for line in left), left          # no live line left over
    assert left[len(stages)].startswith("vm5k: out: ") and len(left) == len(stages) + 1 + 6, left
