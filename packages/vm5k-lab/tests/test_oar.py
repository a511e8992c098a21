"""The lab's OAR server against issue 4's acceptance items (real oarsub/oarstat/oardel).

Needs root and Debian's OAR packages; brings OAR up with fake host records (the netns
hosts need not exist: OAR reaches every node through the local oar-node sshd) and always
takes it down. Runs hold the machine-wide lab lock (/run/vm5k-lab.lock), so they serialise
with every other lab session.

Real outputs are recorded under the repo's tests/fixtures/oar/ (NAME.txt = stdout, NAME.meta.json =
argv, exit status, stderr, time zone) when missing or when VM5K_RECORD_FIXTURES=1.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

try:
    from vm5k_lab import oar
except ImportError:  # package not installed in the venv yet
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from vm5k_lab import oar

pytestmark = pytest.mark.lab

# one copy for the repo: vm5k-oar's parser tests read the same recordings
FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "oar"
HOSTS = [{"id": f"host{i}.lab", "address": f"10.77.0.{10 + i}", "cores": 2, "mem_mb": 4096}
         for i in (1, 2, 3)]
SUBNETS = [f"10.77.{4 * i}.0/22" for i in range(1, 9)]
VLANS = [1, 2, 3, 4, 5, 6]
N_RESOURCES = 3 * 2 + len(VLANS) + len(SUBNETS)
FMT = "%Y-%m-%d %H:%M:%S"


def _record(name: str, argv: list[str], p: subprocess.CompletedProcess) -> None:
    out = FIXTURES / f"{name}.txt"
    if out.exists() and os.environ.get("VM5K_RECORD_FIXTURES") != "1":
        return
    FIXTURES.mkdir(parents=True, exist_ok=True)
    out.write_text(p.stdout)
    meta = {"argv": argv, "exit_status": p.returncode, "stderr": p.stderr, "tz": oar.TZ,
            "user": oar.USER, "oar_version": "2.5.9 (Debian 12)"}
    (FIXTURES / f"{name}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def oarcmd(argv: list[str], record: str | None = None, timeout: float = 60,
           user: str = oar.USER) -> subprocess.CompletedProcess:
    p = subprocess.run(oar.command(argv, user=user), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if record:
        _record(record, argv, p)
    return p


def job_id(p: subprocess.CompletedProcess) -> int:
    m = re.search(r"^OAR_JOB_ID=(\d+)\s*$", p.stdout, re.M)
    assert m, f"no job id: rc={p.returncode} out={p.stdout!r} err={p.stderr!r}"
    return int(m.group(1))


def state(job: int) -> str:
    p = oarcmd(["oarstat", "-s", "-j", str(job)])
    m = re.match(rf"^{job}: (\w+)", p.stdout)
    return m.group(1) if m else ""


def wait_state(job: int, wanted: tuple[str, ...], timeout: float) -> str:
    end = time.monotonic() + timeout
    while True:
        s = state(job)
        if s in wanted or time.monotonic() > end:
            return s
        time.sleep(0.5)


def job_json(job: int, record: str | None = None) -> dict:
    p = oarcmd(["oarstat", "-fJ", "-j", str(job)], record=record)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)[str(job)]


def delete(job: int, record: str | None = None) -> subprocess.CompletedProcess:
    p = oarcmd(["oardel", str(job)], record=record)
    assert p.returncode == 0, p.stdout + p.stderr
    assert wait_state(job, ("Error", "Terminated"), 20) in ("Error", "Terminated")
    return p


def paris(dt: datetime) -> str:
    return dt.astimezone(ZoneInfo(oar.TZ)).strftime(FMT)


def _lab_lock():
    """The machine-wide lab lock (re-entrant; a no-op inside a session that holds it)."""
    from vm5k_lab.state import lab_lock
    return lab_lock(wait_message="test_oar: waiting for the lab lock (/run/vm5k-lab.lock)")


def _restore_lab_oar() -> bool:
    """Give a running lab its own OAR resources back (what `vm5k-lab up` asks for)."""
    try:
        from vm5k_lab import lab as labmod
        from vm5k_lab import plan
        from vm5k_lab.state import lab_config
        cfg = lab_config()
        if not cfg:
            return False
        oar.up(labmod.host_records(cfg), plan.subnets(), list(plan.VLAN_IDS))
        return True
    except Exception:  # noqa: BLE001 - best effort; the lab re-syncs on its next `up`
        return False


@pytest.fixture(scope="module")
def oar_lab():
    """OAR up with this module's fake hosts; down at the end, even on failure. When OAR
    was already running (a lab session), it is left running with the lab's resources."""
    if os.geteuid() != 0 or not shutil.which("oar-server", path="/usr/sbin:/usr/bin"):
        pytest.skip("needs root and Debian's OAR packages (make setup)")
    with _lab_lock():
        was_running = oar.status()["state"] == "running"
        try:
            t0 = time.monotonic()
            st = oar.up(HOSTS, SUBNETS, VLANS)
            st["up_seconds"] = time.monotonic() - t0
            yield st
        finally:
            if not (was_running and _restore_lab_oar()):
                oar.down()


