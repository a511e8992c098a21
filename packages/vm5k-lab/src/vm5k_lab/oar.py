"""The lab's OAR 2.5 server: Debian's packages on PostgreSQL 15, in the root namespace.

A real OAR server that knows the lab hosts as resources, like a Grid'5000 site frontend::

    from vm5k_lab import oar
    oar.up(hosts=[{"id": "host1.lab", "address": "10.77.0.11", "cores": 2, "mem_mb": 4096}],
           subnets=["10.77.4.0/22", "10.77.8.0/22"], vlans=[1, 2, 3, 4, 5, 6])
    oar.status()   # {"state": "running", "user": "vm5k", "server_pid": ..., "resources": 12, ...}
    oar.down()

Running OAR commands: ``command(argv)`` wraps an OAR command line so that it runs as the
lab's unprivileged submitter (``USER``, root and oar may not submit), with ``TZ`` set to
``TZ`` (Europe/Paris, as execo does: ``oarsub -r`` dates and ``oarstat`` text times are in
that zone) and the user's home as working directory (the jobs' launching directory)::

    subprocess.run(oar.command(["oarsub", "-l", "nodes=1,walltime=0:5:0", "sleep 60"]), ...)
    # -> ["runuser", "-u", "vm5k", "--", "env", "-C", "/home/vm5k", "TZ=Europe/Paris",
    #     "HOME=/home/vm5k", "USER=vm5k", "LOGNAME=vm5k", "PWD=/home/vm5k", "oarsub", ...]

What ``up`` does (idempotent; a second call with the same arguments changes nothing):

1. the user ``USER``; ``hostname`` resolvable (oarsub gives it to the scheduler for the
   reservation call-back);
2. PostgreSQL (``pg_ctlcluster``; a stale ``postmaster.pid`` is removed first);
3. ``/etc/oar/oar.conf``: database passwords, node health always fine
   (``PINGCHECKER_GENERIC_COMMAND="/bin/true"`` instead of sentinelle), no cpuset/cgroup on
   the nodes (``JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD`` commented out);
4. the database (``oar-database --create --db-is-local`` when missing);
5. ``/var/lib/oar/.ssh/config``: every node name goes to the local oar-node sshd
   (127.0.0.1:6667), so jobs run on this machine, not in the netns hosts;
6. in one SQL transaction: the Grid'5000 properties, the admission rules (rule 16 accepts
   Grid'5000/execo/enoslib job types; a new rule turns ``slash_NN=..`` without a type into
   ``type='subnet'``), and the resources brought in line with the arguments: one resource
   per core (``host``, ``network_address``, ``cluster``, ``cpu``, ``core``, ``cpuset``,
   ``memnode``, ``virtual='ivt'``, ``deploy='YES'``, ``ip``...), one ``subnet`` resource per
   block (``subnet_address``, ``subnet_prefix``, ``slash_16``..``slash_NN``), one resource
   per vlan (type ``kavlan-local`` for 1-3, ``kavlan`` for 4-9, ``kavlan-global`` above);
7. oar-node's sshd (port 6667), oar-server (Almighty, port 6666) and a notifier that runs
   ``oarnotify Term`` every ``NOTIFY_PERIOD`` s so that advance reservations start on time
   (Almighty alone schedules every 60 s).

``down`` deletes the jobs still alive, then stops the notifier, Almighty (and its
children), the jobs' oarexec, oar-node's sshd and PostgreSQL, each by the pid it recorded;
stale pid files are recognised and removed. The database is kept (restart is fast).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from .state import LabError, proc_state, read_pid, wait_for
from .state import run as lab_run

log = logging.getLogger("vm5k_lab.oar")


class OarError(LabError):
    """The OAR part of the lab failed (one line)."""


# ---------------------------------------------------------------- fixed names

USER = "vm5k"                      # the unprivileged submitter
TZ = "Europe/Paris"                # the time zone OAR commands run in (as execo does)
DEFAULT_CLUSTER = "lab"
CPU_MODEL = "QEMU lab host"
DB_NAME = "oar"
DB_PASSWD = "oar"
DB_PASSWD_RO = "oar_ro"
SERVER_PORT = 6666
NODE_PORT = 6667
NOTIFY_PERIOD = 3                  # seconds between two `oarnotify Term`

OAR_CONF = Path("/etc/oar/oar.conf")
OAR_SSHD_CONF = Path("/etc/oar/sshd_config")
OAR_SSH_CONFIG = Path("/var/lib/oar/.ssh/config")
SERVER_PIDFILE = Path("/var/run/oar-server.pid")       # written by /usr/sbin/oar-server
NODE_PIDFILE = Path("/var/run/oar-node_sshd.pid")      # the name Debian's init script uses
RUN_DIR = Path("/run/vm5k-lab-oar")
NOTIFIER_PIDFILE = RUN_DIR / "notifier.pid"
ALMIGHTY_PIDS = RUN_DIR / "almighty.pids"              # Almighty and its long-lived children
LOCK_FILE = RUN_DIR / "lock"                           # serialises up/down/status in-process
OAREXEC_DIR = Path("/tmp/oar_runtime")                 # pid_of_oarexec_for_jobId_N
MANAGED_MARK = "# vm5k-lab"

# oar.conf: values set, keys commented out
CONF_SET = {
    "DB_BASE_PASSWD": DB_PASSWD,
    "DB_BASE_PASSWD_RO": DB_PASSWD_RO,
    "PINGCHECKER_GENERIC_COMMAND": "/bin/true",
}
CONF_COMMENT = ("PINGCHECKER_SENTINELLE_SCRIPT_COMMAND", "JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD")

SLASH_MIN = 16                     # slash_16 .. slash_22 properties, as on Grid'5000
# A subnet resource holds, in slash_K, the address of its enclosing /K: `slash_K=1` gets
# every listed block of one /K (a complete /K only when all its blocks are listed).

# Grid'5000-like resource properties: name -> SQL type
PROPERTIES: dict[str, str] = {
    "host": "varchar", "cluster": "varchar", "cpu": "int", "core": "int", "cpucore": "int",
    "memnode": "int", "memcpu": "int", "memcore": "int", "virtual": "varchar", "ip": "varchar",
    "cputype": "varchar", "cpuarch": "varchar", "disktype": "varchar", "eth_count": "int",
    "maintenance": "varchar", "wattmeter": "varchar", "vlan": "varchar",
    "subnet_address": "varchar", "subnet_prefix": "int",
    **{f"slash_{k}": "varchar" for k in range(SLASH_MIN, 23)},
}
# columns of OAR's own schema we set on our rows
BASE_COLUMNS = ("type", "network_address", "cpuset", "deploy", "besteffort")
VLAN_TYPES = ("kavlan-local", "kavlan", "kavlan-global")
MANAGED_TYPES = ("default", "subnet") + VLAN_TYPES


# ---------------------------------------------------------------- pure helpers

def command(argv: list[str], user: str = USER, tz: str = TZ) -> list[str]:
    """argv wrapped to run as the lab's submitter, in TZ, from the user's home (oarsub takes
    the launching directory from $PWD, so it is set too)."""
    home = f"/home/{user}"
    return ["runuser", "-u", user, "--", "env", "-C", home, f"TZ={tz}", f"HOME={home}",
            f"USER={user}", f"LOGNAME={user}", f"PWD={home}", *[str(a) for a in argv]]


def edit_conf(text: str, set_values: dict[str, str] = CONF_SET,
              comment_out: tuple[str, ...] = CONF_COMMENT) -> str:
    """oar.conf with `KEY="value"` set (first active line replaced, else appended) and the
    keys of `comment_out` commented. Returns the text unchanged when nothing is to do."""
    lines = text.splitlines()
    done: set[str] = set()
    out = []
    for line in lines:
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=", line)
        key = m.group(1) if m else None
        if key in comment_out:
            out.append("#" + line)
            continue
        if key in set_values:
            if key in done:            # a duplicate active line: drop it
                continue
            done.add(key)
            out.append(f'{key}="{set_values[key]}"')
            continue
        out.append(line)
    missing = [k for k in set_values if k not in done]
    if missing:
        out.append(f"{MANAGED_MARK}: set by vm5k_lab.oar")
        out += [f'{k}="{set_values[k]}"' for k in missing]
    new = "\n".join(out) + "\n"
    return text if new == text or new == text + "\n" else new


def ssh_config_text() -> str:
    """OAR's ssh client config: every node name is this machine's oar-node sshd."""
    return (f"{MANAGED_MARK}: every OAR node name is the local oar-node sshd (port {NODE_PORT})\n"
            "Host *\n"
            "HostName 127.0.0.1\n"
            "ForwardX11 no\n"
            "StrictHostKeyChecking no\n"
            "UserKnownHostsFile /dev/null\n"
            "LogLevel ERROR\n"
            "PasswordAuthentication no\n"
            "AddressFamily inet\n")


def vlan_type(vlan: int) -> str:
    """Grid'5000 kavlan kinds: 1-3 local, 4-9 routed, 10 and above global."""
    if vlan < 1:
        raise ValueError(f"bad vlan id {vlan}")
    return "kavlan-local" if vlan <= 3 else "kavlan" if vlan <= 9 else "kavlan-global"


