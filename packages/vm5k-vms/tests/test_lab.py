"""On the lab: busybox VMs over the lab hosts, faults, rerun, Ctrl-C and destroy.

Documents are built from `vm5k-lab status` as vm5k-net/vm5k-hosts leave them (labdoc.py);
test VMs are named vmt-N on 10.77.60.0/22 so that they never meet a pipeline's VMs.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import labdoc  # noqa: E402

pytestmark = pytest.mark.lab
VMS = [os.path.join(os.path.dirname(sys.executable), "vm5k-vms")]


@pytest.fixture(scope="module")
def status(lab):
    return lab  # the lab's status: hosts, ssh, images, network


@pytest.fixture
def registered(status):
    docs = []

    def make(n, **kw):
        doc = labdoc.document(status, n, first_ip="10.77.60.11", prefix="vmt", **kw)
        labdoc.register(status, doc)
        docs.append(doc)
        return doc
    yield make
    for doc in docs:  # whatever a test left: destroy it
        subprocess.run(VMS + ["--destroy", "-q"], input=json.dumps(doc), capture_output=True, text=True, timeout=120)
    labdoc.unregister(status)


def vms(doc, *args, timeout=600):
    p = subprocess.run(VMS + list(args), input=json.dumps(doc), capture_output=True, text=True, timeout=timeout)
    return p.returncode, json.loads(p.stdout), p.stderr


def on_host(status, host_id, command):
    host = next(h for h in status["hosts"] if h["id"] == host_id)
    key = status["ssh"]["key"]
    argv = ["ssh", *status["ssh"]["options"], "-i", key, f"root@{host['address']}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout


def leftovers(status):
    left = {}
    for h in status["hosts"]:
        out = on_host(status, h["id"], "virsh -q list --all --name | grep '^vmt-'; ls /tmp/vm5k 2>/dev/null | grep '^vmt-'")
        if out.strip():
            left[h["id"]] = out.split()
    qemu = subprocess.run(["pgrep", "-f", "guest=vmt-"], capture_output=True, text=True).stdout.split()
    if qemu:
        left["qemu"] = qemu
    return left


def ssh_vm(status, target, command="hostname"):
    argv = ["ssh", *status["ssh"]["options"], "-i", status["ssh"]["key"], f"root@{target}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_six_busybox_vms_over_three_hosts_reach_ssh(status, registered, tmp_path):
    doc = registered(6)
    events = tmp_path / "events.ndjson"
    code, out, err = vms(doc, "--events", str(events), "--timeout", "120")
    assert code == 0, err
    for vm in out["vms"]:
        assert vm["state"] == "ready", vm
        assert ssh_vm(status, vm["ip"]).stdout.strip() == vm["hostname"]
    assert {vm["host"] for vm in out["vms"]} == {h["id"] for h in status["hosts"]}
    steps = [json.loads(line)["step"] for line in events.read_text().splitlines()]
    assert {"defined", "started", "lease", "tcp22", "ssh"} <= set(steps)
    print("ready (s):", sorted(vm["timings"]["ready"] for vm in out["vms"]))

    # a rerun changes nothing: every VM is ready and running
    t0 = time.monotonic()
    code, again, err = vms(out)
    assert code == 0 and "skipped" in err
    assert [v["timings"] for v in again["vms"]] == [v["timings"] for v in out["vms"]]
    assert time.monotonic() - t0 < 15

    code, gone, err = vms(out, "--destroy")
    assert code == 0, err
    assert {vm["state"] for vm in gone["vms"]} == {"destroyed"}
    assert leftovers(status) == {}


def test_broken_disk_is_ko_with_console_tail_and_a_rerun_fixes_only_it(status, registered):
    doc = registered(3)
    # a disk with no file system where the image expects its root: the guest cannot boot
    for host in doc["hosts"]:
        mini = host["images"]["mini"]
        host["images"]["broken"] = dict(mini, cmdline="root=/dev/vda rw console=ttyS0 vmlab.hostname={hostname}")
    doc["vms"][2]["backing_file"] = "broken"
    code, out, err = vms(doc, "--stall", "10")
    assert code == 3, err
    ok, bad = out["vms"][:2], out["vms"][2]
    assert [vm["state"] for vm in ok] == ["ready", "ready"]
    assert bad["state"] == "KO" and bad["error"]["step"] == "wait"
    # stuck in the initramfs shell: no progress, restarted twice, then KO with the reason
    assert "no progress for" in bad["error"]["message"] and "restarted 2 times" in bad["error"]["message"]
    assert "KO: vmt-3" in err
    assert "/dev/vda" in bad["error"]["console_tail"], bad["error"]
    assert out["events"][-1]["status"] == 3

    out["vms"][2]["backing_file"] = "mini"
    code, fixed, err = vms(out, "--timeout", "120")
    assert code == 0, err
    assert [vm["state"] for vm in fixed["vms"]] == ["ready"] * 3
    assert [v["timings"] for v in fixed["vms"][:2]] == [v["timings"] for v in ok]  # untouched
    assert "error" not in fixed["vms"][2]


def test_ctrl_c_mid_wait_writes_the_document_and_destroy_cleans_everything(status, registered, tmp_path):
    doc = registered(3)
    events = tmp_path / "events.ndjson"
    (tmp_path / "in.json").write_text(json.dumps(doc))
    proc = subprocess.Popen(VMS + ["-i", str(tmp_path / "in.json"), "--events", str(events)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # interrupt once every VM has started
        if events.exists() and events.read_text().count('"step": "started"') == 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    interrupted = json.loads(out)
    assert {vm["state"] for vm in interrupted["vms"]} <= {"started", "ready"}
    assert interrupted["events"][-1]["status"] == 130

    code, gone, err = vms(interrupted, "--destroy")
    assert code == 0, err
    assert leftovers(status) == {}
