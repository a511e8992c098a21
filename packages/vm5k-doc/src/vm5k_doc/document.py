"""The deployment document as plain dicts: creation, stage bookkeeping, events."""
import datetime

from . import __version__
from .schema import VERSION

STAGES = ("topo", "oar", "net", "hosts", "vms")


def now():
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def new(platform, reference=None):
    meta = {"version": VERSION, "platform": platform, "stages": [], "tools": {}}
    if reference:
        meta["reference"] = reference
    return {"vm5k": meta, "events": []}


def failed_status(doc, stage=None):
    """The exit status of the stage that failed this document, or None.

    A failed document (bad input, no resources, platform failure, interrupted) passes
    through later stages unchanged. A partial result (3) does not: later stages go on
    with what is OK. Nor does a failure of `stage` itself: re-running the stage that
    failed (or was interrupted) is how it is retried or cleaned up (vm5k-vms --destroy).
    """
    for event in reversed(doc.get("events") or []):
        if stage is not None and event.get("stage") == stage:
            continue
        if not event.get("ok", True) and event.get("status", 1) != 3:
            return event.get("status", 1)
        if event.get("ok", True):
            return None
    return None


def mark_stage(doc, stage, tool_version=__version__):
    meta = doc["vm5k"]
    if stage in STAGES and stage not in meta["stages"]:
        meta["stages"].append(stage)
    meta.setdefault("tools", {})[f"vm5k-{stage}"] = tool_version


def add_event(doc, stage, at, seconds, ok, status=0, message=None, **fields):
    event = {"stage": stage, "at": at, "seconds": round(seconds, 3), "ok": ok}
    if status:
        event["status"] = int(status)
    if message:
        event["message"] = message
    event.update({k: v for k, v in fields.items() if v is not None})
    doc.setdefault("events", []).append(event)
    return event


def vms_on(doc, host_id):
    return [vm for vm in doc.get("vms", []) if vm.get("host") == host_id]


def hosts_by_id(doc):
    return {host["id"]: host for host in doc.get("hosts", [])}