@pytest.fixture(scope="module")
def reservation(oar_lab):
    """An advance reservation two minutes ahead, submitted early; checked at the end."""
    start = (datetime.now().astimezone() + timedelta(seconds=120)).replace(microsecond=0)
    argv = ["oarsub", "-l", "nodes=1,walltime=0:5:0", "-r", paris(start), "-n", "resa",
            "sleep 300"]
    t0 = time.monotonic()
    p = oarcmd(argv, record="oarsub-reservation", timeout=90)
    resa = {"start": start, "proc": p, "validation_seconds": time.monotonic() - t0}
    yield resa
    # not left to its walltime: its end (OAR's server epilogue) would clean a lab host
    # under a later test's VMs
    m = re.search(r"^OAR_JOB_ID=(\d+)\s*$", p.stdout, re.M)
    if m:
        oarcmd(["oardel", m.group(1)])
        wait_state(int(m.group(1)), ("Error", "Terminated"), 20)


def test_up_gives_a_running_server_with_every_resource(oar_lab):
    assert oar_lab["state"] == "running"
    assert oar_lab["user"] == oar.USER
    assert oar_lab["resources"] == oar_lab["alive"] == N_RESOURCES
    assert oar_lab["hosts"] == [h["id"] for h in HOSTS]
    assert oar_lab["subnets"] == SUBNETS and oar_lab["vlans"] == VLANS
    for k in ("server_pid", "node_sshd_pid", "postgres_pid", "notifier_pid"):
        assert isinstance(oar_lab[k], int)
    assert oar_lab["up_seconds"] < 60


def test_oarnodes_shows_every_host_alive_with_grid5000_properties(oar_lab):
    p = oarcmd(["oarnodes", "-s", "-J"], record="oarnodes-s-J")
    nodes = json.loads(p.stdout)
    for h in HOSTS:
        assert sorted(nodes[h["id"]].values()) == ["Alive"] * h["cores"]
    p = oarcmd(["oarnodes", "-J", "host2.lab"], record="oarnodes-J-host")
    res = list(json.loads(p.stdout).values())
    assert len(res) == 2
    r = res[0]
    assert r["host"] == r["network_address"] == "host2.lab"
    assert (r["cluster"], r["virtual"], r["deploy"], r["ip"]) == ("lab", "ivt", "YES", "10.77.0.12")
    assert {x["cpuset"] for x in res} == {"0", "1"} and {x["cpu"] for x in res} == {2}
    assert {x["core"] for x in res} == {3, 4} and r["memnode"] == 4096
    p = oarcmd(["oarnodes", "-J"], record="oarnodes-J")
    allres = json.loads(p.stdout).values()
    subnets = sorted(x["subnet_address"] for x in allres if x["type"] == "subnet")
    assert subnets == sorted(s.split("/")[0] for s in SUBNETS)
    vl = {x["vlan"]: x["type"] for x in allres if x["vlan"]}
    assert vl == {"1": "kavlan-local", "2": "kavlan-local", "3": "kavlan-local",
                  "4": "kavlan", "5": "kavlan", "6": "kavlan"}