def host_rows(hosts: list[dict]) -> list[dict]:
    """One resource per core, numbered like Grid'5000 (cpu and core unique site-wide,
    cpuset the core's index on its host). Hosts may give "cpus" (default 1) and "cluster"."""
    rows = []
    cpu = core = 0
    seen = set()
    for h in hosts:
        fqdn = str(h["id"])
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", fqdn) or fqdn in seen:
            raise ValueError(f"bad or duplicate host id {fqdn!r}")
        seen.add(fqdn)
        ip = str(ipaddress.ip_address(h["address"]))
        cores = int(h.get("cores", 1))
        cpus = max(1, int(h.get("cpus", 1)))
        if cores < 1 or cores % cpus:
            raise ValueError(f"{fqdn}: {cores} cores do not split over {cpus} cpus")
        mem = int(h.get("mem_mb", 1024))
        per_cpu = cores // cpus
        cluster = str(h.get("cluster") or DEFAULT_CLUSTER)
        for c in range(cpus):
            cpu += 1
            for k in range(per_cpu):
                core += 1
                rows.append({
                    "type": "default", "network_address": fqdn, "host": fqdn,
                    "cluster": cluster, "cpu": cpu, "core": core, "cpuset": str(c * per_cpu + k),
                    "cpucore": per_cpu, "memnode": mem // cpus, "memcpu": mem // cpus,
                    "memcore": mem // cores, "virtual": "ivt", "ip": ip, "cputype": CPU_MODEL,
                    "cpuarch": "x86_64", "disktype": "SATA", "eth_count": 1,
                    "maintenance": "NO", "wattmeter": "NO", "deploy": "YES", "besteffort": "YES",
                })
    return rows


