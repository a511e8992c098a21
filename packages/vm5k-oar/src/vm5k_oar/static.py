"""`--hosts h1,h2,...` or `--hosts @FILE`: SSH-reachable hosts with no scheduler (platform
`static`). A FILE holds one host a line, `user@host` allowed (the user every stage logs
in as: one for all hosts, the same as --ssh-user), `#` comments and blank lines ignored.

Cores, threads and RAM come from the reference data when it knows the host, else from the
host itself (one ssh per host, all at once, through vm5k_doc.remote)."""
from vm5k_doc import platforms, remote
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError, PlatformError

# threads; cores (distinct core,socket pairs; 0 without lscpu: then threads); RAM in kB
PROBE = """nproc --all
lscpu -p=CORE,SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l
sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo
"""


def read_entries(text):
    """The `[user@]host` entries of --hosts: a comma-separated list, or @FILE."""
    if text.startswith("@"):
        try:
            with open(text[1:]) as handle:
                lines = [line.split("#", 1)[0].strip() for line in handle]
        except OSError as exc:
            raise InputError(f"--hosts {text}: {exc.strerror}") from None
        return [line for line in lines if line]
    return [n.strip() for n in text.split(",") if n.strip()]


def parse_list(text, ssh_user=None):
    """(host names, the user) of --hosts; the user is --ssh-user, else the one the entries
    name, else None (the platform's rule: root)."""
    entries = read_entries(text)
    if not entries:
        raise InputError(f"--hosts {text}: no host")
    names, users = [], set()
    for entry in entries:
        user, _, name = entry.rpartition("@")
        names.append(check_id(name, "--hosts entry"))
        if user:
            users.add(check_id(user, "--hosts user"))
    if len(set(names)) != len(names):
        raise InputError("--hosts: a host is listed twice")
    if len(users) > 1 or (ssh_user and users and users != {ssh_user}):
        given = sorted(users | ({ssh_user} if ssh_user else set()))
        raise InputError(f"--hosts: users {', '.join(given)}: every stage reaches all hosts as one user (--ssh-user)")
    return names, ssh_user or next(iter(users), None)


def parse(stdout):
    """(threads, cores, mem_mb) from PROBE's output, or None."""
    values = stdout.split()
    if len(values) != 3 or not all(v.isdigit() for v in values):
        return None
    threads, cores, mem_kb = (int(v) for v in values)
    return threads, cores or threads, mem_kb // 1024


def probe(names, ssh):
    """{name: (threads, cores, mem_mb)} of every host, over ssh at once (vm5k_doc.ssh.Ssh)."""
    results = remote.run_scripts(ssh, {name: (name, PROBE) for name in names}, timeout=60)
    sizes, failed = {}, []
    for name in names:
        result = results[name]
        sizes[name] = parse(result.stdout) if result.ok else None
        if sizes[name] is None:
            failed.append(f"{name}: {result.error() or 'no cores and RAM in its answer'}")
    if failed:
        raise PlatformError(f"cannot read cores and RAM over ssh as {ssh.user}: {'; '.join(failed)}")
    return sizes


def records(names, reference=None, ssh=None):
    """Host records; hosts the reference does not know are asked over `ssh` (None: not asked)."""
    site = platforms.get("static").site  # a host the reference does not know: its own site and cluster
    nodes = {name: reference.node(name) if reference else None for name in names}
    unknown = [name for name in names if nodes[name] is None]
    sizes = probe(unknown, ssh) if unknown and ssh else {}
    out = []
    for name in names:
        node = nodes[name]
        record = node.host_record() if node else {"id": name, "site": site, "cluster": site}
        record["id"] = name
        if name in sizes:
            record["threads"], record["cores"], record["mem_mb"] = sizes[name]
        record["state"] = "reserved"
        record["job"] = None
        out.append(record)
    return out
