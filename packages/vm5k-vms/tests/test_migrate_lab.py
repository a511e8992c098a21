"""On the lab: live migration of one VM between two lab hosts, through the real pipeline.

    vm5k-topo -n 2 -r lab:2 | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms
    vm5k-vms --migrate vm-1=<the other host>

then: the document says where vm-1 is now, with the migration's duration and downtime;
`virsh list` on the destination shows it and the source's no longer does; vm-1 answers SSH
with its own name. `vm5k-vms --destroy | vm5k-oar --release` always, and nothing is left.
"""
import json
import pathlib
import subprocess
import sys
import time

import pytest

BIN = pathlib.Path(sys.executable).parent
ENV_PATH = f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'


def sh(script, cwd, timeout=300):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": ENV_PATH, "HOME": "/root", "LANG": "C.UTF-8", "VM5K_LAB_LOCKED": "1"}, timeout=timeout)


def ssh(lab, address, command, timeout=60):
    argv = ["ssh", "-i", lab["ssh"]["key"], *lab["ssh"]["options"], f"root@{address}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def running(lab, doc, host_id):
    """The names of the domains running on a host, as its own libvirtd sees them."""
    address = next(h["address"] for h in doc["hosts"] if h["id"] == host_id)
    out = ssh(lab, address, "virsh -q -c qemu:///system list --name")
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def files(lab, doc, host_id, vm_id):
    address = next(h["address"] for h in doc["hosts"] if h["id"] == host_id)
    return ssh(lab, address, f"ls /tmp/vm5k/ 2>/dev/null | grep '^{vm_id}[.-]' || true").stdout.split()


@pytest.mark.lab
def test_migrate_one_vm_between_two_lab_hosts(lab, tmp_path):
    subprocess.run([str(BIN / "vm5k-lab"), "-q", "image", "mini"], check=True, capture_output=True, timeout=600)
    t0 = time.monotonic()
    deploy = sh(f"vm5k-topo --platform lab -n 2 -r lab:2 -t '{TEMPLATE}' -w 0:15:00"
                " | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms --timeout 60 > deployed.json", tmp_path)
    t_deploy = time.monotonic() - t0
    job, hosts = None, []
    try:
        doc = json.loads((tmp_path / "deployed.json").read_text())
        job = (doc.get("reservation") or {}).get("jobs", [{}])[0]
        assert deploy.returncode == 0, deploy.stderr[-3000:]
        vm = next(v for v in doc["vms"] if v["id"] == "vm-1")
        assert vm["state"] == "ready", vm
        hosts = sorted(h["id"] for h in doc["hosts"])
        assert len(hosts) == 2 and {v["host"] for v in doc["vms"]} == set(hosts), doc["vms"]
        source = vm["host"]
        dest = next(h for h in hosts if h != source)
        assert "vm-1" in running(lab, doc, source) and "vm-1" not in running(lab, doc, dest)

        t1 = time.monotonic()
        moved = sh(f"vm5k-vms --migrate vm-1={dest} --events events.ndjson -i deployed.json -o migrated.json",
                   tmp_path, timeout=180)
        t_migrate = time.monotonic() - t1
        doc = json.loads((tmp_path / "migrated.json").read_text())
        vm = next(v for v in doc["vms"] if v["id"] == "vm-1")
        assert moved.returncode == 0, (moved.stderr[-3000:], vm)     # vm: its state and error
        other = next(v for v in doc["vms"] if v["id"] == "vm-2")
        assert vm["host"] == dest and vm["state"] == "ready", vm
        assert other["state"] == "ready", other                       # the other VM is untouched
        timings = vm["timings"]
        assert 0 < timings["migration"] < 120 and 0 <= timings["downtime"] < timings["migration"], timings
        assert doc["vm5k"]["stages"][-1] == "vms"
        events = [json.loads(line) for line in (tmp_path / "events.ndjson").read_text().splitlines()]
        migrated = [e for e in events if e.get("step") == "migrated"]
        assert len(migrated) == 1 and migrated[0]["source"] == source and migrated[0]["host"] == dest, events

        # libvirt: on the destination, no longer on the source (nor defined there), files moved
        assert "vm-1" in running(lab, doc, dest)
        assert "vm-1" not in running(lab, doc, source)
        src_address = next(h["address"] for h in doc["hosts"] if h["id"] == source)
        assert ssh(lab, src_address, "virsh -q -c qemu:///system domstate vm-1").returncode != 0
        assert "vm-1.qcow2" in files(lab, doc, dest, "vm-1")
        assert files(lab, doc, source, "vm-1") == []
        # the VM itself: same address, same name, alive after the move
        answer = ssh(lab, vm["ip"], "hostname; cat /proc/uptime")
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.splitlines()[0].strip() in {"vm-1", vm.get("hostname") or "vm-1"}
        uptime = float(answer.stdout.splitlines()[1].split()[0])
        assert uptime > timings["migration"], answer.stdout               # not a reboot: a live move
        print(f"deploy {t_deploy:.1f} s; migrate command {t_migrate:.1f} s; "
              f"migration {timings['migration']} s, downtime {timings['downtime']} s")
    finally:
        last = "migrated.json" if (tmp_path / "migrated.json").exists() else "deployed.json"
        clean = sh(f"vm5k-vms --destroy -i {last} | vm5k-oar --release > released.json", tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
    released = json.loads((tmp_path / "released.json").read_text())
    assert all(v["state"] == "destroyed" for v in released["vms"])
    for host_id in hosts:
        assert "vm-1" not in running(lab, released, host_id)
        assert files(lab, released, host_id, "vm-1") == []
    # vm5k-oar --release returns once OAR has ended the job (Terminated or Error)
    oar_state = subprocess.run(["oarstat", "-s", "-j", str(job["id"])], capture_output=True, text=True)
    assert "Running" not in oar_state.stdout and "Finishing" not in oar_state.stdout, oar_state.stdout
