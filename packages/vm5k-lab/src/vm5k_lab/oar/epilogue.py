"""What the end of a job does to the lab hosts, as on Grid'5000 (OAR's server epilogue).

On Grid'5000 a node given back is rebooted or redeployed: the user's VMs are gone, and a
node moved into a KaVLAN returns to the default network. OAR runs
``SERVER_EPILOGUE_EXEC_FILE JOB_ID`` on the server after every job, whatever ended it
(its command, ``oardel``, the walltime); the lab's (``/etc/oar/vm5k-lab-server-epilogue``,
run as ``oar``) becomes root through OAR's own ``oardodo`` and runs::

    python -m vm5k_lab.oar.epilogue JOB_ID

which, on each lab host of the job that no other unfinished job holds, destroys and
undefines every libvirt domain and moves the host's port back to the default network.
It does not take the lab lock: it runs for the session that holds it (that session waits
for its job to end), and every step is per host and idempotent. One line per host goes to
``RUN_DIR/epilogue.log``; the exit status is 0 unless the job id is bad (OAR logs an event
for a non-zero status, the job ends anyway).
"""

from __future__ import annotations

import sys
import time

from .. import libvirtd, network, plan
from ..state import stop_pid
from .daemons import RUN_DIR
from .database import query_json

LOG = RUN_DIR / "epilogue.log"


def job_hosts(job_id: int) -> tuple[str | None, list[str], list[str]]:
    """(owner, hosts of the job, those of its hosts another unfinished job holds)."""
    jid = int(job_id)
    owner = query_json(f"SELECT job_user FROM jobs WHERE job_id = {jid}")
    hosts = [r["network_address"] for r in query_json(
        "SELECT DISTINCT r.network_address FROM assigned_resources a "
        "JOIN resources r ON r.resource_id = a.resource_id "
        f"WHERE a.moldable_job_id IN (SELECT moldable_id FROM moldable_job_descriptions "
        f"WHERE moldable_job_id = {jid}) AND r.type = 'default' AND r.network_address <> '' "
        "ORDER BY r.network_address")]
    held = [r["network_address"] for r in query_json(
        "SELECT DISTINCT r.network_address FROM assigned_resources a "
        "JOIN resources r ON r.resource_id = a.resource_id "
        "JOIN moldable_job_descriptions m ON m.moldable_id = a.moldable_job_id "
        "JOIN jobs j ON j.job_id = m.moldable_job_id "
        f"WHERE j.job_id <> {jid} AND j.state NOT IN ('Terminated', 'Error') "
        "AND r.type = 'default'")]
    return (owner[0]["job_user"] if owner else None), hosts, [h for h in hosts if h in held]


def clean_host(n: int) -> dict:
    """Host n as a redeployed Grid'5000 node: no domain, port in the default network."""
    out = {"host": plan.host_fqdn(n), "domains": [], "vlan": None}
    if libvirtd.libvirtd_pid(n):
        out["domains"] = libvirtd.domains(n)
        libvirtd.destroy_domains(n)
        for pid in libvirtd.qemu_pids(n):   # libvirtd lost track of a guest: it goes too
            stop_pid(pid)
    if network.netns_exists(plan.LAB_NS):
        vlan = network.host_port_vlan(n)
        if vlan is not None:
            network.set_host_vlan(n, None)
            out["vlan"] = vlan
    return out


def run(job_id: int) -> list[dict]:
    owner, hosts, held = job_hosts(job_id)
    done = []
    for fqdn in hosts:
        try:
            n = plan.host_number(fqdn)
        except ValueError:
            continue                      # not a lab host (fake hosts of the OAR tests)
        if fqdn in held:
            done.append({"host": fqdn, "skipped": "held by another job"})
            continue
        done.append(clean_host(n))
    _log(job_id, owner, done)
    return done


def _log(job_id, owner, done) -> None:
    try:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        with open(LOG, "a") as f:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for d in done or [{"host": None}]:
                f.write(f"{stamp} job {job_id} ({owner}): {d}\n")
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m vm5k_lab.oar.epilogue JOB_ID", file=sys.stderr)
        return 2
    run(int(argv[0]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
