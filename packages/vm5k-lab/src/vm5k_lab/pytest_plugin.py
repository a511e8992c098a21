"""pytest plugin (entry point ``pytest11: vm5k_lab``): the session fixture ``lab``.

    @pytest.mark.lab
    def test_something(lab):          # lab = vm5k-lab status dict
        host = lab["hosts"][0]["address"]

For the whole session the fixture holds the machine-wide lab lock (/run/vm5k-lab.lock: other
developers run lab tests on the same machine), brings the lab up if it is down, and at the
end tears it down if, and only if, it brought it up, even when tests failed. Children of
the session see VM5K_LAB_LOCKED=1 so that `vm5k-lab up/down` run from a test do not wait
for the lock the session holds. The dict is refreshed in place before every test that uses
it: a test that restarts a daemon (dnsmasq, sshd) changes pids the next test relies on.

Options: ``--lab-hosts N`` (default 3), ``--lab-keep`` (never tear down).
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("vm5k-lab")
    g.addoption("--lab-hosts", type=int, default=3, help="hosts of the lab the `lab` fixture brings up")
    g.addoption("--lab-keep", action="store_true", help="leave a lab the session brought up running")


@pytest.fixture(scope="session")
def lab(request):
    from . import lab as labmod
    from .state import LabError, lab_lock

    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    n_hosts = request.config.getoption("--lab-hosts")
    keep = request.config.getoption("--lab-keep")
    with lab_lock(wait_message="vm5k-lab fixture: waiting for the lab lock (/run/vm5k-lab.lock)"):
        old = os.environ.get("VM5K_LAB_LOCKED")
        os.environ["VM5K_LAB_LOCKED"] = "1"
        brought_up = False
        try:
            st = labmod.status()
            if st["state"] != "up" or len(st["hosts"]) < n_hosts or st.get("twin") or \
                    any(h["state"] != "up" for h in st["hosts"]):
                brought_up = st["state"] != "up"
                try:
                    st = labmod.up(n_hosts if brought_up else max(n_hosts, len(st["hosts"])))
                except LabError as e:
                    pytest.fail(f"vm5k-lab up failed: {e}", pytrace=False)
            request.config._vm5k_lab_brought_up = brought_up
            yield st
        finally:
            try:
                if brought_up and not keep:
                    labmod.down()
            finally:
                if old is None:
                    os.environ.pop("VM5K_LAB_LOCKED", None)
                else:
                    os.environ["VM5K_LAB_LOCKED"] = old


@pytest.fixture(autouse=True)
def _lab_status_fresh(request):
    """Refresh the session's status dict in place before each test that uses `lab`."""
    if "lab" in request.fixturenames:
        from . import lab as labmod

        status = request.getfixturevalue("lab")
        fresh = labmod.status()
        if fresh.get("state") == "up":
            status.clear()
            status.update(fresh)
    yield