def subnet_rows(subnets: list[str]) -> list[dict]:
    """One `subnet` resource per block, with slash_16..slash_<prefix> holding the network
    address of the enclosing block of that size (so `slash_22=1`, `slash_21=1`... work)."""
    rows = []
    seen = set()
    for s in subnets:
        net = ipaddress.ip_network(s, strict=True)
        if net.version != 4 or not SLASH_MIN <= net.prefixlen <= 22 or net in seen:
            raise ValueError(f"bad or duplicate subnet {s!r} (IPv4 /{SLASH_MIN}../22)")
        seen.add(net)
        row = {"type": "subnet", "network_address": "", "subnet_address": str(net.network_address),
               "subnet_prefix": net.prefixlen, "deploy": "YES", "besteffort": "YES"}
        for k in range(SLASH_MIN, net.prefixlen + 1):
            row[f"slash_{k}"] = str(net.supernet(new_prefix=k).network_address)
        rows.append(row)
    return rows


def vlan_rows(vlans: list[int]) -> list[dict]:
    ids = [int(v) for v in vlans]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate vlan ids in {vlans}")
    return [{"type": vlan_type(v), "network_address": "", "vlan": str(v), "deploy": "YES",
             "besteffort": "YES"} for v in ids]


def desired_rows(hosts: list[dict], subnets: list[str], vlans: list[int]) -> list[dict]:
    return host_rows(hosts) + vlan_rows(vlans) + subnet_rows(subnets)


def row_key(row: dict) -> tuple:
    """What identifies a managed resource across calls."""
    t = row.get("type")
    if t == "default":
        return (t, row.get("network_address"), str(row.get("cpuset")))
    if t == "subnet":
        return (t, row.get("subnet_address"))
    return (t, str(row.get("vlan")))


def sql_literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        raise TypeError("no booleans in OAR properties")
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return str(a) == str(b)


def properties_sql() -> str:
    return "".join(
        f"ALTER TABLE resources ADD COLUMN IF NOT EXISTS {p} "
        f"{'VARCHAR(255)' if t == 'varchar' else 'INT'};\n" for p, t in PROPERTIES.items())


def plan_resources(existing: list[dict], desired: list[dict], busy: set[int] = frozenset()) -> dict:
    """What to do to bring the managed resources (types in MANAGED_TYPES) in line:
    {"insert": [rows], "update": [(id, {col: value})], "delete": [ids], "kill": [ids],
     "revive": [ids]} ; `busy` resources (in an unfinished job) are set Dead, not deleted."""
    by_key = {}
    extra = []
    for r in existing:
        if r.get("type") not in MANAGED_TYPES:
            continue
        k = row_key(r)
        if k in by_key:
            extra.append(r)       # a duplicate: drop it
        else:
            by_key[k] = r
    plan = {"insert": [], "update": [], "delete": [], "kill": [], "revive": []}
    wanted = set()
    for row in desired:
        k = row_key(row)
        wanted.add(k)
        cur = by_key.get(k)
        if cur is None:
            plan["insert"].append(row)
            continue
        cols = set(PROPERTIES) | set(BASE_COLUMNS)
        changes = {c: row.get(c) for c in sorted(cols)
                   if c in cur and not _same(cur.get(c), row.get(c))
                   and not (c == "besteffort" and row.get(c) is None)
                   and not (c == "cpuset" and row.get(c) is None)}
        if changes:
            plan["update"].append((cur["resource_id"], changes))
        if cur.get("state") != "Alive":
            plan["revive"].append(cur["resource_id"])
    for k, r in by_key.items():
        if k not in wanted:
            extra.append(r)
    for r in extra:
        rid = r["resource_id"]
        if rid in busy:
            if r.get("state") != "Dead":
                plan["kill"].append(rid)
        else:
            plan["delete"].append(rid)
    return plan


