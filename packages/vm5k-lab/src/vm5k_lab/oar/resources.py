"""OAR's resources for the lab: Grid'5000 properties, one resource per host core, per
subnet block and per vlan, and the SQL that brings OAR's database in line with them.

- one resource per core (``host``, ``network_address``, ``cluster``, ``cpu``, ``core``,
  ``cpuset``, ``memnode``, ``virtual='ivt'``, ``deploy='YES'``, ``ip``...);
- one ``subnet`` resource per block (``subnet_address``, ``subnet_prefix``,
  ``slash_16``..``slash_NN``);
- one resource per vlan (type ``kavlan-local`` for 1-3, ``kavlan`` for 4-9,
  ``kavlan-global`` above).

``sync`` applies, in one SQL transaction, the properties, the admission rules and the
resources; resources in an unfinished job are set Dead rather than deleted.
"""

from __future__ import annotations

import ipaddress
import re

from .admission import QUEUE_PRODUCTION, RULE_QUEUES, RULE_SUBNET, RULE_TYPES, admission_sql
from .commands import run
from .database import psql, query_json

DEFAULT_CLUSTER = "lab"
CPU_MODEL = "QEMU lab host"

SLASH_MIN = 16                     # slash_16 .. slash_22 properties, as on Grid'5000
# A subnet resource holds, in slash_K, the address of its enclosing /K: `slash_K=1` gets
# every listed block of one /K (a complete /K only when all its blocks are listed).

# Grid'5000-like resource properties: name -> SQL type
PROPERTIES: dict[str, str] = {
    "host": "varchar", "cluster": "varchar", "cpu": "int", "core": "int", "cpucore": "int",
    "memnode": "int", "memcpu": "int", "memcore": "int", "virtual": "varchar", "ip": "varchar",
    "cputype": "varchar", "cpuarch": "varchar", "disktype": "varchar", "eth_count": "int",
    "maintenance": "varchar", "wattmeter": "varchar", "vlan": "varchar",
    "subnet_address": "varchar", "subnet_prefix": "int", "production": "varchar", "exotic": "varchar",
    **{f"slash_{k}": "varchar" for k in range(SLASH_MIN, 23)},
}
# columns of OAR's own schema we set on our rows
BASE_COLUMNS = ("type", "network_address", "cpuset", "deploy", "besteffort", "available_upto")
# base columns a row may leave to OAR's default (no change asked when the row has none)
OPTIONAL_COLUMNS = ("besteffort", "cpuset", "available_upto")
ALWAYS_UP = 2147483647             # OAR's available_upto default: no energy saving
STANDBY_UPTO = 2147483646          # "wake-up and halt enabled forever": a node in standby
STATE_NUM = {"Alive": 1, "Absent": 2, "Suspected": 3, "Dead": 4}
VLAN_TYPES = ("kavlan-local", "kavlan", "kavlan-global")
MANAGED_TYPES = ("default", "subnet") + VLAN_TYPES

def vlan_type(vlan: int) -> str:
    """Grid'5000 kavlan kinds: 1-3 local, 4-9 routed, 10 and above global."""
    if vlan < 1:
        raise ValueError(f"bad vlan id {vlan}")
    return "kavlan-local" if vlan <= 3 else "kavlan" if vlan <= 9 else "kavlan-global"


