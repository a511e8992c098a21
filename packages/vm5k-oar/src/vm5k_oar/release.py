"""`vm5k-oar --release`: delete the document's jobs and mark them (and their hosts) released."""
import logging
import time

log = logging.getLogger("vm5k.oar")


RELEASE_WAIT_S = 30


def wait_gone(backend, job, timeout=RELEASE_WAIT_S):
    """oardel only asks OAR to kill the job: wait (bounded) until it has left Running,
    so that hosts are really free when --release returns. Returns the last state seen."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        try:
            info = backend.job(job["site"], job["id"])
        except Exception as exc:  # a backend that cannot tell: do not block the release
            log.debug("job %s:%s state unknown after delete: %s", job["site"], job["id"], exc)
            return None
        state = info.state
        if info.ended:
            return state
        time.sleep(1)
    log.warning("job %s:%s still %s %d s after oardel", job["site"], job["id"], state, timeout)
    return state


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
            job["final_state"] = wait_gone(backend, job)
        job["state"] = "released"
    for host in doc.get("hosts") or []:
        if host.get("state") not in (None, "planned"):
            host["state"] = "released"
    return deleted