def resources_sql(plan: dict) -> str:
    """SQL for the insert/update/delete part of a plan (states are changed apart)."""
    out = []
    if plan["delete"]:
        ids = ",".join(str(int(i)) for i in plan["delete"])
        out.append(f"DELETE FROM resource_logs WHERE resource_id IN ({ids});")
        out.append(f"DELETE FROM resources WHERE resource_id IN ({ids});")
    for rid, changes in plan["update"]:
        sets = ", ".join(f"{c} = {sql_literal(v)}" for c, v in changes.items())
        out.append(f"UPDATE resources SET {sets} WHERE resource_id = {int(rid)};")
        for c, v in changes.items():
            out.append(
                f"UPDATE resource_logs SET date_stop = EXTRACT(EPOCH FROM now())::int "
                f"WHERE resource_id = {int(rid)} AND attribute = {sql_literal(c)} AND date_stop = 0;")
            out.append(
                "INSERT INTO resource_logs (resource_id, attribute, value, date_start) VALUES "
                f"({int(rid)}, {sql_literal(c)}, {sql_literal('' if v is None else v)}, "
                "EXTRACT(EPOCH FROM now())::int);")
    if plan["insert"]:
        # one INSERT per column set (hosts, vlans, subnets of one prefix), RETURNING ids
        groups: dict[tuple, list[dict]] = {}
        for row in plan["insert"]:
            groups.setdefault(tuple(row), []).append(row)
        for cols, rows in groups.items():
            all_cols = ("state", "state_num") + cols
            values = ",\n  ".join(
                "(" + ", ".join(["'Alive'", "1"] + [sql_literal(r[c]) for c in cols]) + ")"
                for r in rows)
            logged = [c for c in cols if c not in ("type", "network_address")]
            log_values = ", ".join(
                f"(n.resource_id, {sql_literal(c)}, n.{c}::text)" for c in ["state"] + logged)
            out.append(
                f"WITH n AS (INSERT INTO resources ({', '.join(all_cols)}) VALUES\n  {values}\n"
                f"  RETURNING *)\n"
                f"INSERT INTO resource_logs (resource_id, attribute, value, date_start)\n"
                f"  SELECT v.*, EXTRACT(EPOCH FROM now())::int FROM n "
                f"CROSS JOIN LATERAL (VALUES {log_values}) AS v(resource_id, attribute, value);")
    return "\n".join(out) + ("\n" if out else "")


# admission rules ---------------------------------------------------------------------

RULE_TYPES_HEAD = "# Check if job types are valid"
RULE_TYPES = RULE_TYPES_HEAD + r""" (vm5k-lab: Grid'5000, execo and enoslib types accepted)
my @types = (
    qr/^container(?:=\w+)?$/,                 qr/^deploy(?:=standby)?$/,
    qr/^desktop_computing$/,                   qr/^besteffort$/,
    qr/^cosystem(?:=standby)?$/,                qr/^idempotent$/,
    qr/^placeholder=\w+$/,                    qr/^allowed=\w+$/,
    qr/^inner=\w+$/,                          qr/^timesharing=(?:(?:\*|user),(?:\*|name)|(?:\*|name),(?:\*|user))$/,
    qr/^token\:\w+\=\d+$/,                 qr/^noop(?:=standby)?$/,
    qr/^(?:postpone|deadline|expire)=\d\d\d\d-\d\d-\d\d(?:\s+\d\d:\d\d(?::\d\d)?)?$/,
    qr/^state=permissive$/,
    # Grid'5000 / execo / enoslib
    qr/^allow_classic_ssh$/,  qr/^origin=\S+$/,  qr/^monitor=\S*$/,  qr/^exotic$/,
    qr/^destructive$/,  qr/^night$/,  qr/^day$/,  qr/^production$/,  qr/^heterogeneous$/,
);
foreach my $t ( @{$type_list} ) {
    my $match = 0;
    foreach my $r (@types) {
        if ($t =~ $r) {
            $match = 1;
        }
    }
    unless ( $match ) {
        die( "[ADMISSION RULE] Error: unknown job type: $t\n");
    }
}
"""

