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


def test_python_grid5000_client_authenticated_and_scoped_to_the_user(tmp_path, fixtures):
    """The real python-grid5000 client against a local HTTP server that answers like the
    API (recorded bodies): the credentials of ~/.python-grid5000.yaml go with each request,
    and job reuse by name only sees the user's own jobs."""
    import base64
    import http.server
    import threading

    from vm5k_doc import grid5000

    seen = []
    items = {"items": [{"uid": 7, "name": "vm5k", "user_uid": "alice", "state": "running"},
                       {"uid": 8, "name": "vm5k", "user_uid": "mallory", "state": "running"}]}
    submitted = json.loads((fixtures / "oarapi-submitted-job.json").read_text())

    class Api(http.server.BaseHTTPRequestHandler):
        def answer(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            seen.append((self.command, self.path, self.headers.get("Authorization")))
            self.answer(200, items)

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.command, self.path, json.loads(self.rfile.read(length))))
            self.answer(201, submitted)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = tmp_path / "python-grid5000.yaml"
        config.write_text(f"uri: http://127.0.0.1:{server.server_port}\nusername: alice\npassword: secret\n")
        fetch, login = grid5000.api_fetch(str(config))
        api = G5kApi(fetch=fetch, user=login)
        assert [job.id for job in api.jobs_named("lyon", "vm5k")] == [7]       # not mallory's
        method, path, auth = seen[0]
        assert path.startswith("/sites/lyon/jobs?") and "user=alice" in path
        assert auth == "Basic " + base64.b64encode(b"alice:secret").decode()
        spec = JobSpec(site="lyon", resources="{cluster='nova'}/nodes=2", walltime=3600, types=["deploy", "exotic"],
                       queue="production")
        assert api.submit(spec).ok
        _, path, body = seen[1]
        assert path == "/sites/lyon/jobs" and body["types"] == ["deploy", "exotic"] and body["queue"] == "production"
    finally:
        server.shutdown()