def host_rows(hosts: list[dict]) -> list[dict]:
    """One resource per core, numbered like Grid'5000 (cpu and core unique site-wide,
    cpuset the core's index on its host). Hosts may give "cpus" (default 1), "cluster",
    "queue" ("production": property production=YES, as Grid'5000's production clusters),
    "exotic" (exotic=YES), "virtual" (False: virtual=NO) and "standby" (state Absent with
    available_upto in the future: a Grid'5000 node powered off until OAR wakes it)."""
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
        extra = {"production": "YES" if h.get("queue") == "production" else "NO",
                 "exotic": "YES" if h.get("exotic") else "NO",
                 "available_upto": STANDBY_UPTO if h.get("standby") else ALWAYS_UP}
        for c in range(cpus):
            cpu += 1
            for k in range(per_cpu):
                core += 1
                rows.append({
                    "type": "default", "network_address": fqdn, "host": fqdn,
                    "cluster": cluster, "cpu": cpu, "core": core, "cpuset": str(c * per_cpu + k),
                    "cpucore": per_cpu, "memnode": mem // cpus, "memcpu": mem // cpus,
                    "memcore": mem // cores, "virtual": "ivt" if h.get("virtual", True) else "NO",
                    "ip": ip, "cputype": CPU_MODEL,
                    "cpuarch": "x86_64", "disktype": "SATA", "eth_count": 1,
                    "maintenance": "NO", "wattmeter": "NO", "deploy": "YES", "besteffort": "YES",
                    **extra,
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


def desired_state(row: dict) -> str:
    """A row's OAR state after `up`: Absent for a node in standby, else Alive."""
    return "Absent" if row.get("available_upto") == STANDBY_UPTO else "Alive"


def plan_resources(existing: list[dict], desired: list[dict], busy: set[int] = frozenset()) -> dict:
    """What to do to bring the managed resources (types in MANAGED_TYPES) in line:
    {"insert": [rows], "update": [(id, {col: value})], "delete": [ids], "kill": [ids],
     "revive": [ids], "standby": [ids]} ; `busy` resources (in an unfinished job) are set
    Dead, not deleted, and a busy node woken from standby stays Alive."""
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
    plan = {"insert": [], "update": [], "delete": [], "kill": [], "revive": [], "standby": []}
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
                   and not (c in OPTIONAL_COLUMNS and row.get(c) is None)}
        if changes:
            plan["update"].append((cur["resource_id"], changes))
        state, rid = desired_state(row), cur["resource_id"]
        if state == "Alive" and cur.get("state") != "Alive":
            plan["revive"].append(rid)
        elif state == "Absent" and cur.get("state") != "Absent" and rid not in busy:
            plan["standby"].append(rid)
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
                "(" + ", ".join([sql_literal(desired_state(r)), str(STATE_NUM[desired_state(r)])]
                                + [sql_literal(r[c]) for c in cols]) + ")"
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


def sync(hosts, subnets, vlans, server_running: bool) -> dict:
    """Bring properties, admission rules and resources in line; counts of what changed."""
    desired = desired_rows(hosts, subnets, vlans)
    have = {r["column_name"] for r in query_json(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'resources'")}
    rules = {r["rule"] for r in query_json("SELECT rule FROM admission_rules")}
    queues = {r["queue_name"] for r in query_json("SELECT queue_name FROM queues")}
    rules_ok = ({RULE_TYPES, RULE_SUBNET, RULE_QUEUES} <= rules
                and QUEUE_PRODUCTION[0] in queues)
    sql = ""
    if not set(PROPERTIES) <= have:
        sql += properties_sql()
    if not rules_ok:
        sql += admission_sql()
    if sql:
        psql(sql)
    existing = query_json("SELECT * FROM resources ORDER BY resource_id")
    busy = {r["resource_id"] for r in query_json(
        "SELECT DISTINCT a.resource_id FROM assigned_resources a "
        "JOIN moldable_job_descriptions m ON m.moldable_id = a.moldable_job_id "
        "JOIN jobs j ON j.job_id = m.moldable_job_id "
        "WHERE j.state NOT IN ('Terminated', 'Error')")}
    plan = plan_resources(existing, desired, busy)
    sql = resources_sql(plan)
    changes = ((plan["revive"], "Alive"), (plan["kill"], "Dead"), (plan["standby"], "Absent"))
    states = plan["revive"] + plan["kill"] + plan["standby"]
    if states and not server_running:
        # Almighty is not running: states can be set in the database directly
        for ids, st in changes:
            if ids:
                sql += (f"UPDATE resources SET state = '{st}', state_num = {STATE_NUM[st]}, "
                        f"next_state = 'UnChanged' WHERE resource_id IN "
                        f"({','.join(str(int(i)) for i in ids)});\n")
    if sql:
        psql(sql)
    if states and server_running:
        for ids, st in changes:
            if ids:
                run(["oarnodesetting", "--sql",
                     f"resource_id IN ({','.join(str(int(i)) for i in ids)})", "-s", st])
    return {k: len(v) for k, v in plan.items()}
