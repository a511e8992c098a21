"""`--migrate VM=HOST`: live migration with the disk copied, timed, downtime from pings.

The control node drives both libvirtds (`virsh -c qemu+ssh://SRC migrate ... qemu+ssh://DST`,
with its own key: no key goes to any host); memory and disk go straight from the source
qemu to the destination's address. The destination gets the same overlay (same base
image, same path) first, so only the VM's own blocks are copied (--copy-storage-inc).
"""
import os
import re
import subprocess
import tempfile
import time
import urllib.parse

from vm5k_doc.checks import check_address, check_id
from vm5k_doc.errors import InputError
from vm5k_doc.ids import join, quote
from vm5k_doc.ssh import OPTIONS as SSH_OPTIONS
from vm5k_doc.status import ExitStatus

from . import scripts
from .deploy import Deployment
from .plan import plan_vm
from .readiness import short

PING_INTERVAL = 0.1


def libvirt_uri(ssh, address, command=None):
    """libvirt's ssh transport to a host: our key, no prompt (no_tty), and through `command`
    (ssh_wrapper) our ssh options: no known_hosts (hosts are redeployed and reuse names)."""
    uri = f"qemu+ssh://{check_id(ssh.user, 'ssh user')}@{check_address(address)}/system?no_verify=1&no_tty=1"
    uri += f"&keyfile={urllib.parse.quote(ssh.key)}" if ssh.key else ""  # a path is data, not URI syntax
    return uri + (f"&command={urllib.parse.quote(command)}" if command else "")


def ssh_wrapper(directory):
    """An `ssh` for libvirt's ssh transport, which takes no ssh options: ours, then its
    arguments. Returns its path."""
    path = os.path.join(directory, "ssh")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec ssh {join(SSH_OPTIONS)} \"$@\"\n")
    os.chmod(path, 0o700)
    return path


def prepare_script(host, vm_plan):
    """On the destination: the same (empty) overlay on the same base, the VM directory."""
    out = [scripts.header(f"prepare migration of {vm_plan.id}", host)]
    vm_dir = vm_plan.overlay.rsplit("/", 1)[0]
    out += [scripts.vm_dir_command(vm_dir), f"rm -f {quote(vm_plan.overlay)}"]
    out.extend(line.rstrip(" &") for line in scripts.disk_commands(vm_plan)[:1])
    return "\n".join(out) + "\n"


def cleanup_script(host, vm_plan):
    out = [scripts.header(f"clean after migration of {vm_plan.id}", host)]
    vm_dir = vm_plan.overlay.rsplit("/", 1)[0]
    out.append(f"rm -f {join(scripts.vm_files(vm_plan.id, vm_dir))}; say {quote(vm_plan.id)} clean ok")
    return "\n".join(out) + "\n"


def downtime(ping_output, interval=PING_INTERVAL):
    """Longest silence between two echo replies, less one interval (seconds)."""
    stamps = [float(m) for m in re.findall(r"^\[(\d+\.\d+)\].*bytes from", ping_output, re.M)]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return round(max(0.0, max(gaps, default=0.0) - interval), 2)


