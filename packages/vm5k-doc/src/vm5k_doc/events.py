"""NDJSON events: one line per transition (a VM started, a host KO...) with a timestamp.

`--events FILE` turns them on; this is also how boot times are measured. The document
keeps only one summary event per stage run.
"""
import json
import threading
import time

from .document import now
from .errors import InputError


class EventLog:
    def __init__(self, stage, path=None):
        self.stage = stage
        self.path = path
        try:
            self._handle = open(path, "a", encoding="utf-8") if path else None
        except OSError as exc:
            raise InputError(f"--events {path}: {exc.strerror}") from None
        self._lock = threading.Lock()
        self.t0 = time.monotonic()

    def emit(self, kind, **fields):
        """Write one event line (a no-op without --events)."""
        if self._handle is None:
            return
        line = {"at": now(), "t": round(time.monotonic() - self.t0, 3), "stage": self.stage, "event": kind}
        line.update(fields)
        with self._lock:
            self._handle.write(json.dumps(line) + "\n")
            self._handle.flush()

    def close(self):
        if self._handle:
            self._handle.close()
            self._handle = None
