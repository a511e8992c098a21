"""The stage: find a slot, submit one job per site at one start, wait, fill hosts, place VMs.

    plan    -> reuse jobs (-j, --name, or the document's own), or search a slot and submit
    wait    -> until Running (progress on stderr), exit 5 if a job ends first
    hosts   -> hosts records, subnets/vlan, VMs placed
"""
import logging
import time

from vm5k_doc import platforms
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError, NoResources, PlatformError

from . import hosts as hosts_module
from . import specs as specs_module
from . import static, wait
from . import wanted as wanted_module
from .planning import Busy, PlanHost, Planning, find_slot
from .timeutil import duration, iso, oar_walltime, parse_oar_date, walltime_seconds

log = logging.getLogger("vm5k.oar")
LEAD = 10            # s: an advance reservation must be in the future when OAR checks it
MAX_SUBMISSIONS = 10  # retries at "could run at" before giving up


def job_record(site, job_id, spec=None, backend=None, state="Waiting", start=None, name=None):
    record = {"site": site, "id": job_id, "state": state}
    if spec is not None:
        record.update(name=spec.name, walltime=oar_walltime(spec.walltime), resources=spec.resource_line(),
                      types=list(spec.types), start=iso(spec.reservation))
        if spec.queue:
            record["queue"] = spec.queue
    if name:
        record["name"] = name
    if start:
        record["start"] = iso(start)
    if backend is not None:
        record["backend"] = backend.name
    return record


def parse_job_list(text, default_site=None):
    """'-j lyon:123,nancy:45' (or '-j 7' with one site) -> [(site, id)]."""
    jobs = []
    for item in text.split(","):
        site, _, job_id = item.strip().rpartition(":")
        site = site or default_site
        if not site:
            raise InputError(f"-j {item!r}: give site:id")
        check_id(site, "-j site")
        if not job_id.isdigit():
            raise InputError(f"-j {item!r}: the job id must be a number")
        jobs.append((site, int(job_id)))
    return jobs


def sites_for(kinds, reference, platform):
    if reference is None and platform.site:  # a one-site platform, asked without reference data
        return [platform.site]
    if reference is None:
        raise InputError("no reference data (vm5k.reference or --reference): cannot tell which sites to ask")
    sites = set()
    for element, kind in kinds.items():
        sites.update(reference.sites if kind == "grid5000" else [reference.site_of(element)])
    return sorted(sites)


def dry_planning(reference, sites, start, end):
    planning = Planning(start=start, end=end, blocks_known=False)
    planning.hosts = [PlanHost(n.fqdn, n.site, n.cluster, Busy()) for n in reference.nodes if n.site in sites]
    return planning.sort()