def migrate_one(dep, vm, dest_id):
    src_id = vm["host"]
    src, dest = dep.hosts[src_id], dep.hosts[dest_id]
    if src.get("virt") != dest.get("virt"):
        raise InputError(f"--migrate {vm['id']}={dest_id}: hosts differ in virt ({src.get('virt')} vs {dest.get('virt')})")
    dest_plan = plan_vm(vm, dest, dep.ssh.public_key())
    results = dep.run_per_host("prepare", lambda h, _: prepare_script(h, dest_plan), [dict(vm, host=dest_id)], timeout=120)
    problem = next((line for r in results.values() for line in r.lines if " fail " in line), None)
    if problem or results[dest_id].returncode != 0:
        return f"preparing {dest_id}: {problem or results[dest_id].error()}", None
    with_disk_copy = "--copy-storage-all" if dest_plan.base is None or dest_plan.real_file else "--copy-storage-inc"
    with tempfile.TemporaryDirectory(prefix="vm5k-migrate-") as tmp:
        command = ssh_wrapper(tmp)
        argv = ["virsh", "-c", libvirt_uri(dep.ssh, dep.address(src_id), command), "migrate", "--live",
                "--persistent", "--undefinesource", with_disk_copy, "--verbose", vm["id"],
                libvirt_uri(dep.ssh, dep.address(dest_id), command), f"tcp://{dep.address(dest_id)}"]
        ping = subprocess.Popen(["ping", "-D", "-n", "-i", str(PING_INTERVAL), "-W", "1", vm["ip"]],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        start = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            seconds = time.monotonic() - start
            time.sleep(1)  # a few replies after the switch-over
        finally:
            ping.terminate()
    pings, _ = ping.communicate()
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if ln.strip()]
        return f"virsh migrate: {lines[-1] if lines else done.returncode}", None
    vm["host"] = dest_id
    dep.run_per_host("clean", lambda h, _: cleanup_script(h, dest_plan), [dict(vm, host=src_id)], timeout=60)
    return None, {"migration": round(seconds, 2), "downtime": downtime(pings)}


def answers_ssh(ssh, vm, within=60.0):
    """None once the VM answers SSH with its own name, else what the last probe said. A TCG
    guest on a loaded machine can take tens of seconds to answer after its switch-over."""
    deadline, last = time.monotonic() + within, "no answer"
    expected = short(vm.get("hostname") or vm["id"])
    while True:
        try:
            probe = subprocess.run(ssh.argv(vm["ip"], "hostname"), capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            last = "ssh hostname: no answer in 30 s"
        else:
            answer = probe.stdout.strip()
            if probe.returncode == 0 and short(answer) == expected:
                return None
            lines = [ln for ln in probe.stderr.strip().splitlines() if ln.strip()]
            last = f"answers as {answer!r}" if probe.returncode == 0 else (lines[-1] if lines else f"ssh exit {probe.returncode}")
        if time.monotonic() >= deadline:
            return last
        time.sleep(1)


def run(ctx, ssh, pairs):
    dep = Deployment(ctx, ssh)
    by_id = {vm["id"]: vm for vm in dep.doc.get("vms", [])}
    for vm_id, dest_id in pairs:
        check_id(vm_id, "--migrate VM")
        check_id(dest_id, "--migrate HOST")
        if vm_id not in by_id:
            raise InputError(f"--migrate {vm_id}={dest_id}: no VM {vm_id} in the document")
        if dest_id not in dep.hosts:
            raise InputError(f"--migrate {vm_id}={dest_id}: no host {dest_id} in the document")
        if by_id[vm_id].get("state") != "ready":
            raise InputError(f"--migrate {vm_id}={dest_id}: {vm_id} is {by_id[vm_id].get('state')}, not ready")
    if ctx.dry_run:
        return None
    failures = 0
    for vm_id, dest_id in pairs:
        vm = by_id[vm_id]
        if vm["host"] == dest_id:
            ctx.log.info("%s is already on %s", vm_id, dest_id)
            continue
        source = vm["host"]
        error, timings = migrate_one(dep, vm, dest_id)
        if error is None:
            silent = answers_ssh(ssh, vm)
            error = silent and f"migrated but does not answer SSH: {silent}"
        if error:
            failures += 1
            dep.ko(vm, "migrate", error)
            ctx.log.warning("KO: %s (%s -> %s): %s", vm_id, source, dest_id, error)
            continue
        vm.setdefault("timings", {}).update(timings)
        dep.emit(vm, "migrated", source=source, **timings)
        ctx.log.info("%s: %s -> %s in %.1f s, downtime %.2f s", vm_id, source, dest_id,
                     timings["migration"], timings["downtime"])
    return ExitStatus.PARTIAL if failures else None
