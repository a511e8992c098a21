"""Is the reservation still ours: `oarstat -s -j ID` as OAR 2.5.9 prints it."""
import pathlib
import subprocess

import pytest
from vm5k_doc import jobs, platforms
from vm5k_doc.errors import PlatformError

RECORDED = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "oar" / "oarstat-s-running.txt"


class Oar:
    """Answers `oarstat -s -j ID` with the recorded line, the state replaced."""

    def __init__(self, state="Running"):
        self.state, self.calls = state, []

    def __call__(self, argv, **_):
        self.calls.append(argv)
        job = argv[-1].split()[-1]   # ssh ... -- FRONTEND "TZ=.. oarstat -s -j ID"
        line = RECORDED.read_text().replace("6", job, 1).replace("Running", self.state)
        return subprocess.CompletedProcess(argv, 0, line, "")


DOC = {"reservation": {"jobs": [{"site": "lyon", "id": 6}, {"site": "nancy", "id": None}]}}


def test_running_jobs_pass_and_oar_is_asked_on_the_site_s_frontend():
    oar = Oar()
    jobs.check_running(DOC, platforms.get("g5k"), run=oar)
    assert len(oar.calls) == 1 and "lyon.grid5000.fr" in oar.calls[0]
    assert oar.calls[0][-1].endswith("oarstat -s -j 6")


@pytest.mark.parametrize("state", ["Terminated", "Error", "Waiting", "Finishing"])
def test_a_job_that_is_not_running_stops_the_stage(state):
    with pytest.raises(PlatformError, match=f"job lyon:6 is {state}: its hosts are no longer yours"):
        jobs.check_running(DOC, platforms.get("g5k"), run=Oar(state))


def test_static_hosts_have_no_job_to_ask():
    jobs.check_running(DOC, platforms.get("static"), run=None)
