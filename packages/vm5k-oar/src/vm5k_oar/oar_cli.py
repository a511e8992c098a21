"""The OAR command line (oarsub/oarstat/oardel) as a backend: run locally (on a frontend,
or on the lab as its submit user) or over ssh to `<site>.grid5000.fr`.

Commands are argv lists; over ssh they become one remote command line where every word
is shlex-quoted, so no value from a user reaches a shell unquoted.
"""
import logging
import subprocess

from vm5k_doc.errors import PlatformError
from vm5k_doc.ids import join
from vm5k_doc.jobs import oar_argv

from . import oar_text
from .backend import Backend
from .timeutil import oar_date

log = logging.getLogger("vm5k.oar")
TIMEOUT = 300


class OarCli(Backend):
    """ssh_host: a callable site -> ssh destination, or None to run locally.
    wrap: a callable argv -> argv (e.g. run as the lab's submit user), applied locally."""
    name = "oar-cli"

    def __init__(self, tz="UTC", ssh_host=None, wrap=None, poll_seconds=5, margin=120, runner=None,
                 server_tz=False):
        self.tz = tz
        self.server_tz = tz if server_tz is False else server_tz  # None: this machine's time
        self.ssh_host = ssh_host
        self.wrap = wrap
        self.poll_seconds = poll_seconds
        self.margin = margin
        self.runner = runner or subprocess.run   # injectable for tests

    def run(self, site, argv, check=True):
        """(returncode, stdout, stderr) of argv on the site's frontend."""
        destination = self.ssh_host(site) if self.ssh_host else None
        argv, env = oar_argv({"tz": self.tz, "ssh_host": self.ssh_host, "wrap": self.wrap}, site, argv)
        log.debug("run: %s", join(argv))
        try:
            done = self.runner(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env,
                               stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise PlatformError(f"{argv[0]}: command not found") from None
        except subprocess.TimeoutExpired:
            raise PlatformError(f"{site}: {argv[0]} timed out after {TIMEOUT} s") from None
        if check and done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            raise PlatformError(f"{site}: {join(argv[-1:] if destination else argv[:2])} failed "
                                f"({done.returncode}): {lines[-1] if lines else 'no output'}")
        return done.returncode, done.stdout, done.stderr

    def json(self, site, argv, what):
        _, stdout, _ = self.run(site, argv)
        try:
            return oar_text.loads(stdout, what)
        except ValueError as exc:
            raise PlatformError(f"{site}: {what}: {exc}") from None

    def node(self, site, fqdn):
        return oar_text.parse_oarnodes(self.json(site, ["oarnodes", "-J", fqdn], "oarnodes"), fqdn)

    def planning(self, site, start, end):
        window = f"{oar_date(start, self.tz)}, {oar_date(end, self.tz)}"
        data = self.json(site, ["oarstat", "--gantt", window, "-J"], "oarstat --gantt")
        return oar_text.parse_gantt(data, site, start, end)

    def submit(self, spec):
        code, stdout, stderr = self.run(spec.site, spec.oarsub_argv(self.tz), check=False)
        return oar_text.parse_oarsub(stdout, stderr, code)

    def job(self, site, job_id):
        data = self.json(site, ["oarstat", "-fJ", "-j", str(job_id)], "oarstat -fJ")
        if str(job_id) not in data:
            raise PlatformError(f"{site}: job {job_id} unknown to OAR")
        job = oar_text.parse_oarstat_job(data, site, job_id)
        if job.running:
            _, stdout, _ = self.run(site, ["oarstat", "-p", "-j", str(job_id)])
            oar_text.add_resources(job, oar_text.parse_properties(stdout))
        return job

    def jobs_named(self, site, name):
        code, stdout, _ = self.run(site, ["oarstat", "-u", "-J"], check=False)
        if code != 0 or "{" not in stdout:
            return []
        jobs = oar_text.parse_oarstat_jobs(oar_text.loads(stdout, "oarstat -u -J"), site)
        return sorted((j for j in jobs if j.name == name and not j.ended), key=lambda j: j.id)

    def delete(self, site, job_id):
        code, stdout, stderr = self.run(site, ["oardel", str(job_id)], check=False)
        if code != 0 and "REGISTERED" not in stdout:
            log.warning("%s: oardel %s: %s", site, job_id, (stderr or stdout).strip().splitlines()[-1:])
        return code == 0
