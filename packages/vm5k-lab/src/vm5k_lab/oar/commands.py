"""Running OAR commands: the clients as the lab's submitter, the server's tools as root.

``command(argv)`` wraps an OAR client command line so that it runs as ``USER`` (root and
oar may not submit), with ``TZ`` set to Europe/Paris (as execo does: ``oarsub -r`` dates and
``oarstat`` text times are in that zone) and the user's home as working directory (the
jobs' launching directory)::

    subprocess.run(command(["oarsub", "-l", "nodes=1,walltime=0:5:0", "sleep 60"]), ...)
    # -> ["runuser", "-u", "vm5k", "--", "env", "-C", "/home/vm5k", "TZ=Europe/Paris",
    #     "HOME=/home/vm5k", "USER=vm5k", "LOGNAME=vm5k", "PWD=/home/vm5k", "oarsub", ...]
"""

from __future__ import annotations

import subprocess

from ..state import LabError
from ..state import run as lab_run

USER = "vm5k"                      # the unprivileged submitter
TZ = "Europe/Paris"                # the time zone OAR commands run in (as execo does)


class OarError(LabError):
    """The OAR part of the lab failed (one line)."""


def command(argv: list[str], user: str = USER, tz: str = TZ) -> list[str]:
    """argv wrapped to run as the lab's submitter, in TZ, from the user's home (oarsub takes
    the launching directory from $PWD, so it is set too)."""
    home = f"/home/{user}"
    return ["runuser", "-u", user, "--", "env", "-C", home, f"TZ={tz}", f"HOME={home}",
            f"USER={user}", f"LOGNAME={user}", f"PWD={home}", *[str(a) for a in argv]]


def run(argv, *, check=True, input=None, timeout=120, env=None) -> subprocess.CompletedProcess:
    """state.run, with failures as OarError (callers tell OAR failures from the rest)."""
    try:
        return lab_run(argv, check=check, input=input, timeout=timeout, env=env)
    except OarError:
        raise
    except LabError as exc:
        raise OarError(str(exc)) from None
