"""The Grid'5000 REST API backend on the recorded g5k-api fixtures and the documented shapes."""
import json

from vm5k_oar.g5k_api import G5kApi, job_from_api, planning_from_status
from vm5k_oar.planning import Wanted, find_slot
from vm5k_oar.specs import JobSpec


def test_oarapi_job_details(fixtures):
    job = job_from_api(json.loads((fixtures / "oarapi-grenoble-job_1234.json").read_text()), "grenoble")
    assert (job.id, job.state, job.walltime, job.start) == (1234, "Running", 3600, 1663061373)
    assert job.hosts == ["dahu-32.grenoble.grid5000.fr"]
    assert job.cores["dahu-32.grenoble.grid5000.fr"] == 32


def test_g5k_job_item_documented_shape():
    item = {"uid": 42, "state": "running", "walltime": 7200, "started_at": 1700000000, "scheduled_at": 1699999990,
            "name": "vm5k", "user_uid": "me", "assigned_nodes": ["nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"],
            "resources_by_type": {"cores": ["nova-1.lyon.grid5000.fr/0", "nova-1.lyon.grid5000.fr/1"],
                                  "subnets": ["10.140.0.0/22"], "vlans": ["4"]}}
    job = job_from_api(item, "lyon")
    assert (job.state, job.start, job.vlan, job.subnets) == ("Running", 1700000000, 4, ["10.140.0.0/22"])
    assert job.cores == {"nova-1.lyon.grid5000.fr": 2}


class Recorder:
    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, method, path, body=None):
        self.calls.append((method, path, body))
        return self.answers[(method, path.split("?")[0])]


def test_submit_delete_and_status(fixtures):
    submitted = json.loads((fixtures / "oarapi-submitted-job.json").read_text())
    deleted = json.loads((fixtures / "oarapi-deleted-job.json").read_text())
    now = 1700000000
    status = {"uid": now, "nodes": {
        "nova-1.lyon.grid5000.fr": {"hard": "alive", "soft": "busy", "reservations": [
            {"uid": 1, "queue": "default", "started_at": now - 60, "walltime": 3600}]},
        "nova-2.lyon.grid5000.fr": {"hard": "alive", "soft": "free_busy", "reservations": [
            {"uid": 2, "queue": "besteffort", "started_at": now - 60, "walltime": 36000}]},
        "nova-3.lyon.grid5000.fr": {"hard": "dead", "soft": "unknown", "reservations": []}},
        "vlans": {"4": {"hard": "alive", "soft": "free", "type": "kavlan", "reservations": []}},
        "subnets": {"10.140.0.0/22": {"hard": "alive", "soft": "free", "reservations": []}}}
    fetch = Recorder({("GET", "/sites/lyon/status"): (200, status),
                      ("POST", "/sites/lyon/jobs"): (201, submitted),
                      ("DELETE", "/sites/lyon/jobs/961722"): (202, deleted)})
    api = G5kApi(fetch=fetch)
    planning = api.planning("lyon", now, now + 86400)
    slot, _ = find_slot(planning, Wanted({"nova": ("cluster", 2)}, slash_22={"lyon": 1}), 3600)
    assert slot.start == now - 60 + 3600 + 120  # nova-1 after its job (+ margin); besteffort ignored; dead never
    assert slot.hosts == {"lyon": {"nova": ["nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"]}}
    answer = api.submit(JobSpec("lyon", "slash_22=1+{cluster='nova'}/nodes=2", 3600, ["deploy"], reservation=slot.start))
    assert answer.ok and answer.job_id == 961722
    body = fetch.calls[-1][2]
    assert body["resources"] == "slash_22=1+{cluster='nova'}/nodes=2,walltime=1:00:00"
    assert body["types"] == ["deploy"] and body["command"] == "sleep 31536000" and body["reservation"]
    assert api.delete("lyon", 961722)


def test_refused_reservation_could_run_at():
    fetch = Recorder({("POST", "/sites/lyon/jobs"): (400, {"code": 400, "message": "Reservation not valid --> KO (This reservation could run at 2026-11-25 10:00:00)"})})
    answer = G5kApi(fetch=fetch).submit(JobSpec("lyon", "nodes=1", 60, reservation=1))
    assert not answer.ok and answer.could_run_at == "2026-11-25 10:00:00"


def test_status_planning_shape():
    p = planning_from_status({"nodes": {}, "vlans": {"16": {"hard": "alive", "type": "kavlan-global", "reservations": []}}}, "rennes", 0, 10)
    assert [(b.name, b.kind) for b in p.blocks] == [("16", "kavlan-global")]