RULE_SUBNET_HEAD = "# vm5k-lab: slash_NN without a type"
RULE_SUBNET = RULE_SUBNET_HEAD + r""" is a subnet request (as on Grid'5000); runs before the rule that adds type = 'default'
foreach my $mold (@{$ref_resource_list}){
    foreach my $r (@{$mold->[0]}){
        my $prop = $r->{property};
        next if (defined($prop) and (($prop =~ /[\s\(]type[\s=]/) or ($prop =~ /^type[\s=]/)));
        if ($r->{resources}->[0]->{resource} =~ /^slash_\d+$/){
            $r->{property} = defined($prop) ? "($prop) AND type = 'subnet'" : "type = 'subnet'";
        }
    }
}
"""


def _dollar(text: str) -> str:
    tag = "$vm5k$"
    if tag in text:
        raise ValueError("rule text holds the quoting tag")
    return f"{tag}{text}{tag}"


def admission_sql() -> str:
    """Idempotent SQL: rule 16 replaced by its extended version, the subnet rule added
    (priority 16, after rule 16 and before rule 17 which adds type = 'default')."""
    head = RULE_TYPES_HEAD.replace("'", "''")
    sub = RULE_SUBNET_HEAD.replace("'", "''")
    return (
        f"UPDATE admission_rules SET rule = {_dollar(RULE_TYPES)} "
        f"WHERE rule LIKE '{head}%' AND rule <> {_dollar(RULE_TYPES)};\n"
        f"DELETE FROM admission_rules WHERE rule LIKE '{sub}%' AND rule <> {_dollar(RULE_SUBNET)};\n"
        f"INSERT INTO admission_rules (priority, enabled, rule) SELECT 16, 'YES', {_dollar(RULE_SUBNET)} "
        f"WHERE NOT EXISTS (SELECT 1 FROM admission_rules WHERE rule LIKE '{sub}%');\n")


# ---------------------------------------------------------------- processes, by pid

def _run(argv, *, check=True, input=None, timeout=120, env=None) -> subprocess.CompletedProcess:
    """state.run, with failures as OarError (callers tell OAR failures from the rest)."""
    try:
        return lab_run(argv, check=check, input=input, timeout=timeout, env=env)
    except OarError:
        raise
    except LabError as exc:
        raise OarError(str(exc)) from None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int | None, expect: str | None = None) -> bool:
    """pid runs (not a zombie: PID 1 here reaps slowly) and its command line holds `expect`."""
    if not pid or pid <= 0:
        return False
    st = proc_state(pid)
    if st is None or st in ("Z", "X"):
        return False
    return expect is None or expect in _cmdline(pid)


def _pidfile(path: Path, expect: str) -> int | None:
    """The pid recorded in `path` if it is still that process; a stale file is removed."""
    pid = read_pid(path)
    if _alive(pid, expect):
        return pid
    if path.exists():
        log.debug("stale pid file %s (%s)", path, pid)
        path.unlink(missing_ok=True)
    return None


