"""Python-3 mends for execo 2.8.2's taktuk classes (TaktukRemote, TaktukPut, ChainPut).

execo.Remote works as is; the taktuk-based classes crash on Python 3 because of three bugs
(found running them on the lab; each is listed below). `apply()` mends them at run time, once, and only where the
bug is still there, so a fixed execo is left alone:

1. action.py writes `str` with `os.write` (the taktuk command file, ChainPut's host list):
   execo.action gets an `os` whose `write` encodes str to bytes.
2. `TaktukProcess` lacks `_trigger_start_handlers`/`_trigger_end_handlers` (only `Process`
   has them): borrowed from `Process`.
3. `process._decode` is applied to taktuk output lines that are already `str`: it now
   leaves str alone.
"""
import os
import types

_applied = False


def _bytes_writing_os():
    """A stand-in for the os module whose write() accepts str (bug 1)."""
    mended = types.ModuleType("os")
    mended.__dict__.update(os.__dict__)

    def write(fd, data):
        return os.write(fd, data.encode() if isinstance(data, str) else data)

    mended.write = write
    return mended


def apply():
    """Mend execo in place (idempotent). Returns the names of the mends applied."""
    global _applied
    from execo import action, process

    done = []
    if _applied:
        return done
    if action.os is os:
        action.os = _bytes_writing_os()
        done.append("os.write(str)")
    for name in ("_trigger_start_handlers", "_trigger_end_handlers"):
        if not hasattr(process.TaktukProcess, name):
            setattr(process.TaktukProcess, name, getattr(process.Process, name))
            done.append(f"TaktukProcess.{name}")
    original_decode = process._decode
    if not getattr(original_decode, "vm5k_mended", False):
        def decode(data):
            return data if isinstance(data, str) else original_decode(data)
        decode.vm5k_mended = True
        process._decode = decode
        done.append("_decode(str)")
    _applied = True
    return done
