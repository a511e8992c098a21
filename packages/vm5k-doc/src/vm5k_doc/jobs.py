"""Is the reservation still ours? Before a stage acts on hosts, every OAR job of the
document must still be running: when a job ends (walltime, oardel) Grid'5000 takes its
hosts back, and whatever a stage did on them would be lost or land on someone else's.
"""
import os
import subprocess

from . import ssh
from .errors import PlatformError
from .ids import join

TIMEOUT = 60


def oar_argv(settings, site, argv):
    """(argv, env) to run an OAR client command for `site`, as the platform says
    (Platform.oar_settings: over ssh to the site's frontend, or here, wrapped)."""
    destination = settings["ssh_host"](site) if settings.get("ssh_host") else None
    if destination:
        return ssh.argv(destination, f"TZ={settings['tz']} {join(argv)}"), None
    wrap = settings.get("wrap")
    return (wrap(argv) if wrap else list(argv)), dict(os.environ, TZ=settings["tz"])


def job_state(platform, site, job_id, run=subprocess.run):
    """OAR's state of one job (`oarstat -s -j ID` prints 'ID: State')."""
    argv, env = oar_argv(platform.oar_settings(), site, ["oarstat", "-s", "-j", str(int(job_id))])
    try:
        done = run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlatformError(f"job {site}:{job_id}: cannot ask OAR its state ({exc})") from None
    for line in done.stdout.splitlines():
        head, _, state = line.partition(":")
        if head.strip() == str(job_id) and state.strip():
            return state.strip()
    lines = (done.stderr or done.stdout).strip().splitlines()
    raise PlatformError(f"job {site}:{job_id}: OAR gave no state ({lines[-1] if lines else f'exit {done.returncode}'})")


def check_running(doc, platform, run=subprocess.run):
    """PlatformError (exit 5) naming the first job of the document that is not Running."""
    if not platform.scheduler:
        return
    for job in (doc.get("reservation") or {}).get("jobs") or []:
        if job.get("id") is None:
            continue
        state = job_state(platform, job["site"], job["id"], run)
        if state != "Running":
            raise PlatformError(f"job {job['site']}:{job['id']} is {state}: its hosts are no longer yours "
                                f"(reserve again with vm5k-oar)")
