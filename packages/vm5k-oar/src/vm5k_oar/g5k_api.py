"""The Grid'5000 REST API as a backend (shapes from g5k-api's own test fixtures, copied to tests/fixtures).

    planning  GET    /sites/{s}/status              nodes/vlans/subnets with their reservations
    submit    POST   /sites/{s}/jobs                {"resources", "command", "types", "name", "reservation"}
    job       GET    /sites/{s}/jobs/{id}           state (lower case), started_at/scheduled_at, assigned_nodes, resources_by_type
    jobs      GET    /sites/{s}/jobs?name=..&state=waiting,launching,running&user=..
    delete    DELETE /sites/{s}/jobs/{id}

It also reads the OAR REST API shapes (`/oarapi/jobs/{id}/details`) that the Grid'5000 API
proxies, so the recorded fixtures of both parse to the same JobInfo. `fetch(method, path,
body) -> (status, json)` is injectable: tests run on recorded answers, never the network.
"""
import getpass
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from vm5k_doc.checks import check_id
from vm5k_doc.errors import PlatformError
from vm5k_doc.grid5000 import api_fetch

from . import oar_text
from .backend import Backend
from .oar_text import FOREVER, JobInfo, Submitted, as_int
from .planning import Block, Busy, PlanHost, Planning

log = logging.getLogger("vm5k.oar")
API_URL = "https://api.grid5000.fr/stable"
STATES = {"waiting": "Waiting", "launching": "Launching", "running": "Running", "hold": "Hold",
          "error": "Error", "terminated": "Terminated", "tolaunch": "toLaunch", "finishing": "Finishing"}


def job_from_api(data, site):
    """A job item of the Grid'5000 API or of /oarapi (with or without /details) -> JobInfo."""
    job_id = as_int(data.get("uid", data.get("id")))
    state = data.get("state") or ""
    state = STATES.get(state.lower(), state)
    start = (as_int(data.get("started_at")) or as_int(data.get("start_time"))
             or as_int(data.get("scheduled_at")) or as_int(data.get("scheduled_start")) or None)
    job = JobInfo(site=site, id=job_id, state=state, name=data.get("name"),
                  owner=data.get("user_uid") or data.get("user") or data.get("owner"),
                  start=start, walltime=as_int(data.get("walltime")) or None, message=data.get("message"))
    for host in data.get("assigned_nodes") or []:
        if host not in job.hosts:
            job.hosts.append(host)
    by_type = data.get("resources_by_type") or {}
    job.subnets = list(by_type.get("subnets") or [])
    if by_type.get("vlans"):
        job.vlan = as_int(by_type["vlans"][0], None)
    for core in by_type.get("cores") or []:           # 'host/cpuset'
        host = core.split("/", 1)[0]
        job.cores[host] = job.cores.get(host, 0) + 1
    if data.get("resources"):                          # /oarapi/jobs/{id}/details
        oar_text.add_resources(job, [r for r in data["resources"] if r.get("status", "assigned") == "assigned"])
    for node in data.get("nodes") or []:
        host = node.get("network_address")
        if host and host not in job.hosts:
            job.hosts.append(host)
    return job


def planning_from_status(status, site, start, end, reference=None):
    """GET /sites/{s}/status -> Planning. A node is unusable unless hard state is alive (or standby);
    busy while one of its reservations runs (started_at, else scheduled_at, + walltime);
    besteffort jobs are ignored (they are killed for us), as enoslib does."""
    def busy_of(item):
        periods = []
        if (item.get("hard") or "alive") not in ("alive", "free", "standby"):  # standby: woken for a job
            periods.append((0, FOREVER))
        for job in item.get("reservations") or []:
            if job.get("queue") == "besteffort":
                continue
            begin = as_int(job.get("started_at")) or as_int(job.get("scheduled_at"))
            if begin:
                periods.append((begin, max(begin + as_int(job.get("walltime")), start)))
        return Busy.of(periods)

    planning = Planning(start=start, end=end)
    for fqdn, node in (status.get("nodes") or {}).items():
        known = reference.node(fqdn) if reference else None
        cluster = known.cluster if known else fqdn.split(".")[0].rsplit("-", 1)[0]
        planning.hosts.append(PlanHost(fqdn, site, cluster, busy_of(node)))
    for vlan_id, vlan in (status.get("vlans") or {}).items():
        planning.blocks.append(Block(site, str(vlan_id), vlan.get("type") or "kavlan", busy_of(vlan)))
    for cidr, subnet in (status.get("subnets") or {}).items():
        if cidr.endswith("/22"):
            planning.blocks.append(Block(site, cidr, "slash_22", busy_of(subnet)))
    return planning.sort()


class G5kApi(Backend):
    name = "g5k-api"
    tz = server_tz = "Europe/Paris"
    poll_seconds = 20

    def __init__(self, fetch=None, user=None, reference=None, margin=120):
        login = None
        if fetch is None:
            fetch, login = api_fetch()
        self.fetch = fetch
        # jobs are the user's own: --api-user, else the configured login, else ours (on a
        # frontend the Unix login is the Grid'5000 one)
        self.user = user or login or getpass.getuser()
        self.reference = reference
        self.margin = margin

    def call(self, method, path, body=None, ok=(200, 201, 202)):
        status, data = self.fetch(method, path, body)
        if status not in ok:
            message = data.get("message") if isinstance(data, dict) else None
            raise PlatformError(f"Grid'5000 API {method} {path}: HTTP {status}: {message or data}")
        return data

    def planning(self, site, start, end):
        check_id(site, "site")
        status = self.call("GET", f"/sites/{site}/status?disks=no&waiting=yes")
        return planning_from_status(status, site, start, end, self.reference)

    def submit(self, spec):
        from .timeutil import oar_date
        body = {"resources": spec.resource_line(), "command": spec.command, "types": spec.types,
                "name": spec.name}
        if spec.reservation is not None:
            body["reservation"] = oar_date(spec.reservation, self.tz)
        if spec.properties:
            body["properties"] = spec.properties
        if spec.queue:
            body["queue"] = spec.queue
        status, data = self.fetch("POST", f"/sites/{spec.site}/jobs", body)
        text = json.dumps(data) if not isinstance(data, str) else data
        job_id = as_int(data.get("uid", data.get("id")), None) if isinstance(data, dict) else None
        if status in (200, 201, 202) and job_id:
            return Submitted(job_id=job_id, ok=True)
        refused = oar_text.parse_oarsub(text.replace("\\n", "\n"), returncode=1)
        return Submitted(job_id=job_id, could_run_at=refused.could_run_at,
                         reason=refused.reason if refused.could_run_at else f"HTTP {status}: {data.get('message', text)[:200]}")

    def job(self, site, job_id):
        return job_from_api(self.call("GET", f"/sites/{site}/jobs/{int(job_id)}"), site)

    def jobs_named(self, site, name):
        query = {"name": name, "state": "waiting,launching,running", "user": self.user}
        data = self.call("GET", f"/sites/{site}/jobs?{urllib.parse.urlencode(query)}")
        return [job_from_api(item, site) for item in data.get("items", [])
                if item.get("name") == name and item.get("user_uid", item.get("user", self.user)) == self.user]

    def delete(self, site, job_id):
        status, _ = self.fetch("DELETE", f"/sites/{site}/jobs/{int(job_id)}", None)
        return status in (200, 202, 204)
