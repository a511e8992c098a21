"""Output on the lab (issue 16 "done when"): the pipeline for 6 VMs, piped, prints at most
10 stderr lines at default verbosity; then vm5k-hosts on a terminal (a pty) draws its live
line, step by step with its counts, and leaves one summary line. Destroy and release always.

About 50 s on the 2-core machine: opt in with VM5K_TEST_OUTPUT_LAB=1. With a lab of 10
hosts (`--lab-hosts 10`), also 100 VMs through topo | oar | net | hosts: the same few lines
(vm5k-vms at that size is issue 14's boot work, not run here).
"""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_output import in_pty, redraws, screen_lines  # noqa: E402

sys.path.pop(0)

BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "VM5K_LAB_LOCKED": "1", "TERM": "xterm", "COLUMNS": "160"}
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("VM5K_TEST_OUTPUT_LAB") != "1",
                                 reason="opt in: VM5K_TEST_OUTPUT_LAB=1 (a 6-VM pipeline, ~50 s)")]


def sh(script, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=900)


def test_six_vms_piped_print_at_most_ten_lines_and_hosts_draws_live(lab, tmp_path):
    deploy = sh(f"vm5k-topo --platform lab -n 6 -r lab:3 -t '{TEMPLATE}' -w 0:30:00"
                " | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms > deployed.json", tmp_path)
    try:
        print(deploy.stderr)
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        lines = deploy.stderr.splitlines()
        assert len(lines) <= 10, deploy.stderr
        assert "\x1b" not in deploy.stderr
        per_stage = {}
        for line in lines:
            per_stage[line.split(":")[0]] = per_stage.get(line.split(":")[0], 0) + 1
        print("stderr lines per stage:", per_stage)
        assert per_stage.get("vm5k-hosts") == 1, deploy.stderr      # one summary, no KO line

        # again on a terminal: the hosts are prepared already, every step still runs
        code, text = in_pty([str(BIN / "vm5k-hosts"), "-i", "deployed.json", "-o", "again.json"],
                            timeout=600, cwd=tmp_path, env=ENV)
        assert code == 0, text
        live = redraws(text, "vm5k-hosts: ")
        steps = {line.split("...")[0].split(": ")[1] for line in live if "..." in line}
        print("live steps:", sorted(steps), len(live), "redraws")
        assert {"check", "prepare"} <= steps, live
        assert any("3 done of 3 hosts" in line for line in live), live
        left = screen_lines(text)
        assert len(left) == 1 and left[0].startswith("vm5k-hosts: 3 hosts ready, 0 KO in "), left
    finally:
        clean = sh("vm5k-vms --destroy -i deployed.json | vm5k-oar --release > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]


def test_hundred_vms_on_ten_hosts_up_to_hosts_print_a_few_lines(lab, tmp_path):
    if len(lab["hosts"]) < 10:
        pytest.skip("needs a lab of 10 hosts: --lab-hosts 10")
    done = sh(f"vm5k-topo --platform lab -n 100 -r lab:10 -t '{TEMPLATE}' --cpu-ratio 10 -w 0:30:00"
              " | vm5k-oar | vm5k-net | vm5k-hosts > hosts.json", tmp_path)
    try:
        print(done.stderr)
        assert done.returncode == 0, done.stderr[-3000:]
        assert len(done.stderr.splitlines()) <= 6, done.stderr
        # -v: the detail (per step here, as the hosts are prepared already: no change left)
        verbose = sh("vm5k-hosts -v -i hosts.json -o again.json", tmp_path)
        print(verbose.stderr)
        assert verbose.returncode == 0 and "vm5k-hosts: prepare: 10 hosts in " in verbose.stderr, verbose.stderr
    finally:
        clean = sh("vm5k-oar --release -i hosts.json > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
