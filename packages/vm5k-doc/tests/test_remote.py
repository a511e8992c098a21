"""vm5k_doc.remote for real, with a local shell standing in for each host: an `ssh` program
that takes vm5k_doc.ssh's argv, drops the options and runs the command here."""
import time

import pytest
from vm5k_doc import remote
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.ssh import Ssh

# everything up to `--` is ssh's; then the host, then the command (SH_STDIN)
LOCAL_SSH = """#!/bin/sh
while [ "$1" != "--" ]; do shift; done
shift; host=$1; shift
[ "$host" = down ] && { echo "ssh: connect to host down port 22: Connection refused" >&2; exit 255; }
exec env VM5K_HOST="$host" sh -c "$*"   # as sshd: the command through a shell
"""


@pytest.fixture
def ssh(tmp_path):
    program = tmp_path / "ssh"
    program.write_text(LOCAL_SSH)
    program.chmod(0o755)
    return Ssh(program=str(program))


def test_every_host_runs_its_script_in_parallel(ssh):
    scripts = {f"h{i}": (f"10.0.0.{i}", f"sleep 1; echo $VM5K_HOST {i}") for i in range(5)}
    start = time.monotonic()
    results = remote.run_scripts(ssh, scripts)
    assert time.monotonic() - start < 3   # 5 hosts of 1 s each, at once
    assert {name: r.lines for name, r in results.items()} == {f"h{i}": [f"10.0.0.{i} {i}"] for i in range(5)}
    assert all(r.ok and r.returncode == 0 and r.error() is None and r.seconds >= 1 for r in results.values())
    assert results["h3"].stdout == "10.0.0.3 3\n"
    assert set(results.succeeded) == set(scripts) and results.failed == {}


def test_lines_stream_to_the_callback_as_they_come(ssh):
    seen = []
    script = "echo one; sleep 0.5; echo two"
    results = remote.run_scripts(ssh, {"h": ("h", script)},
                                 on_line=lambda name, line: seen.append((name, line, time.monotonic())))
    assert [(n, line) for n, line, _ in seen] == [("h", "one"), ("h", "two")]
    assert seen[1][2] - seen[0][2] >= 0.4   # the first line came before the script ended
    assert results["h"].lines == ["one", "two"]


def test_the_script_travels_on_stdin_whatever_its_size(ssh):
    script = "".join(f"echo {i} >/dev/null\n" for i in range(200_000)) + "echo done\n"  # > ARG_MAX
    assert len(script) > 2_000_000
    assert remote.run_scripts(ssh, {"h": ("h", script)})["h"].lines == ["done"]


def test_failures_say_why_in_one_line(ssh):
    results = remote.run_scripts(ssh, {"bad": ("h1", "echo partial; echo broken >&2; exit 3"),
                                       "down": ("down", "echo never"),
                                       "good": ("h2", "true")})
    assert results["bad"].returncode == 3 and results["bad"].lines == ["partial"]
    assert results["bad"].error() == "exit 3: broken"
    assert results["bad"].tail() == "broken\npartial"
    assert results["down"].error() == "ssh to down: ssh: connect to host down port 22: Connection refused"
    assert set(results.failed) == {"bad", "down"} and set(results.succeeded) == {"good"}


def test_a_host_past_the_timeout_is_killed(ssh):
    start = time.monotonic()
    result = remote.run_scripts(ssh, {"slow": ("h", "echo started; exec sleep 30")}, timeout=1)["slow"]
    assert time.monotonic() - start < 5
    assert result.returncode == -9 and result.lines == ["started"]
    assert result.error() == "timed out after 1 s"


def test_a_missing_ssh_program_is_a_result_not_a_crash(tmp_path):
    result = remote.run_scripts(Ssh(program=str(tmp_path / "no-ssh")), {"h": ("h", "true")})["h"]
    assert result.returncode is None and not result.ok
    assert "cannot run ssh" in result.error()


def test_a_bad_destination_is_refused_before_any_host_runs(ssh, tmp_path):
    mark = tmp_path / "ran"
    with pytest.raises(InputError, match="ssh destination"):
        remote.run_scripts(ssh, {"ok": ("h", f"touch {mark}"), "bad": ("-oProxyCommand=x", "true")})
    assert not mark.exists()


def test_run_script_one_host(ssh):
    assert remote.run_script(ssh, "h", "echo $VM5K_HOST; echo more") == "h\nmore\n"
    with pytest.raises(PlatformError, match="^h: exit 4: nope$"):
        remote.run_script(ssh, "h", "echo nope >&2; exit 4")


def test_an_error_is_never_a_line_of_the_reports(ssh):
    result = remote.run_scripts(ssh, {"h": ("h", "echo vm-1 create ok; exit 1")})["h"]
    assert result.error() == "exit 1"


def test_a_command_that_reads_stdin_does_not_eat_the_script(ssh):
    script = "echo before\ncat\nread line || echo eof\n" + "".join(f"echo {i}\n" for i in range(3000))
    lines = remote.run_scripts(ssh, {"h": ("h", script)})["h"].lines
    assert lines[:2] == ["before", "eof"] and lines[-1] == "2999" and len(lines) == 3002


def test_a_script_that_reports_until_told_to_stop_is_killed_when_stop_is_set(ssh):
    import threading
    stop, lines = threading.Event(), []

    def on_line(_, line):
        lines.append(line)
        if len(lines) == 3:
            stop.set()
    start = time.monotonic()
    result = remote.run_scripts(ssh, {"h": ("h", "while :; do echo tick; sleep 0.1; done")},
                                on_line=on_line, timeout=60, stop=stop)["h"]
    assert time.monotonic() - start < 10 and 3 <= len(lines) <= 5
    assert result.returncode == -9 and result.timed_out is None
