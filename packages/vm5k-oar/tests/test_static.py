"""--hosts (platform static): the list or @FILE, `user@host`, one user for every stage, and
hosts sized by asking them: the real probe script run by a local shell standing in for ssh."""
import json
import subprocess
import sys

import pytest
from vm5k_doc import platforms
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.ssh import Ssh
from vm5k_oar import static

VM5K_OAR = [sys.executable, "-m", "vm5k_oar.cli"]
# vm5k_doc.ssh's argv: options, `-l user`, `--`, the host, the command; the host "down" refuses
LOCAL_SSH = """#!/bin/sh
while [ "$1" != "--" ]; do [ "$1" = -l ] && echo "$2" >> "$(dirname "$0")/users"; shift; done
shift; host=$1; shift
[ "$host" = down ] && { echo "ssh: connect to host down port 22: Connection refused" >&2; exit 255; }
exec sh -c "$*"
"""


@pytest.fixture
def local_ssh(tmp_path):
    program = tmp_path / "ssh"
    program.write_text(LOCAL_SSH)
    program.chmod(0o755)
    return program


def test_hosts_from_a_list_or_a_file(tmp_path):
    assert static.parse_list("h1, h2") == (["h1", "h2"], None)
    listed = tmp_path / "hosts.txt"
    listed.write_text("# my rack\nroot@h1.example.org\n\nroot@10.0.0.2  # the old one\n")
    assert static.parse_list(f"@{listed}") == (["h1.example.org", "10.0.0.2"], "root")
    assert static.parse_list(f"@{listed}", ssh_user="root") == (["h1.example.org", "10.0.0.2"], "root")
    assert static.parse_list("h1", ssh_user="alice") == (["h1"], "alice")


@pytest.mark.parametrize("given, user, words", [
    ("", None, "no host"),
    ("h1,h1", None, "listed twice"),
    ("a;reboot", None, "not a valid id"),
    ("-oProxyCommand=x", None, "not a valid id"),
    ("alice@h1,bob@h2", None, "users alice, bob"),
    ("alice@h1", "root", "users alice, root"),
    ("@/nonexistent/hosts", None, "No such file"),
])
def test_bad_hosts_one_line(given, user, words):
    with pytest.raises(InputError, match=words):
        static.parse_list(given, user)


def test_probe_reads_threads_cores_and_ram_of_every_host(local_ssh):
    threads = int(subprocess.run(["nproc", "--all"], capture_output=True, text=True).stdout)
    mem_mb = int(open("/proc/meminfo").read().split()[1]) // 1024
    sizes = static.probe(["h1", "h2"], Ssh(user="me", program=str(local_ssh)))
    assert set(sizes) == {"h1", "h2"}
    got_threads, cores, got_mem = sizes["h1"]
    assert (got_threads, got_mem) == (threads, mem_mb) and 1 <= cores <= threads
    assert (local_ssh.parent / "users").read_text().split() == ["me", "me"]


def test_probe_failure_names_the_host_and_the_user(local_ssh):
    with pytest.raises(PlatformError, match="as me: down: ssh to down: ssh: connect to host down port 22"):
        static.probe(["h1", "down"], Ssh(user="me", program=str(local_ssh)))
    assert static.parse("8\n0\n16384000\n") == (8, 8, 16000)   # no lscpu: cores are threads
    assert static.parse("garbage") is None


def test_records_of_unknown_hosts_are_sized_by_asking_them(local_ssh):
    records = static.records(["h1"], None, Ssh(program=str(local_ssh)))
    assert records[0]["site"] == records[0]["cluster"] == platforms.get("static").site
    assert records[0]["mem_mb"] > 0 and records[0]["state"] == "reserved"


def test_vm5k_oar_hosts_file_places_the_vms(local_ssh, tmp_path, topo_doc):
    listed = tmp_path / "hosts.txt"
    listed.write_text("root@10.0.0.1\nroot@10.0.0.2\n")
    doc = topo_doc(platform="static", n_vm=4)
    env = {"PATH": f"{local_ssh.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}   # our ssh first
    done = subprocess.run(VM5K_OAR + ["--hosts", f"@{listed}", "--ssh-key", str(tmp_path / "none")],
                          input=json.dumps(doc), capture_output=True, text=True, env=env)
    assert done.returncode == 5 and "ssh key" in done.stderr and "does not exist" in done.stderr, done.stderr
    done = subprocess.run(VM5K_OAR + ["--hosts", f"@{listed}"], input=json.dumps(doc), capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["vm5k"]["platform"] == "static" and [h["id"] for h in out["hosts"]] == ["10.0.0.1", "10.0.0.2"]
    assert sorted(vm["host"] for vm in out["vms"]) == ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"]
    assert (local_ssh.parent / "users").read_text().split() == ["root", "root"]