def _children(pid: int) -> list[int]:
    """Every descendant of pid (read from /proc, deepest last)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int(Path(d, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _kill(pid: int, sig=signal.SIGTERM) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(pid: int | None, timeout: float = 5.0, tree: bool = True) -> bool:
    """TERM pid (and, with `tree`, its descendants found before), KILL what is left."""
    if not _alive(pid):
        return False
    kids = _children(pid) if tree else []
    _kill(pid)
    if not wait_for(lambda: not _alive(pid), timeout):
        _kill(pid, signal.SIGKILL)
        wait_for(lambda: not _alive(pid), 3)
    for k in kids:
        if _alive(k):
            _kill(k)
    if kids and not wait_for(lambda: not any(_alive(k) for k in kids), 2):
        for k in kids:
            if _alive(k):
                _kill(k, signal.SIGKILL)
    return True



# ---------------------------------------------------------------- PostgreSQL

def _pg_cluster() -> tuple[str, str, str, Path] | None:
    """(version, name, status, data directory) of the first cluster."""
    p = _run(["pg_lsclusters", "-h"], check=False)
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 6:
            return f[0], f[1], f[3], Path(f[5])
    return None


def _pg_pid(cluster=None) -> int | None:
    c = cluster or _pg_cluster()
    if not c:
        return None
    pid = read_pid(c[3] / "postmaster.pid")
    return pid if _alive(pid, "postgres") else None


def _pg_start() -> None:
    c = _pg_cluster()
    if c is None:
        _run(["pg_createcluster", "15", "main"])
        c = _pg_cluster()
    ver, name, _, data = c
    if _pg_pid(c):
        return
    stale = data / "postmaster.pid"
    if stale.exists():                  # killed run: the pid is gone or is someone else
        log.info("removing stale %s", stale)
        stale.unlink()
    _run(["pg_ctlcluster", ver, name, "start"], timeout=60)


def _pg_stop() -> None:
    c = _pg_cluster()
    if not c:
        return
    ver, name, _, data = c
    pid = _pg_pid(c)
    if pid:
        p = _run(["pg_ctlcluster", ver, name, "stop", "-m", "fast"], check=False, timeout=60)
        if p.returncode != 0:
            _stop(pid, timeout=10, tree=False)
        wait_for(lambda: not _alive(pid), 10)
    elif (data / "postmaster.pid").exists():
        (data / "postmaster.pid").unlink()


def psql(sql: str, *, db: str = DB_NAME, query: bool = False, timeout: float = 60) -> str:
    """Run SQL as the postgres superuser (peer authentication), in one transaction."""
    argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-d", db]
    if query:
        argv += ["-A", "-t"]
    else:
        argv += ["-1"]
    return _run(argv + ["-f", "-"], input=sql, timeout=timeout).stdout


def _query_json(sql: str) -> list:
    out = psql(f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q;", query=True).strip()
    return json.loads(out or "[]")


# ---------------------------------------------------------------- set-up steps

def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        _run(["useradd", "-m", "-s", "/bin/bash", "-c", "vm5k lab OAR submitter", USER])
    home = Path(f"/home/{USER}")
    if not home.is_dir():
        home.mkdir(mode=0o755)
        pw = pwd.getpwnam(USER)
        os.chown(home, pw.pw_uid, pw.pw_gid)


def _ensure_hostname() -> None:
    name = socket.gethostname()
    try:
        socket.gethostbyname(name)
    except OSError:
        with open("/etc/hosts", "a") as f:
            f.write(f"127.0.1.1 {name}  {MANAGED_MARK}: OAR needs `hostname` to resolve\n")


def _write_if_changed(path: Path, text: str, owner: str | None = None, mode: int = 0o644) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".vm5k-tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.replace(tmp, path)
    return True


def _ensure_conf() -> bool:
    if not OAR_CONF.exists():
        raise OarError(f"{OAR_CONF} missing: install oar-server (make setup)")
    text = OAR_CONF.read_text()
    new = edit_conf(text)
    if new == text:
        return False
    st = OAR_CONF.stat()
    tmp = OAR_CONF.with_name("oar.conf.vm5k-tmp")
    tmp.write_text(new)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, OAR_CONF)
    return True


def _ensure_db() -> bool:
    """Create the OAR database when it is missing or half-made. True if created."""
    out = psql(f"SELECT count(*) FROM pg_database WHERE datname = '{DB_NAME}';",
               db="postgres", query=True).strip()
    if out == "1":
        ok = psql("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                  "('resources', 'jobs', 'admission_rules', 'queues');", query=True).strip()
        n = psql("SELECT count(*) FROM queues;", query=True).strip() if ok == "4" else "0"
        if ok == "4" and n != "0":
            return False
        log.info("OAR database half made: dropping it")
        psql(f"DROP DATABASE IF EXISTS {DB_NAME};", db="postgres", query=True)
    _run(["oar-database", "--create", "--db-is-local"], timeout=120)
    return True


def _sync_db(hosts, subnets, vlans, server_running: bool) -> dict:
    desired = desired_rows(hosts, subnets, vlans)
    have = {r["column_name"] for r in _query_json(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'resources'")}
    rules = _query_json("SELECT rule FROM admission_rules")
    rules_ok = (any(r["rule"] == RULE_TYPES for r in rules)
                and any(r["rule"] == RULE_SUBNET for r in rules))
    sql = ""
    if not set(PROPERTIES) <= have:
        sql += properties_sql()
    if not rules_ok:
        sql += admission_sql()
    if sql:
        psql(sql)
    existing = _query_json("SELECT * FROM resources ORDER BY resource_id")
    busy = {r["resource_id"] for r in _query_json(
        "SELECT DISTINCT a.resource_id FROM assigned_resources a "
        "JOIN moldable_job_descriptions m ON m.moldable_id = a.moldable_job_id "
        "JOIN jobs j ON j.job_id = m.moldable_job_id "
        "WHERE j.state NOT IN ('Terminated', 'Error')")}
    plan = plan_resources(existing, desired, busy)
    sql = resources_sql(plan)
    states = plan["revive"] + plan["kill"]
    if states and not server_running:
        # Almighty is not running: states can be set in the database directly
        for ids, st, num in ((plan["revive"], "Alive", 1), (plan["kill"], "Dead", 4)):
            if ids:
                sql += (f"UPDATE resources SET state = '{st}', state_num = {num}, "
                        f"next_state = 'UnChanged' WHERE resource_id IN "
                        f"({','.join(str(int(i)) for i in ids)});\n")
    if sql:
        psql(sql)
    if states and server_running:
        for ids, st in ((plan["revive"], "Alive"), (plan["kill"], "Dead")):
            if ids:
                _run(["oarnodesetting", "--sql",
                      f"resource_id IN ({','.join(str(int(i)) for i in ids)})", "-s", st])
    return {k: len(v) for k, v in plan.items()}


def _start_node_sshd() -> int:
    pid = _pidfile(NODE_PIDFILE, str(OAR_SSHD_CONF))
    if pid:
        return pid
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    _run(["/usr/sbin/sshd", "-f", OAR_SSHD_CONF, "-o", f"PidFile={NODE_PIDFILE}"])
    wait_for(lambda: _alive(read_pid(NODE_PIDFILE), str(OAR_SSHD_CONF)), 5)
    pid = _pidfile(NODE_PIDFILE, str(OAR_SSHD_CONF))
    if not pid:
        raise OarError("oar-node sshd did not start (port 6667)")
    return pid


def _listener(port: int) -> int | None:
    """The pid of the process listening on TCP `port` (from /proc/net/tcp and fds)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    if not inodes:
        return None
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                t = os.readlink(fd)
                if t.startswith("socket:[") and t[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    return None


def _almighty_pids() -> list[int]:
    """Almighty's processes, from the pid file, the pids recorded at start and the
    listener of SERVER_PORT, each checked to be an Almighty process, with descendants."""
    pids = set()
    cand = [read_pid(SERVER_PIDFILE), _listener(SERVER_PORT)]
    try:
        cand += [int(x) for x in ALMIGHTY_PIDS.read_text().split()]
    except (OSError, ValueError):
        pass
    for pid in cand:
        if _alive(pid, "Almighty"):
            pids.add(pid)
            pids.update(_children(pid))
    return sorted(pids)


def _record_almighty(pid: int) -> None:
    wait_for(lambda: len(_children(pid)) >= 2, 3)
    pids = {pid, *_children(pid)}
    try:
        pids.update(int(x) for x in ALMIGHTY_PIDS.read_text().split() if _alive(int(x), "Almighty"))
    except (OSError, ValueError):
        pass
    ALMIGHTY_PIDS.write_text(" ".join(str(p) for p in sorted(pids)) + "\n")


def _stop_almighty(timeout: float = 10) -> bool:
    pids = _almighty_pids()
    for p in pids:
        _kill(p)
    if pids and not wait_for(lambda: not any(_alive(p) for p in pids), timeout):
        for p in pids:
            if _alive(p):
                _kill(p, signal.SIGKILL)
        wait_for(lambda: not any(_alive(p) for p in pids), 3)
    SERVER_PIDFILE.unlink(missing_ok=True)
    ALMIGHTY_PIDS.unlink(missing_ok=True)
    return bool(pids)


def _start_server() -> int:
    pid = _pidfile(SERVER_PIDFILE, "Almighty")
    if not pid:
        if _almighty_pids():            # leftovers of a killed run (orphaned children)
            log.info("stopping the leftovers of a killed Almighty")
            _stop_almighty(timeout=3)       # orphaned children may ignore TERM
        env = dict(os.environ, LANG="C")
        _run(["/usr/sbin/oar-server"], env=env)
        # the pid file names the child, which then execs Almighty
        wait_for(lambda: _alive(read_pid(SERVER_PIDFILE), "Almighty"), 10)
        pid = _pidfile(SERVER_PIDFILE, "Almighty")
        if not pid:
            raise OarError("oar-server did not start (see /var/log/oar.log)")
        _record_almighty(pid)
    if not wait_for(lambda: _listener(SERVER_PORT) in _almighty_pids(), 15):
        raise OarError(f"Almighty (pid {pid}) does not listen on port {SERVER_PORT}")
    return pid


def _start_notifier() -> int:
    pid = _pidfile(NOTIFIER_PIDFILE, "oarnotify")
    if pid:
        return pid
    script = (f"while :; do sleep {NOTIFY_PERIOD}; "
              "/usr/sbin/oarnotify Term >/dev/null 2>&1; done")
    p = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    p.returncode = 0            # never waited for; no "still running" warning
    NOTIFIER_PIDFILE.write_text(f"{p.pid}\n")
    return p.pid


class _Lock:
    def __enter__(self):
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.f = open(LOCK_FILE, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


# ---------------------------------------------------------------- the interface

def up(hosts: list[dict], subnets: list[str], vlans: list[int]) -> dict:
    """Bring the OAR server up with exactly these resources (idempotent). Returns status()
    plus "changes" (counts of inserted/updated/deleted... resources) and "seconds"."""
    t0 = time.monotonic()
    desired_rows(hosts, subnets, vlans)         # bad arguments fail before anything runs
    with _Lock():
        _ensure_user()
        _ensure_hostname()
        _pg_start()
        conf_changed = _ensure_conf()
        created = _ensure_db()
        _write_if_changed(OAR_SSH_CONFIG, ssh_config_text(), owner="oar")
        server = _pidfile(SERVER_PIDFILE, "Almighty")
        if server and conf_changed:
            log.info("oar.conf changed: restarting Almighty")
            _stop_almighty()
            server = None
        changes = _sync_db(hosts, subnets, vlans, server_running=bool(server))
        _start_node_sshd()
        _start_server()
        _start_notifier()
        if server and any(changes.values()):
            _run(["oarnotify", "Term"], check=False)
        st = _status()
    st["changes"] = changes
    st["created_db"] = created
    st["seconds"] = round(time.monotonic() - t0, 2)
    return st


def _delete_jobs(timeout: float = 15) -> None:
    """oardel every unfinished job (as its owner) and wait for them to end."""
    live = "SELECT job_id, job_user, state FROM jobs WHERE state NOT IN ('Terminated', 'Error')"
    jobs = _query_json(live)
    if not jobs:
        return
    by_user: dict[str, list[str]] = {}
    for j in jobs:
        by_user.setdefault(j["job_user"], []).append(str(j["job_id"]))
    for user, ids in by_user.items():
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        _run(command(["oardel", *ids], user=user), check=False, timeout=60)
    if not wait_for(lambda: not _query_json(live), timeout, 0.5):
        log.warning("jobs still alive after oardel: %s", _query_json(live))


def _stop_oarexecs() -> None:
    """The jobs' oarexec processes (detached from the server), from their pid files."""
    if not OAREXEC_DIR.is_dir():
        return
    for f in OAREXEC_DIR.glob("pid_of_oarexec_for_jobId_*"):
        pid = read_pid(f)
        if _alive(pid) and _proc_owner(pid) == "oar":
            _stop(pid, timeout=3)
        f.unlink(missing_ok=True)


def _proc_owner(pid: int) -> str | None:
    try:
        return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        return None


def down() -> None:
    """Stop everything up() started, by pid (stale pid files recovered). Keeps the database."""
    with _Lock():
        server = _pidfile(SERVER_PIDFILE, "Almighty")
        if server and _pg_pid():
            try:
                _delete_jobs()
            except OarError as e:
                log.warning("could not delete the jobs: %s", e)
        _stop(_pidfile(NOTIFIER_PIDFILE, "oarnotify"), timeout=2)
        NOTIFIER_PIDFILE.unlink(missing_ok=True)
        _stop_almighty()
        _stop_oarexecs()
        _stop(_pidfile(NODE_PIDFILE, str(OAR_SSHD_CONF)), timeout=5)
        NODE_PIDFILE.unlink(missing_ok=True)
        _pg_stop()


def _status() -> dict:
    pg = _pg_pid()
    server = _pidfile(SERVER_PIDFILE, "Almighty")
    node = _pidfile(NODE_PIDFILE, str(OAR_SSHD_CONF))
    notifier = _pidfile(NOTIFIER_PIDFILE, "oarnotify")
    st = {
        "state": "running" if (pg and server and node and notifier) else "down",
        "user": USER, "tz": TZ, "command": command([]),  # the prefix that runs an OAR client
        "server_pid": server, "node_sshd_pid": node, "postgres_pid": pg,
        "notifier_pid": notifier, "server_port": SERVER_PORT,
        "resources": 0, "alive": 0, "hosts": [], "subnets": [], "vlans": [],
    }
    if pg:
        try:
            rows = _query_json("SELECT resource_id, type, network_address, state, vlan, "
                               "subnet_address, subnet_prefix FROM resources ORDER BY resource_id")
        except OarError:
            rows = []
        st["resources"] = len(rows)
        st["alive"] = sum(r["state"] == "Alive" for r in rows)
        st["hosts"] = sorted({r["network_address"] for r in rows if r["type"] == "default"})
        st["subnets"] = [f"{r['subnet_address']}/{r['subnet_prefix']}"
                         for r in rows if r["type"] == "subnet"]
        st["vlans"] = sorted(int(r["vlan"]) for r in rows if r["type"] in VLAN_TYPES)
    return st


def status() -> dict:
    """{"state": "running"|"down", "user", "tz", "server_pid", "node_sshd_pid",
    "postgres_pid", "notifier_pid", "resources" (count), "alive", "hosts", "subnets", "vlans"}.
    "running" means PostgreSQL, Almighty, oar-node's sshd and the notifier all run."""
    return _status()
