"""vm5k-oar's REST backend (`--backend api`, python-grid5000) against a real server: the
lab's OAR REST API (Debian's oar-restful-api CGI) behind the Grid'5000 API resources of
site lab (vm5k_lab.oar.api). Reserve, wait, list (a job found again by name), release."""

import base64
import json
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from vm5k_lab import lab as labmod
from vm5k_lab import oar, plan
from vm5k_lab.oar import api
from vm5k_lab.state import lab_config

pytestmark = pytest.mark.lab

BIN = pathlib.Path(sys.executable).parent
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'


@pytest.fixture(scope="module")
def server(lab):
    if not api.CGI.exists():
        pytest.skip("Debian's oar-restful-api is not installed (make setup)")
    st = oar.up(labmod.host_records(lab_config()), plan.subnets(), list(plan.VLAN_IDS))
    assert st["api_pid"], st
    return st


def request(url, method="GET", body=None, login=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    if login:
        req.add_header("Authorization", "Basic " + base64.b64encode(login.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_the_oar_rest_api_is_served_and_authenticates(server):
    url = server["api_url"]
    assert request(f"{url}/oarapi/whoami.json", login="vm5k:vm5k")[1]["authenticated_user"] == "vm5k"
    assert request(f"{url}/oarapi/whoami.json")[1]["authenticated_user"] == ""
    assert request(f"{url}/oarapi/whoami.json", login="vm5k:wrong")[0] == 401
    status, answer = request(f"{url}/sites/lab/jobs", "POST",
                             {"resources": "nodes=1,walltime=0:1:0", "command": "sleep 1"})
    assert status == 401, answer                       # anonymous may not submit
    status, doc = request(f"{url}/sites/lab/status")
    assert status == 200 and set(doc["nodes"]) == {h["id"] for h in labmod.host_records(lab_config())}
    assert all(n["hard"] == "alive" for n in doc["nodes"].values())
    assert len(doc["subnets"]) == plan.N_SUBNETS and set(doc["vlans"]) == {str(v) for v in plan.VLAN_IDS}


@pytest.mark.slow
def test_rest_backend_reserves_waits_lists_and_releases(server, tmp_path):
    (tmp_path / ".python-grid5000.yaml").write_text(
        f"uri: {server['api_url']}\nusername: vm5k\npassword: {api.API_PASSWORD}\nverify_ssl: false\n")
    env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "VM5K_LAB_LOCKED": "1"}

    def sh(script):
        return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    topo = f"vm5k-topo --platform lab -n 2 -r lab:2 -t '{TEMPLATE}' -w 0:10:00"
    t0 = time.monotonic()
    r = sh(f"{topo} | vm5k-oar --backend api --name apitest > reserved.json")
    took = time.monotonic() - t0
    doc = json.loads((tmp_path / "reserved.json").read_text())
    job = ((doc.get("reservation") or {}).get("jobs") or [{}])[0]
    try:
        assert r.returncode == 0, r.stderr[-2000:]
        assert job["state"] == "Running" and isinstance(job["id"], int)
        assert len(doc["hosts"]) == 2 and all(h["id"].endswith(".lab") for h in doc["hosts"])
        assert len(doc["reservation"]["subnets"]) == 1
        # OAR's own view of the job the API submitted
        p = subprocess.run(oar.command(["oarstat", "-fJ", "-j", str(job["id"])]), capture_output=True, text=True)
        j = json.loads(p.stdout)[str(job["id"])]
        assert j["state"] == "Running" and j["owner"] == "vm5k" and j["name"] == "apitest"
        assert sorted(j["assigned_network_address"]) == sorted(h["id"] for h in doc["hosts"])
        # listed by name: a second pipeline finds the same job
        again = sh(f"{topo} | vm5k-oar --backend api --name apitest > again.json")
        assert again.returncode == 0, again.stderr[-2000:]
        assert "reusing job(s) named apitest" in again.stderr
        assert json.loads((tmp_path / "again.json").read_text())["reservation"]["jobs"][0]["id"] == job["id"]
        print(f"REST backend: topo + oar to Running in {took:.1f} s")
    finally:
        rel = sh("vm5k-oar --backend api --release -i reserved.json > released.json")
    assert rel.returncode == 0, rel.stderr[-2000:]
    p = subprocess.run(oar.command(["oarstat", "-s", "-j", str(job["id"])]), capture_output=True, text=True)
    assert p.stdout.split(":")[-1].strip() in ("Terminated", "Error"), p.stdout