def search_and_submit(ctx, backend, wanted, kinds, sites, walltime, window, name, deploy, reference, queue):
    """Submit one job per site at the first common slot; retry at 'could run at'. Returns
    the job records (already in the document)."""
    reservation = ctx.doc["reservation"]
    now = int(time.time())
    start, deadline = now + LEAD, now + window
    for attempt in range(1, MAX_SUBMISSIONS + 1):
        planning = Planning(start=start, end=deadline + walltime)
        for site in sites:
            part = backend.planning(site, start, deadline + walltime)
            planning.hosts += part.hosts
            planning.blocks += part.blocks
        planning.sort()
        slot, best = find_slot(planning, wanted, walltime, backend.margin)
        if best is not None:
            reservation["slot"] = best.summary(iso)
        if slot is None or slot.start > deadline:
            raise NoResources(f"no slot of {oar_walltime(walltime)} for {describe(wanted)} before "
                              f"{iso(deadline)} (best: {best.summary(iso)['hosts'] if best else 'none'}, "
                              f"score {best.score:.2f})" if best else "no host at all")
        log.debug("slot at %s for %s", iso(slot.start), describe(wanted))
        job_specs = specs_module.build(slot, kinds, walltime, name=name, deploy=deploy,
                                       reference=reference, blacklist=wanted.blacklist, queue=queue,
                                       clusters=wanted.clusters)
        records, refused = [], []
        # One site and a slot free right now: an ordinary job starts at the next scheduler
        # pass, an advance reservation only after its date has come and been validated
        # (10-17 s on the lab). Several sites need -r for their common start.
        asap = len(job_specs) == 1 and slot.start <= start and attempt == 1
        for spec in job_specs:
            spec.reservation = None if asap else max(spec.reservation, int(time.time()) + LEAD)
            answer = backend.submit(spec)
            if answer.ok:
                record = job_record(spec.site, answer.job_id, spec, backend)
                reservation.setdefault("jobs", []).append(record)  # in the document at once: never lost
                records.append(record)
                log.info("job %s:%s submitted for %s: %s", spec.site, answer.job_id, record["start"] or "as soon as possible", spec.resource_line())
            else:
                refused.append((spec, answer))
        if not refused:
            return records
        for record in records:  # one start for all sites: take back the others and try again
            backend.delete(record["site"], record["id"])
            record["state"] = "released"
        asked = max((spec.reservation or int(time.time())) for spec, _ in refused)
        # never ask the same date twice: OAR said no to it
        later = [max(parse_oar_date(a.could_run_at, backend.server_tz), asked + backend.margin)
                 for _, a in refused if a.could_run_at]
        if len(later) < len(refused):
            spec, answer = next((s, a) for s, a in refused if not a.could_run_at)
            if "not enough" in (answer.reason or "") or "cannot run" in (answer.reason or ""):
                raise NoResources(f"{spec.site}: OAR refused {spec.resource_line()}: {answer.reason}")
            raise PlatformError(f"{spec.site}: oarsub failed: {answer.reason}")
        start = max(later)
        log.info("OAR says it could run at %s: retrying there (%d/%d)", iso(start), attempt, MAX_SUBMISSIONS)
        if start > deadline:
            raise NoResources(f"OAR could only start the job at {iso(start)}, after the window ends at {iso(deadline)}")
    raise NoResources(f"no slot accepted by OAR after {MAX_SUBMISSIONS} submissions")


def describe(wanted):
    parts = [f"{e}:{c or 'all'}" for e, (_, c) in wanted.elements.items()]
    if wanted.kavlan:
        parts.append("kavlan")
    return ",".join(parts)


def reusable(doc, force):
    """The document's own jobs, when a rerun should reuse them."""
    if force:
        return []
    jobs = (doc.get("reservation") or {}).get("jobs") or []
    return [j for j in jobs if j.get("id") is not None and j.get("state") not in ("released", "Error", "Terminated")]


def run(ctx, backend, *, walltime=None, job_list=None, name=None, window=86400, reference=None,
        deploy=False, queue=None):
    doc = ctx.doc
    request = doc.get("request") or {}
    platform = platforms.of(doc)
    walltime = walltime_seconds(walltime or request.get("walltime") or "1:00:00")
    reservation = doc.setdefault("reservation", {})
    reuse = parse_job_list(job_list, platform.site) if job_list else []
    counts = wanted_module.host_counts(doc)
    reservation.setdefault("wanted", counts)

    records = reusable(doc, ctx.force)
    if ctx.force:  # a new reservation: the old hosts go
        reservation["jobs"] = [j for j in reservation.get("jobs", []) if j.get("state") == "released"]
    if job_list:
        records = []
        for site, job_id in reuse:
            info = backend.job(site, job_id)
            if info.ended:
                raise PlatformError(f"job {site}:{job_id} is {info.state}: nothing to reuse")
            records.append(job_record(site, job_id, backend=backend, state=info.state, start=info.start, name=info.name))
        reservation["jobs"] = records
    elif records:
        log.info("reusing the document's job(s): %s", ", ".join(f"{j['site']}:{j['id']}" for j in records))
    elif name and not ctx.dry_run:
        sites = sites_for(wanted_module.kinds_of(counts, reference) if reference else {}, reference, platform)
        for site in sites:
            for info in backend.jobs_named(site, name):
                records.append(job_record(site, info.id, backend=backend, state=info.state, start=info.start, name=info.name))
        if records:
            log.info("reusing job(s) named %s: %s", name, ", ".join(f"{j['site']}:{j['id']}" for j in records))
            reservation["jobs"] = records

    if not records:
        if reference is None and not platform.site:
            raise InputError("no reference data (vm5k.reference or --reference)")
        if ctx.dry_run:
            return dry_run(ctx, reference, counts, walltime, name, deploy, queue)
        now = int(time.time())
        # without reference data, a one-site platform's hosts are what its OAR lists
        oar_planning = None if reference else backend.planning(platform.site, now, now + walltime)
        kinds = wanted_module.kinds_of(counts, reference, oar_planning)
        wanted = wanted_module.build(doc, kinds, reference)
        records = search_and_submit(ctx, backend, wanted, kinds, sites_for(kinds, reference, platform),
                                    walltime, window, name or specs_module.DEFAULT_NAME, deploy, reference, queue)
    if ctx.dry_run:
        return None
    waited = time.monotonic()
    with ctx.progress("jobs", total=len(records)) as bar:
        infos = wait.until_running(backend, records, ctx.events, progress=bar)
    hosts = fill(doc, infos.values(), reference, backend)
    log.info("job %s running after %s: %d host(s) reserved, %d VM(s) placed",
             ", ".join(f"{j['site']}:{j['id']}" for j in records), duration(time.monotonic() - waited),
             len(hosts), len(doc.get("vms") or []))
    return None


