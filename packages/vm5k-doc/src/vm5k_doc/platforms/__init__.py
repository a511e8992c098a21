"""The platforms vm5k runs on, behind one interface (base.Platform): stages ask the platform
object of their document and never branch on a platform name.

    g5k      real Grid'5000: OAR on the site frontends (or the REST API), kadeploy, KaVLAN
    lab      the local lab, reached only through the `vm5k-lab` command and its status JSON
    static   any list of SSH hosts, no scheduler
"""
from ..errors import InputError
from .base import Platform
from .g5k import G5k
from .lab import Lab
from .static import Static

NAMES = ("g5k", "lab", "static")
_KINDS = {"g5k": G5k, "lab": Lab, "static": Static}
_made = {}


def get(name):
    """The platform called `name` (one object per process: the lab's status is read once)."""
    if name not in _KINDS:
        raise InputError(f"vm5k.platform {name!r}: unknown (one of {', '.join(NAMES)})")
    if name not in _made:
        _made[name] = _KINDS[name]()
    return _made[name]


def of(doc):
    """The platform of a document."""
    return get(doc["vm5k"]["platform"])


def detect(requested="auto"):
    """auto: a Grid'5000 frontend, else a running lab, else a clear error."""
    if requested != "auto":
        return get(requested)
    if G5k.here():
        return get("g5k")
    if get("lab").running():
        return get("lab")
    raise InputError("--platform auto: not on a Grid'5000 frontend and no lab is running "
                     "(start one with `vm5k-lab up`, or give --platform g5k --dry-run, or --platform static)")


def of_sites(sites):
    """The platform a topology's site names point to (vm5k XML has no platform)."""
    return "lab" if set(sites) == {Lab.site} else "g5k"


__all__ = ["Platform", "get", "of", "detect", "of_sites", "NAMES"]
