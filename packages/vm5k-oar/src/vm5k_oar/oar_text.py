"""Parsers for what the OAR 2.5 command line prints (real outputs recorded
on the lab's OAR 2.5.9 in tests/fixtures/oar, checked against the oarstat/oarsub sources)."""
import json
import re
from dataclasses import dataclass, field

from .planning import Block, Busy, PlanHost, Planning

JOB_ID_RE = re.compile(r"^OAR_JOB_ID=(-?\d+)\s*$", re.M)
COULD_RUN_RE = re.compile(r"could run at (\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2})")
KO_RE = re.compile(r"Reservation not valid --> KO \(([^)]*)\)")
PROPERTY_RE = re.compile(r"(\w+) = '([^']*)'")
FOREVER = 2**31 - 1


def unavailable(state, available_upto=None, maintenance=None):
    """When a resource cannot run a job, from OAR's own columns. Alive: never. Absent with
    `available_upto` in the future is a node in standby (Grid'5000 powers nodes off to save
    energy and OAR wakes them for a job): usable until then, as execo and EnOSlib count it.
    Dead, Suspected, a plain Absent, or in maintenance: always."""
    if str(maintenance or "").upper() == "YES":
        return [(0, FOREVER)]
    if state in (None, "Alive"):
        return []
    upto = as_int(available_upto)
    if state == "Absent" and upto and upto > 0:
        return [(upto, FOREVER)]
    return [(0, FOREVER)]
ENDED = ("Terminated", "Error")
STARTED = ("Running",)
VLAN_TYPES = ("kavlan", "kavlan-local", "kavlan-global")


@dataclass
class Submitted:
    """What oarsub said."""
    job_id: int = None          # None when there is no (positive) OAR_JOB_ID
    ok: bool = False
    could_run_at: str = None    # 'Y-m-d H:M:S' (server time) when the reservation was refused for a later date
    reason: str = None          # one line: why it failed


def parse_oarsub(stdout, stderr="", returncode=0):
    match = JOB_ID_RE.search(stdout)
    job_id = int(match.group(1)) if match else None
    if job_id is not None and job_id <= 0:  # 'OAR_JOB_ID=-5': not enough resources
        job_id = None
    result = Submitted(job_id=job_id)
    could = COULD_RUN_RE.search(stdout)
    ko = KO_RE.search(stdout)
    if could:
        result.could_run_at = could.group(1)
    if returncode == 0 and job_id is not None and not ko:
        result.ok = True
        return result
    if ko:
        result.reason = ko.group(1)
    else:
        lines = [line.strip() for line in (stderr + "\n" + stdout).splitlines()
                 if line.strip() and not line.startswith("[ADMISSION RULE] Modify")]
        errors = [line for line in lines if "rror" in line or "not enough" in line]
        result.reason = (errors or lines or [f"oarsub exit {returncode}"])[0]
    return result


def loads(text, what):
    """JSON from an OAR command (oarsub -J adds a '#####' block; oarstat may print a warning)."""
    start = text.find("{")
    if start < 0:
        raise ValueError(f"{what}: no JSON in the output")
    return json.loads(text[start:])


def as_int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class JobInfo:
    """One job as every backend reports it."""
    site: str
    id: int
    state: str                   # OAR's: Waiting, Launching, Running, Terminated, Error...
    name: str = None
    owner: str = None
    start: int = None            # epoch: startTime, else scheduledStart
    walltime: int = None         # s
    hosts: list = field(default_factory=list)        # FQDNs
    subnets: list = field(default_factory=list)      # 'a.b.c.d/22'
    vlan: int = None
    cores: dict = field(default_factory=dict)        # fqdn -> resources (cores) held
    message: str = None

    @property
    def ended(self):
        return self.state in ENDED

    @property
    def running(self):
        return self.state in STARTED


def parse_oarstat_job(data, site, job_id=None):
    """One job from `oarstat -fJ -j ID` (a map {"ID": {...}}) or its inner object."""
    if job_id is not None and str(job_id) in data:
        data = data[str(job_id)]
    elif "Job_Id" not in data and "job_id" not in data and len(data) == 1:
        data = next(iter(data.values()))
    start = as_int(data.get("startTime")) or as_int(data.get("scheduledStart")) or None
    hosts = []
    for host in data.get("assigned_network_address") or []:
        if host and host not in hosts:
            hosts.append(host)
    return JobInfo(site=site, id=as_int(data.get("Job_Id", data.get("job_id", job_id))),
                   state=data.get("state"), name=data.get("name"), owner=data.get("owner"),
                   start=start, walltime=as_int(data.get("walltime")) or None, hosts=hosts,
                   message=data.get("message"))


def parse_oarstat_jobs(data, site):
    """`oarstat -u -J`: {"ID": {...}, ...} -> [JobInfo]."""
    return [parse_oarstat_job(job, site, int(job_id)) for job_id, job in data.items()]