def fill(doc, infos, reference, backend=None):
    """hosts, subnets, vlan and placement from running jobs; returns the host records."""
    reservation = doc["reservation"]
    records = hosts_module.records_for(infos, reference)
    if not records:
        raise PlatformError("the job(s) run but hold no host")
    for record in records:   # a node the reference does not know: as OAR describes it
        if not record.get("mem_mb") and backend is not None:
            record.update({k: v for k, v in backend.node(record["site"], record["id"]).items() if v})
    reservation["subnets"] = sorted({s for info in infos for s in info.subnets})
    vlans = [info.vlan for info in infos if info.vlan is not None]
    reservation["vlan"] = vlans[0] if vlans else None
    planned = hosts_module.merge_hosts(doc, records)
    if planned:
        hosts_module.map_explicit(doc, planned, records)
    hosts_module.place_vms(doc)
    log.debug("%d host(s) reserved, %d VM(s) placed", len(records), len(doc.get("vms") or []))
    return records


def dry_run(ctx, reference, counts, walltime, name, deploy, queue):
    """The same document from reference data only: every host free now, no job ids."""
    doc = ctx.doc
    platform = platforms.of(doc)
    if reference is None:
        raise InputError("--dry-run needs reference data (vm5k.reference or --reference)")
    kinds = wanted_module.kinds_of(counts, reference)
    wanted = wanted_module.build(doc, kinds, reference)
    sites = sites_for(kinds, reference, platform)
    now = int(time.time())
    slot, best = find_slot(dry_planning(reference, sites, now, now + walltime), wanted, walltime)
    if slot is None:
        doc["reservation"]["slot"] = best.summary(iso) if best else None
        raise NoResources(f"the reference data has too few hosts for {describe(wanted)}")
    doc["reservation"]["slot"] = slot.summary(iso)
    job_specs = specs_module.build(slot, kinds, walltime, name=name or specs_module.DEFAULT_NAME,
                                   deploy=deploy, reference=reference, blacklist=wanted.blacklist, queue=queue,
                                   clusters=wanted.clusters)
    doc["reservation"]["jobs"] = [job_record(s.site, None, s, state="planned") for s in job_specs]
    records = []
    for site, chosen in slot.hosts.items():
        for fqdns in chosen.values():
            records += [hosts_module.host_record(f, site, reference) for f in fqdns]
    planned = hosts_module.merge_hosts(doc, records)
    if planned:
        hosts_module.map_explicit(doc, planned, records)
    hosts_module.place_vms(doc)
    log.info("dry run: would reserve %s: %d host(s), %d VM(s) placed", "; ".join(s.resource_line() for s in job_specs),
             len(records), len(doc.get("vms") or []))
    return None


def run_static(ctx, names, reference=None, ssh_key=None, ssh_user=None):
    """--hosts: the hosts as given, sized by asking them (also in a dry run: it only reads)."""
    doc = ctx.doc
    static_platform = platforms.get("static")  # hosts given by name: no scheduler
    doc["vm5k"]["platform"] = static_platform.name
    host_names, user = static.parse_list(names, ssh_user)
    records = static.records(host_names, reference, static_platform.ssh(ssh_key, user))
    doc.setdefault("reservation", {}).setdefault("wanted", {static_platform.site: len(records)})
    doc["reservation"]["jobs"] = []
    planned = hosts_module.merge_hosts(doc, records)
    if planned:
        hosts_module.map_explicit(doc, planned, records)
    hosts_module.place_vms(doc)
    log.info("%d static host(s) sized, %d VM(s) placed", len(records), len(doc.get("vms") or []))
