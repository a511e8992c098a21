"""`vm5k-oar --release`: delete the document's jobs and mark them (and their hosts) released."""
import logging

log = logging.getLogger("vm5k.oar")


def release(doc, backend, dry_run=False):
    """Returns the number of jobs deleted."""
    jobs = (doc.get("reservation") or {}).get("jobs") or []
    deleted = 0
    for job in jobs:
        if job.get("id") is None or job.get("state") == "released":
            continue
        if not dry_run:
            backend.delete(job["site"], job["id"])
            deleted += 1
            log.info("job %s:%s deleted", job["site"], job["id"])
        job["state"] = "released"
    for host in doc.get("hosts") or []:
        if host.get("state") not in (None, "planned"):
            host["state"] = "released"
    return deleted