def parse_oarstat_state(stdout):
    """`oarstat -s -j ID` -> 'Running' (None for an unknown id: OAR prints nothing)."""
    match = re.search(r"^\d+:\s*(\w+)\s*$", stdout, re.M)
    return match.group(1) if match else None


def parse_properties(stdout):
    """`oarstat -p -j ID`: one resource a line, ` prop = 'value' , ...` -> [dict]."""
    return [dict(PROPERTY_RE.findall(line)) for line in stdout.splitlines() if "=" in line]


def add_resources(job, rows):
    """Fill hosts, cores, subnets and vlan of `job` from its resources' properties."""
    for row in rows:
        kind = row.get("type") or "default"
        if kind == "subnet" and row.get("subnet_address"):
            cidr = f"{row['subnet_address']}/{row.get('subnet_prefix') or 22}"
            if cidr not in job.subnets:
                job.subnets.append(cidr)
        elif kind in VLAN_TYPES and row.get("vlan"):
            job.vlan = as_int(row["vlan"], None)
        elif kind == "default":
            host = row.get("network_address") or row.get("host")
            if host:
                job.cores[host] = job.cores.get(host, 0) + 1
                if host not in job.hosts:
                    job.hosts.append(host)
    return job


def parse_gantt(data, site, start, end, now=None):
    """`oarstat --gantt "A, B" -J` -> Planning of one site.

    Every resource row (type default -> its host; subnet -> its slash_22 block; kavlan* ->
    its vlan) is busy while a job holds it and while it is Dead/Absent/Suspected. A host is
    busy when any of its cores is: vm5k reserves whole nodes.
    """
    rows = data.get("resources") or []
    if isinstance(rows, dict):
        rows = list(rows.values())
    now = now or start
    intervals = {}                 # resource_id -> [(start, end)]
    for job in (data.get("jobs") or {}).values():
        if job.get("state") in ENDED:
            continue
        job_start = as_int(job.get("start_time"))
        job_stop = as_int(job.get("stop_time"))
        if not job_stop:   # a running job from the jobs table has stop_time 0
            job_stop = job_start + as_int(job.get("walltime"))
        job_stop = max(job_stop, now)  # a job past its walltime still holds until it ends
        for rid in job.get("resource_id") or []:
            intervals.setdefault(str(rid), []).append((job_start, job_stop))
    upto = {str(r.get("resource_id")): as_int(r.get("available_upto")) for r in rows}
    for rid, periods in (data.get("dead_resources") or {}).items():
        for period in periods:
            dead_start, dead_stop = as_int(period[0]), as_int(period[1]) or FOREVER
            if len(period) > 2 and period[2] == "Absent" and upto.get(str(rid), 0) > 0:
                # standby (Absent, available_upto set): OAR wakes it for jobs until then
                dead_start = max(dead_start, upto[str(rid)])
            if dead_start < dead_stop:
                intervals.setdefault(str(rid), []).append((dead_start, dead_stop))

    hosts, blocks = {}, {}
    for row in rows:
        rid = str(row.get("resource_id"))
        busy = list(intervals.get(rid, [])) + unavailable(row.get("state", "Alive"), row.get("available_upto"),
                                                          row.get("maintenance"))
        kind = row.get("type") or "default"
        if kind == "default":
            fqdn = row.get("network_address") or row.get("host")
            if not fqdn:
                continue
            entry = hosts.setdefault(fqdn, [row.get("cluster") or fqdn.split("-")[0], []])
            entry[1].extend(busy)
        elif kind == "subnet":
            name = row.get("slash_22") or row.get("subnet_address")
            blocks.setdefault(("slash_22", name), []).extend(busy)
        elif kind in VLAN_TYPES:
            blocks.setdefault((kind, str(row.get("vlan"))), []).extend(busy)
    planning = Planning(start=start, end=end)
    planning.hosts = [PlanHost(fqdn, site, cluster, Busy.of(busy)) for fqdn, (cluster, busy) in hosts.items()]
    planning.blocks = [Block(site, name, kind, Busy.of(busy)) for (kind, name), busy in blocks.items()]
    return planning.sort()


def parse_oarnodes(data, fqdn):
    """`oarnodes -J HOST` (one entry per core resource) -> {cluster, cores, threads, mem_mb}:
    how vm5k-oar describes a granted node the reference data does not know."""
    rows = [r for r in (data.values() if isinstance(data, dict) else data or [])
            if isinstance(r, dict) and (r.get("network_address") or r.get("host")) == fqdn
            and (r.get("type") or "default") == "default"]
    if not rows:
        return {}
    cores = len({r.get("core", r.get("resource_id")) for r in rows})
    return {"cluster": rows[0].get("cluster"), "cores": cores, "threads": cores,
            "mem_mb": as_int(rows[0].get("memnode")) or None}
