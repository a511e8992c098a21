"""The stage end to end with a fake scheduler; bad documents; --dry-run; --hosts."""
import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from vm5k_doc.reference import snapshot_path
from vm5k_oar import cli, stage
from vm5k_oar.backend import Backend
from vm5k_oar.oar_text import JobInfo, Submitted
from vm5k_oar.planning import Block, Busy, PlanHost, Planning
from vm5k_oar.timeutil import oar_date

VM5K_OAR = [sys.executable, "-m", "vm5k_oar.cli"]


class FakeOar(Backend):
    """Three lab hosts; host1 busy for `busy_for` s; the first submission may be refused."""
    name = "fake"
    poll_seconds = 0
    margin = 5

    def __init__(self, busy_for=0, could_run_later=0, end_while_waiting=False, interrupt=False):
        self.now = int(time.time())
        self.busy_for, self.could_run_later = busy_for, could_run_later
        self.end_while_waiting, self.interrupt = end_while_waiting, interrupt
        self.submitted, self.deleted, self.polls = [], [], 0

    def planning(self, site, start, end):
        p = Planning(start=start, end=end)
        busy = [(self.now - 60, self.now + self.busy_for)] if self.busy_for else []
        p.hosts = [PlanHost("host1.lab", "lab", "lab", Busy.of(busy)),
                   PlanHost("host2.lab", "lab", "lab"), PlanHost("host3.lab", "lab", "lab")]
        p.blocks = [Block("lab", "10.77.4.0", "slash_22")]
        return p.sort()

    def submit(self, spec):
        self.submitted.append(spec)
        if self.could_run_later and len(self.submitted) == 1:
            return Submitted(job_id=None, could_run_at=oar_date(spec.reservation + self.could_run_later, self.tz),
                             reason="This reservation could run at ...")
        return Submitted(job_id=100 + len(self.submitted), ok=True)

    def job(self, site, job_id):
        self.polls += 1
        if self.interrupt:
            raise KeyboardInterrupt
        if self.end_while_waiting or (site, job_id) in self.deleted:  # oardel ends a job in Error
            return JobInfo(site, job_id, "Error", message="killed")
        if self.polls == 1:
            return JobInfo(site, job_id, "Waiting", start=self.now + 30)
        spec = self.submitted[-1] if self.submitted else None
        hosts = ["host3.lab", "host2.lab"] if spec is None or "nodes=2" in spec.resources else ["host2.lab"]
        return JobInfo(site, job_id, "Running", name="vm5k", start=self.now, walltime=1200, hosts=hosts,
                       subnets=["10.77.4.0/22"], cores={h: 2 for h in hosts})

    def jobs_named(self, site, name):
        return [JobInfo(site, 77, "Running", name=name)] if name == "mine" else []

    def delete(self, site, job_id):
        self.deleted.append((site, job_id))
        return True


def run(monkeypatch, doc, backend, *args):
    monkeypatch.setattr(stage, "make_backend", lambda *a, **k: backend)
    result = CliRunner().invoke(cli.main, list(args), input=json.dumps(doc))
    out = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, out, result.stderr


def test_reserve_wait_fill_place_release(monkeypatch, topo_doc, lab_reference):
    doc = topo_doc(reference=lab_reference())
    fake = FakeOar()
    code, out, err = run(monkeypatch, doc, fake, "-w", "0:20:00")
    assert code == 0, err
    assert fake.submitted[0].resource_line() == "slash_22=1+{cluster='lab'}/nodes=2,walltime=0:20:00"
    assert fake.submitted[0].types == []  # no -t deploy on the lab
    assert fake.submitted[0].reservation is None  # free now, one site: no -r, starts at once
    job = out["reservation"]["jobs"][0]
    assert (job["site"], job["id"], job["state"], job["backend"]) == ("lab", 101, "Running", "fake")
    assert [h["id"] for h in out["hosts"]] == ["host2.lab", "host3.lab"]
    assert out["hosts"][0] == {"id": "host2.lab", "site": "lab", "cluster": "lab", "cores": 2, "threads": 2,
                               "mem_mb": 4096, "address": "10.77.0.12", "state": "reserved", "job": 101}
    assert out["reservation"]["subnets"] == ["10.77.4.0/22"]
    assert [(v["host"], v["state"]) for v in out["vms"]] == [("host2.lab", "placed"), ("host3.lab", "placed")] * 2
    assert out["vm5k"]["stages"] == ["topo", "oar"]
    # default: the summary only; the job's states while waiting under -v (and on the live line)
    assert "job lab:101 running after" in err and "Waiting" not in err and len(err.splitlines()) == 2, err
    _, _, detail = run(monkeypatch, doc, FakeOar(), "-w", "0:20:00", "-v")
    assert "job lab:101 Waiting, starts in" in detail and "lab:101 Running" in detail, detail

    rerun = FakeOar()
    code, again, _ = run(monkeypatch, out, rerun)
    assert code == 0 and rerun.submitted == [] and again["hosts"] == out["hosts"] and again["vms"] == out["vms"]

    release = FakeOar()
    code, released, _ = run(monkeypatch, out, release, "--release")
    assert code == 0 and release.deleted == [("lab", 101)]
    assert released["reservation"]["jobs"][0]["state"] == "released"
    assert {h["state"] for h in released["hosts"]} == {"released"}


