"""--migrate without the lab: the libvirt URIs, the ssh wrapper, the scripts, downtime."""
import subprocess

import pytest
from vm5k_doc.errors import InputError
from vm5k_doc.ssh import Ssh
from vm5k_vms import migrate, scripts
from vm5k_vms.plan import plan_vm
from vm5k_vms.stage import parse_migrations


def test_parse_migrations():
    assert parse_migrations(["vm-1=host2.lab", "vm-3=host1.lab"]) == [("vm-1", "host2.lab"), ("vm-3", "host1.lab")]
    with pytest.raises(InputError):
        parse_migrations(["vm-1"])


def test_libvirt_uri_carries_key_no_prompt_and_our_ssh():
    uri = migrate.libvirt_uri(Ssh(key="/k/id"), "10.77.0.12", "/tmp/x/ssh")
    assert uri == "qemu+ssh://root@10.77.0.12/system?no_verify=1&no_tty=1&keyfile=/k/id&command=/tmp/x/ssh"
    assert "keyfile" not in migrate.libvirt_uri(Ssh(), "h")


def test_ssh_wrapper_passes_our_options_then_libvirts_arguments(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ssh").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (fake / "ssh").chmod(0o755)
    wrapper = migrate.ssh_wrapper(str(tmp_path))
    out = subprocess.run([wrapper, "-l", "root", "-T", "10.77.0.11", "sh", "-c", "a b"], capture_output=True,
                         text=True, env={"PATH": f"{fake}:/usr/bin:/bin"}, check=True).stdout.splitlines()
    assert out[out.index("UserKnownHostsFile=/dev/null") - 1] == "-o"     # no known_hosts written
    assert "BatchMode=yes" in out
    assert out[-7:] == ["-l", "root", "-T", "10.77.0.11", "sh", "-c", "a b"]


def test_prepare_script_makes_the_same_overlay_on_the_same_path(vm, host, tmp_path):
    host["images"]["vm_dir"] = str(tmp_path / "vms")
    vm["backing_file"] = "debian"
    plan = plan_vm(vm, host)
    text = migrate.prepare_script("host2.lab", plan)
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    assert f"qemu-img create -q -f qcow2 -F qcow2 -b /img/debian.qcow2 {plan.overlay}" in text
    (tmp_path / "qemu-img").write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n')
    (tmp_path / "qemu-img").chmod(0o755)
    out = subprocess.run(["sh", "-s"], input=text, text=True, capture_output=True, env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert scripts.parse_line(out.stdout.splitlines()[0]) == ("vm-1", "disk", True, "")
    assert (tmp_path / "vms").is_dir()


def test_downtime_is_the_longest_silence_less_one_interval():
    pings = "\n".join(f"[{t:.6f}] 64 bytes from 10.77.4.1: icmp_seq={i} ttl=64 time=0.3 ms"
                      for i, t in enumerate([100.0, 100.1, 100.2, 100.9, 101.0]))
    assert migrate.downtime("PING 10.77.4.1\n" + pings + "\n") == 0.6
    assert migrate.downtime("") == 0.0
