"""OAR's database: the PostgreSQL 15 cluster (started and stopped by pid), SQL through psql
as the postgres superuser, and the OAR database itself (created when missing or half made).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..state import alive, pidfile_alive, stop_pid, wait_for
from .commands import run

log = logging.getLogger("vm5k_lab.oar")

DB_NAME = "oar"
DB_PASSWD = "oar"
DB_PASSWD_RO = "oar_ro"


def pg_cluster() -> tuple[str, str, str, Path] | None:
    """(version, name, status, data directory) of the first cluster."""
    p = run(["pg_lsclusters", "-h"], check=False)
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 6:
            return f[0], f[1], f[3], Path(f[5])
    return None


def pg_pid(cluster=None) -> int | None:
    c = cluster or pg_cluster()
    if not c:
        return None
    return pidfile_alive(c[3] / "postmaster.pid", cmdline="postgres")


def pg_start() -> None:
    c = pg_cluster()
    if c is None:
        run(["pg_createcluster", "15", "main"])
        c = pg_cluster()
    ver, name, _, data = c
    if pg_pid(c):
        return
    stale = data / "postmaster.pid"
    if stale.exists():                  # killed run: the pid is gone or is someone else
        log.info("removing stale %s", stale)
        stale.unlink()
    run(["pg_ctlcluster", ver, name, "start"], timeout=60)


def pg_stop() -> None:
    c = pg_cluster()
    if not c:
        return
    ver, name, _, data = c
    pid = pg_pid(c)
    if pid:
        p = run(["pg_ctlcluster", ver, name, "stop", "-m", "fast"], check=False, timeout=60)
        if p.returncode != 0:
            stop_pid(pid, timeout=10)
        wait_for(lambda: not alive(pid), 10)
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
    return run(argv + ["-f", "-"], input=sql, timeout=timeout).stdout


def query_json(sql: str) -> list:
    """The rows of a SELECT, as a list of dicts."""
    out = psql(f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q;", query=True).strip()
    return json.loads(out or "[]")


def ensure_db() -> bool:
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
    run(["oar-database", "--create", "--db-is-local"], timeout=120)
    return True