def test_root_and_oar_may_not_submit(oar_lab):
    for user in ("root", "oar"):
        argv = ["oarsub", "-l", "nodes=1,walltime=0:1:0", "sleep 1"]
        p = subprocess.run(["runuser", "-u", user, "--", "env", "-C", "/tmp", *argv]
                           if user != "root" else argv,
                           capture_output=True, text=True, timeout=60, cwd="/tmp")
        assert p.returncode != 0
        assert "not allowed to submit" in p.stdout + p.stderr
        assert "OAR_JOB_ID=" not in p.stdout or "OAR_JOB_ID=-" in p.stdout


def test_advance_reservation_is_accepted(reservation):
    p = reservation["proc"]
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Reservation valid --> OK" in p.stdout
    job = job_id(p)
    reservation["job"] = job
    j = job_json(job, record="oarstat-fJ-reservation-waiting")
    assert j["reservation"] == "Scheduled" and j["state"] == "Waiting"
    assert j["startTime"] == int(reservation["start"].timestamp())
    oarcmd(["oarstat", "-f", "-j", str(job)], record="oarstat-f-reservation-waiting")


def test_nodes_job_runs_then_oardel(oar_lab, reservation):
    argv = ["oarsub", "-l", "nodes=1,walltime=0:5:0", "sleep 300"]
    p = oarcmd(argv, record="oarsub-nodes")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[ADMISSION RULE] Modify resource description with type constraints" in p.stdout
    job = job_id(p)
    assert wait_state(job, ("Running",), 30) == "Running"
    j = job_json(job, record="oarstat-fJ-running")
    assert j["owner"] == oar.USER and j["walltime"] == 300
    assert len(j["assigned_network_address"]) == 1
    assert j["assigned_network_address"][0] in [h["id"] for h in HOSTS]
    assert j["launchingDirectory"] == f"/home/{oar.USER}"
    assert oarcmd(["oarstat", "-s", "-j", str(job)], record="oarstat-s-running").stdout == \
        f"{job}: Running\n"
    t = oarcmd(["oarstat", "-f", "-j", str(job)], record="oarstat-f-running").stdout
    assert re.search(r"^\s*state = Running\s*$", t, re.M)
    assert re.search(r"^\s*walltime = 0:5:0\s*$", t, re.M)
    assert re.search(r"^\s*startTime = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$", t, re.M)
    oarcmd(["oarstat", "-u"], record="oarstat-u")
    hosts = subprocess.run(
        f"{' '.join(oar.command(['oarstat', '-p', '-j', str(job)]))} | oarprint host -f -",
        shell=True, capture_output=True, text=True).stdout.split()
    assert hosts == j["assigned_network_address"]
    now = datetime.now().astimezone()
    gantt = ["oarstat", "--gantt",
             f"{paris(now - timedelta(hours=1))}, {paris(now + timedelta(hours=1))}", "-J"]
    g = json.loads(oarcmd(gantt, record="oarstat-gantt-J").stdout)
    assert str(job) in g["jobs"] and str(reservation["job"]) in g["jobs"]
    assert g["jobs"][str(job)]["state"] == "Running"
    assert len(g["resources"]) == N_RESOURCES
    d = delete(job, record="oardel")
    assert f"Deleting the job = {job} ...REGISTERED." in d.stdout
    j = job_json(job, record="oarstat-fJ-after-oardel")
    assert j["state"] in ("Error", "Terminated")
    p = oarcmd(["oardel", "999999"], record="oardel-unknown")
    assert p.returncode != 0


