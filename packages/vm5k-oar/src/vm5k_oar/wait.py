"""Wait until every job runs, its state on the live progress line (vm5k_doc.progress) and
under -v; a job that ends first is an error."""
import logging
import time

from vm5k_doc.errors import PlatformError

from .timeutil import duration, iso

log = logging.getLogger("vm5k.oar")
REPORT_EVERY = 30   # s between two progress lines when nothing changes


def update_record(record, info):
    record["state"] = info.state
    if info.start:
        record["start"] = iso(info.start)
    if info.message:
        record["message"] = info.message


def until_running(backend, records, events=None, sleep=time.sleep, clock=time.time, progress=None):
    """Poll the jobs of `records` (document job records, updated in place) until all run.
    Returns {(site, id): JobInfo}. Raises PlatformError when a job ends or errors first.
    progress: a vm5k_doc.progress.Progress, told how many run and each job's state."""
    infos, last, notes = {}, {}, {}
    waited_since = clock()
    while True:
        for record in records:
            info = backend.job(record["site"], record["id"])
            update_record(record, info)
            infos[(record["site"], record["id"])] = info
            if info.ended:
                raise PlatformError(f"job {record['site']}:{record['id']} is {info.state} before it ran"
                                    + (f": {info.message}" if info.message else ""))
            key = (record["site"], record["id"])
            now = clock()
            when = ""
            if not info.running and info.start:
                delta = info.start - now
                when = f", starts in {duration(delta)}" if delta > 0 else f", {duration(-delta)} past its start"
            notes[key] = f"{record['site']}:{record['id']} {info.state}{when}"
            if last.get(key, (None, 0))[0] != info.state or now - last[key][1] >= REPORT_EVERY:
                last[key] = (info.state, now)
                log.debug("job %s", notes[key])
                if events:
                    events.emit("job", site=record["site"], id=record["id"], state=info.state)
        if progress is not None:
            progress.update(step="waiting", running=sum(1 for i in infos.values() if i.running),
                            note=", ".join(notes.values()))
        if all(info.running for info in infos.values()):
            log.debug("all %d job(s) running after %s", len(records), duration(clock() - waited_since))
            return infos
        sleep(backend.poll_seconds)
