"""`--hosts h1,h2,...`: SSH-reachable hosts with no scheduler (platform `static`).

Cores and RAM come from the reference data when it knows the host, else from the host
itself (one ssh per host: nproc and /proc/meminfo)."""
import subprocess

from vm5k_doc import platforms, ssh
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError, PlatformError

PROBE = "nproc --all; nproc; sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo"


def parse_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError("--hosts: empty list")
    for name in names:
        check_id(name, "--hosts entry")
    if len(set(names)) != len(names):
        raise InputError("--hosts: a host is listed twice")
    return names


def probe(host, user="root", runner=subprocess.run):
    """(threads, cores, mem_mb) of a host over ssh."""
    argv = ssh.argv(host, PROBE, user=user)
    try:
        done = runner(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PlatformError(f"{host}: ssh timed out") from None
    values = done.stdout.split()
    if done.returncode != 0 or len(values) != 3:
        lines = done.stderr.strip().splitlines()
        raise PlatformError(f"{host}: cannot read cores and RAM over ssh: {lines[-1] if lines else done.returncode}")
    threads, cores, mem_kb = (int(v) for v in values)
    return threads, cores, mem_kb // 1024


def records(names, reference=None, dry_run=False, runner=subprocess.run, user="root"):
    out = []
    for name in names:
        node = reference.node(name) if reference else None
        site = platforms.get("static").site  # a host the reference does not know: its own site and cluster
        record = node.host_record() if node else {"id": name, "site": site, "cluster": site}
        record["id"] = name
        if not node and not dry_run:
            record["threads"], record["cores"], record["mem_mb"] = probe(name, user, runner)
        record["state"] = "reserved"
        record["job"] = None
        out.append(record)
    return out