def test_busy_host_and_could_run_at(monkeypatch, topo_doc, lab_reference):
    fake = FakeOar(busy_for=600, could_run_later=120)
    code, out, err = run(monkeypatch, topo_doc(reference=lab_reference(), wanted={"lab": 3}), fake)
    assert code == 0, err
    first, second = fake.submitted
    assert first.reservation >= fake.now + 600 + 5      # after host1's job
    assert second.reservation == first.reservation + 120  # OAR's "could run at"
    assert "could run at" in err


def test_no_slot_in_window_exit_4_with_best_slot(monkeypatch, topo_doc, lab_reference):
    fake = FakeOar(busy_for=7200)
    code, out, err = run(monkeypatch, topo_doc(reference=lab_reference(), wanted={"lab": 3}), fake, "--window", "0:30:00")
    assert code == 4 and "no slot" in err and fake.submitted == []
    assert out["reservation"]["slot"]["hosts"] == {"lab": {"lab": 2}}


def test_job_ends_while_waiting_exit_5(monkeypatch, topo_doc, lab_reference):
    code, out, err = run(monkeypatch, topo_doc(reference=lab_reference()), FakeOar(end_while_waiting=True))
    assert code == 5 and "is Error before it ran" in err
    assert out["reservation"]["jobs"][0]["id"] == 101  # granted id kept: it can be released


def test_interrupt_keeps_job_id_130(monkeypatch, topo_doc, lab_reference):
    code, out, _ = run(monkeypatch, topo_doc(reference=lab_reference()), FakeOar(interrupt=True))
    assert code == 130 and out["reservation"]["jobs"][0]["id"] == 101


def test_reuse_by_id_and_name(monkeypatch, topo_doc, lab_reference):
    fake = FakeOar()
    code, out, _ = run(monkeypatch, topo_doc(reference=lab_reference()), fake, "-j", "lab:55")
    assert code == 0 and fake.submitted == [] and out["reservation"]["jobs"][0]["id"] == 55
    fake = FakeOar()
    code, out, _ = run(monkeypatch, topo_doc(reference=lab_reference()), fake, "--name", "mine")
    assert code == 0 and fake.submitted == [] and out["reservation"]["jobs"][0]["id"] == 77
    fake = FakeOar()
    code, out, _ = run(monkeypatch, topo_doc(reference=lab_reference()), fake, "--name", "other")
    assert code == 0 and fake.submitted[0].name == "other"


def test_dry_run_from_reference(tmp_path, topo_doc):
    doc = topo_doc(platform="g5k", reference=snapshot_path(), wanted={"nova": 2, "nancy": 1}, n_vm=6)
    done = subprocess.run(VM5K_OAR + ["--dry-run"], input=json.dumps(doc), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [(j["site"], j["id"], j["resources"]) for j in out["reservation"]["jobs"]] == [
        ("lyon", None, "slash_22=1+{cluster='nova'}/nodes=2,walltime=0:20:00"),
        ("nancy", None, "slash_22=1+nodes=1,walltime=0:20:00")]
    assert out["reservation"]["jobs"][0]["types"] == ["deploy"]
    assert len({j["start"] for j in out["reservation"]["jobs"]}) == 1
    assert [h["id"] for h in out["hosts"]][:2] == ["nova-1.lyon.grid5000.fr", "nova-4.lyon.grid5000.fr"]
    assert all(v["state"] == "placed" for v in out["vms"]) and out["vm5k"]["dry_run"]


def test_static_hosts(topo_doc):
    doc = topo_doc(platform="g5k", reference=snapshot_path() + "/lyon.json")
    done = subprocess.run(VM5K_OAR + ["--hosts", "nova-1,nova-4.lyon.grid5000.fr"], input=json.dumps(doc),
                          capture_output=True, text=True)
    out = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert out["vm5k"]["platform"] == "static" and out["reservation"]["jobs"] == []
    assert [h["id"] for h in out["hosts"]] == ["nova-1", "nova-4.lyon.grid5000.fr"]


@pytest.mark.parametrize("doc, args, words", [
    ("not json", [], "invalid JSON"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}}', [], "$.reservation.wanted"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}, "reservation": {"wanted": {"la b": 2}}}', [], "not a valid id"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}, "reservation": {"wanted": {"lab": -1}}}', [], "not a host count"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}, "reservation": {"wanted": {"lab": 1}}}', ["-w", "2h"], "walltime"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}}', ["--hosts", "a;reboot"], "not a valid id"),
    ('{"vm5k": {"version": 1, "platform": "lab", "stages": []}}', ["-j", "lab:x"], "job id"),
])
def test_bad_input_exit_2_one_line(doc, args, words):
    done = subprocess.run(VM5K_OAR + args, input=doc, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vm5k-oar: error:") and words in lines[0]
