"""The lab API's pure parts: Grid'5000 API shapes from OAR REST API answers, the login."""

import base64

from vm5k_lab.oar import api


def test_submit_body_is_oarsubs_long_options():
    body = api.submit_body({"resources": "nodes=1", "command": "sleep 1", "types": ["exotic"],
                            "name": "x", "queue": "production", "properties": "", "reservation": None,
                            "unknown": 1})
    assert body == {"resource": "nodes=1", "command": "sleep 1", "type": ["exotic"], "name": "x",
                    "queue": "production"}


def test_g5k_job_keeps_oars_fields_and_adds_grid5000_names():
    j = api.g5k_job({"id": 7, "owner": "vm5k", "state": "Running", "name": "n", "resources": []})
    assert (j["uid"], j["user_uid"], j["state"], j["site"], j["owner"]) == (7, "vm5k", "running", "lab", "vm5k")
    assert api.g5k_job({"id": 8, "state": "toLaunch"})["state"] == "tolaunch"


def test_status_doc_states_and_reservations():
    now = 1000
    resources = [
        {"id": 1, "type": "default", "network_address": "host1.lab", "state": "Alive", "available_upto": 2147483647},
        {"id": 2, "type": "default", "network_address": "host1.lab", "state": "Alive", "available_upto": 2147483647},
        {"id": 3, "type": "default", "network_address": "host3.lab", "state": "Absent", "available_upto": 2147483646},
        {"id": 4, "type": "default", "network_address": "host4.lab", "state": "Absent", "available_upto": 0},
        {"id": 5, "type": "default", "network_address": "host5.lab", "state": "Dead", "available_upto": 0},
        {"id": 6, "type": "kavlan", "network_address": "", "vlan": "4", "state": "Alive"},
        {"id": 7, "type": "subnet", "network_address": "", "subnet_address": "10.77.4.0",
         "subnet_prefix": 22, "state": "Alive"},
    ]
    jobs = [{"id": 9, "owner": "vm5k", "queue": "default", "state": "Running", "walltime": 600,
             "start_time": 990, "scheduled_start": 990, "resources": [{"id": 1}, {"id": 2}, {"id": 7}]}]
    st = api.status_doc(resources, jobs, now)
    nodes = st["nodes"]
    assert {k: v["hard"] for k, v in nodes.items()} == {
        "host1.lab": "alive", "host3.lab": "standby", "host4.lab": "absent", "host5.lab": "dead"}
    assert nodes["host1.lab"]["soft"] == "busy"
    assert nodes["host1.lab"]["reservations"] == [{"uid": 9, "user_uid": "vm5k", "queue": "default",
                                                   "state": "running", "walltime": 600,
                                                   "scheduled_at": 990, "started_at": 990}]
    assert st["vlans"] == {"4": {"hard": "alive", "soft": "free", "reservations": [], "type": "kavlan"}}
    assert st["subnets"]["10.77.4.0/22"]["soft"] == "busy"


def test_login():
    def basic(s):
        return "Basic " + base64.b64encode(s.encode()).decode()
    assert api.user_of(basic(f"vm5k:{api.API_PASSWORD}")) == "vm5k"
    assert api.user_of(basic("vm5k:nope")) is None and api.user_of(basic("root:vm5k")) is None
    assert api.user_of(None) is None and api.user_of("Basic !!!") is None and api.user_of("Bearer x") is None
