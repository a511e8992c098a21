"""The OAR server as a whole: up (idempotent), down and status.

``up`` (under the machine-wide lab lock, like everything that changes the lab):

1. the user ``USER``; ``hostname`` resolvable;
2. PostgreSQL (``pg_ctlcluster``; a stale ``postmaster.pid`` is removed first);
3. ``/etc/oar/oar.conf`` (see config);
4. the database (``oar-database --create --db-is-local`` when missing);
5. ``/var/lib/oar/.ssh/config``: every node name goes to the local oar-node sshd; the
   server epilogue and the wake-up command (see config, epilogue);
6. in one SQL transaction: properties, admission rules and resources (see resources);
7. oar-node's sshd, oar-server (Almighty), the notifier and the REST API server (see
   daemons, api).

``down`` deletes the jobs still alive, then stops the notifier, Almighty (and its
children), the jobs' oarexec, oar-node's sshd and PostgreSQL, each by the pid it recorded.
The database is kept (restart is fast).
"""

from __future__ import annotations

import logging
import pwd
import time

from ..state import lab_lock, wait_for
from . import api, config, daemons, database, resources
from .commands import TZ, USER, OarError, command, run

log = logging.getLogger("vm5k_lab.oar")

LOCK_WAIT = "vm5k_lab.oar: waiting for the lab lock (/run/vm5k-lab.lock)"


def up(hosts: list[dict], subnets: list[str], vlans: list[int]) -> dict:
    """Bring the OAR server up with exactly these resources (idempotent). Returns status()
    plus "changes" (counts of inserted/updated/deleted... resources) and "seconds"."""
    t0 = time.monotonic()
    resources.desired_rows(hosts, subnets, vlans)   # bad arguments fail before anything runs
    with lab_lock(wait_message=LOCK_WAIT):
        config.ensure_user()
        config.ensure_hostname()
        database.pg_start()
        config.ensure_scripts()
        conf_changed = config.ensure_conf()
        created = database.ensure_db()
        config.ensure_ssh_config()
        server = daemons.server_pid()
        if server and conf_changed:
            log.info("oar.conf changed: restarting Almighty")
            daemons.stop_almighty()
            server = None
        changes = resources.sync(hosts, subnets, vlans, server_running=bool(server))
        daemons.start_node_sshd()
        daemons.start_server()
        daemons.start_notifier()
        daemons.start_api()
        if server and any(changes.values()):
            run(["oarnotify", "Term"], check=False)
        st = status()
    st["changes"] = changes
    st["created_db"] = created
    st["seconds"] = round(time.monotonic() - t0, 2)
    return st


def delete_jobs(timeout: float = 15) -> None:
    """oardel every unfinished job (as its owner) and wait for them to end."""
    live = "SELECT job_id, job_user, state FROM jobs WHERE state NOT IN ('Terminated', 'Error')"
    jobs = database.query_json(live)
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
        run(command(["oardel", *ids], user=user), check=False, timeout=60)
    if not wait_for(lambda: not database.query_json(live), timeout, 0.5):
        log.warning("jobs still alive after oardel: %s", database.query_json(live))


def down() -> None:
    """Stop everything up() started, by pid (stale pid files recovered). Keeps the database."""
    with lab_lock(wait_message=LOCK_WAIT):
        if daemons.server_pid() and database.pg_pid():
            try:
                delete_jobs()
            except OarError as e:
                log.warning("could not delete the jobs: %s", e)
        daemons.stop_api()
        daemons.stop_notifier()
        daemons.stop_almighty()
        daemons.stop_oarexecs()
        daemons.stop_node_sshd()
        database.pg_stop()


def status() -> dict:
    """{"state": "running"|"down", "user", "tz", "server_pid", "node_sshd_pid",
    "postgres_pid", "notifier_pid", "resources" (count), "alive", "hosts", "subnets", "vlans"}.
    "running" means PostgreSQL, Almighty, oar-node's sshd and the notifier all run."""
    pg = database.pg_pid()
    server = daemons.server_pid()
    node = daemons.node_sshd_pid()
    notifier = daemons.notifier_pid()
    st = {
        "state": "running" if (pg and server and node and notifier) else "down",
        "user": USER, "tz": TZ, "command": command([]),  # the prefix that runs an OAR client
        "server_pid": server, "node_sshd_pid": node, "postgres_pid": pg,
        "notifier_pid": notifier, "server_port": daemons.SERVER_PORT,
        # OAR's REST API under /oarapi, the Grid'5000 API of site lab under /sites/lab
        "api_pid": daemons.api_pid(), "api_url": f"http://127.0.0.1:{api.PORT}",
        "api_user": USER, "api_password": api.API_PASSWORD,
        "resources": 0, "alive": 0, "hosts": [], "subnets": [], "vlans": [],
    }
    if pg:
        try:
            rows = database.query_json(
                "SELECT resource_id, type, network_address, state, vlan, "
                "subnet_address, subnet_prefix FROM resources ORDER BY resource_id")
        except OarError:
            rows = []
        st["resources"] = len(rows)
        st["alive"] = sum(r["state"] == "Alive" for r in rows)
        st["hosts"] = sorted({r["network_address"] for r in rows if r["type"] == "default"})
        st["subnets"] = [f"{r['subnet_address']}/{r['subnet_prefix']}"
                         for r in rows if r["type"] == "subnet"]
        st["vlans"] = sorted(int(r["vlan"]) for r in rows if r["type"] in resources.VLAN_TYPES)
    return st