def test_grid5000_request_deploy_subnet_kavlan(oar_lab, reservation):
    argv = ["oarsub", "-t", "deploy", "-t", "origin=execo", "-t", "allow_classic_ssh",
            "-t", "monitor=prom_.*", "-n", "VM5K",
            "-l", "slash_22=1+{type='kavlan'}/vlan=1+{cluster='lab'}/nodes=1,walltime=0:5:0",
            "sleep 31536000"]
    p = oarcmd(argv, record="oarsub-deploy-subnet-kavlan")
    assert p.returncode == 0, p.stdout + p.stderr
    job = job_id(p)
    assert wait_state(job, ("Running",), 30) == "Running"
    j = job_json(job, record="oarstat-fJ-deploy-subnet-kavlan")
    assert set(j["types"]) == {"deploy", "origin=execo", "allow_classic_ssh", "monitor=prom_.*"}
    assert j["name"] == "VM5K" and len(j["assigned_resources"]) == 4
    assert "{type = 'subnet'}/slash_22=1" in j["wanted_resources"]
    shell = " ".join(oar.command(["oarstat", "-p", "-j", str(job)]))
    vlan = subprocess.run(f"{shell} | oarprint vlan -f -", shell=True, capture_output=True,
                          text=True).stdout.split()
    assert len(vlan) == 1 and 4 <= int(vlan[0]) <= 9
    sub = subprocess.run(f"{shell} | oarprint subnet_address -f -", shell=True,
                         capture_output=True, text=True).stdout.split()
    assert len(sub) == 1 and f"{sub[0]}/22" in SUBNETS
    oarcmd(["oarstat", "-p", "-j", str(job)], record="oarstat-p-deploy-subnet-kavlan")
    delete(job)


def test_kavlan_local_and_bigger_subnets(oar_lab):
    argv = ["oarsub", "-t", "deploy", "-l",
            "{type='kavlan-local'}/vlan=1+slash_21=1,walltime=0:5:0", "sleep 300"]
    p = oarcmd(argv, record="oarsub-kavlan-local-slash21")
    assert p.returncode == 0, p.stdout + p.stderr
    job = job_id(p)
    assert wait_state(job, ("Running",), 30) == "Running"
    shell = " ".join(oar.command(["oarstat", "-p", "-j", str(job)]))
    vlan = subprocess.run(f"{shell} | oarprint vlan -f -", shell=True, capture_output=True,
                          text=True).stdout.split()
    assert vlan == ["1"]
    sub = subprocess.run(f"{shell} | oarprint subnet_address -f -", shell=True,
                         capture_output=True, text=True).stdout.split()
    # slash_21=1: every listed /22 of one /21 (complete only if all its /22 are listed)
    block = ipaddress.ip_network(f"{sub[0]}/22").supernet(new_prefix=21)
    listed = sorted(s.split("/")[0] for s in SUBNETS if ipaddress.ip_network(s).subnet_of(block))
    assert sorted(sub) == listed
    delete(job)


def test_refusals(oar_lab):
    p = oarcmd(["oarsub", "-t", "bogus", "-l", "nodes=1,walltime=0:1:0", "sleep 1"],
               record="oarsub-unknown-type")
    assert p.returncode != 0 and "unknown job type: bogus" in p.stdout + p.stderr
    p = oarcmd(["oarsub", "-l", "nodes=10,walltime=0:1:0", "sleep 1"],
               record="oarsub-not-enough")
    assert p.returncode != 0
    assert "not enough resources" in p.stdout + p.stderr
    p = oarcmd(["oarsub", "-l", "nodes=1,walltime=0:1:0", "-r", "now", "sleep 1"],
               record="oarsub-reservation-bad-date")
    assert p.returncode != 0


def test_second_up_is_a_no_op(oar_lab):
    t0 = time.monotonic()
    st = oar.up(HOSTS, SUBNETS, VLANS)
    took = time.monotonic() - t0
    assert not any(st["changes"].values()) and not st["created_db"]
    for k in ("server_pid", "node_sshd_pid", "postgres_pid", "notifier_pid"):
        assert st[k] == oar_lab[k]
    assert took < 5


def test_advance_reservation_starts_on_time(reservation):
    job = reservation["job"]
    start = reservation["start"].timestamp()
    while time.time() < start + 12 and state(job) != "Running":
        time.sleep(0.5)
    seen = time.time()
    assert state(job) == "Running", f"not running {seen - start:.0f} s after its date"
    j = job_json(job, record="oarstat-fJ-reservation-running")
    assert j["startTime"] - start <= 10
    assert seen - start <= 11


def test_down_then_fast_restart(oar_lab):
    oar.down()
    st = oar.status()
    assert st["state"] == "down" and not st["server_pid"] and not st["postgres_pid"]
    t0 = time.monotonic()
    st = oar.up(HOSTS, SUBNETS, VLANS)
    took = time.monotonic() - t0
    assert st["state"] == "running" and st["alive"] == N_RESOURCES
    assert took < 15
