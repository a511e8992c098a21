"""OAR's REST API (Debian's oar-restful-api) served by the lab, with the Grid'5000 API's
job and status resources of site ``lab`` in front of it, as api.grid5000.fr proxies a
site's OAR REST API:

    /oarapi/...                   Debian's oarapi.cgi itself (OAR's REST API), run as CGI
    /sites/lab/jobs               POST submit (resources, command, types, name, reservation,
                                  queue, properties); GET ?name=&state=&user= the jobs
    /sites/lab/jobs/ID            GET (OAR's /jobs/ID/details), DELETE
    /sites/lab/status             nodes (hard state, reservations), vlans, subnets

Every /sites request is one or more calls of the CGI (what Apache's mod_cgi does with the
``oar-restful-api`` site Debian ships). Users authenticate with HTTP basic auth (the lab's
submitter, ``USER``/``API_PASSWORD``), which becomes the CGI's ``AUTHENTICATE_UID``, as
behind Grid'5000's LDAP; without it the API is anonymous and may only read. Served on
127.0.0.1:``PORT`` by a small threaded HTTP server (``python -m vm5k_lab.oar.api``),
started and stopped by pid like the other OAR daemons.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .commands import TZ, USER

CGI = Path("/usr/lib/cgi-bin/oarapi/oarapi.cgi")
PORT = 6668                       # the port Debian's apache2.conf for the API listens on
API_PASSWORD = "vm5k"             # the lab's API login: USER / API_PASSWORD (local only)
SITE = "lab"
G5K_STATES = {"Waiting": "waiting", "Launching": "launching", "Running": "running",
              "Hold": "hold", "Error": "error", "Terminated": "terminated",
              "toLaunch": "tolaunch", "Finishing": "finishing", "toAckReservation": "waiting",
              "toError": "error", "Suspended": "suspended", "Resuming": "resuming"}


def cgi(method: str, path: str, query: str = "", body: bytes = b"", user: str | None = None,
        timeout: float = 120) -> tuple[int, dict | str]:
    """One call of Debian's oarapi.cgi: (HTTP status, JSON answer or text)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(PORT),
           "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": method, "SCRIPT_NAME": "/oarapi",
           "PATH_INFO": path, "QUERY_STRING": query, "OARCONFFILE": "/etc/oar/oar.conf", "TZ": TZ,
           "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
           "HTTP_ACCEPT": "application/json"}
    if user:
        env["AUTHENTICATE_UID"] = user
    p = subprocess.run([str(CGI)], input=body, env=env, capture_output=True, timeout=timeout)
    head, _, text = p.stdout.replace(b"\r\n", b"\n").partition(b"\n\n")
    status = 200
    for line in head.decode("latin-1").splitlines():
        if line.lower().startswith("status:"):
            status = int(line.split(":", 1)[1].split()[0])
    if not head.strip():
        return 502, f"oarapi.cgi: no answer (exit {p.returncode}): {p.stderr.decode(errors='replace')[-300:]}"
    try:
        return status, json.loads(text.decode("utf-8", errors="replace") or "{}")
    except ValueError:
        return status, text.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- Grid'5000 shapes

def g5k_job(item: dict) -> dict:
    """An OAR REST API job (details) with the Grid'5000 API's names beside OAR's."""
    out = dict(item)
    out["uid"] = item.get("id", item.get("Job_Id"))
    out["user_uid"] = out["user"] = item.get("owner")
    out["state"] = G5K_STATES.get(item.get("state"), str(item.get("state", "")).lower())
    out["site"] = SITE
    return out


def submit_body(g5k: dict) -> dict:
    """POST /sites/S/jobs body -> POST /oarapi/jobs body (oarsub's long options)."""
    names = {"resources": "resource", "types": "type", "properties": "property"}
    keep = ("resources", "command", "types", "name", "reservation", "queue", "properties",
            "directory", "project")
    return {names.get(k, k): v for k, v in g5k.items() if k in keep and v not in (None, "", [])}


def status_doc(resources: list[dict], jobs: list[dict], now: int) -> dict:
    """GET /sites/S/status from OAR's resources and unfinished jobs: each node's hard state
    (alive, standby: Absent with available_upto in the future, absent, suspected, dead) and
    reservations; vlans and /22 subnets alike."""
    holders: dict[int, list[dict]] = {}
    for j in jobs:
        res = {"uid": j.get("id"), "user_uid": j.get("owner"), "queue": j.get("queue"),
               "state": G5K_STATES.get(j.get("state"), ""), "walltime": j.get("walltime"),
               "scheduled_at": j.get("scheduled_start") or j.get("start_time") or None,
               "started_at": j.get("start_time") or None}
        for r in j.get("resources") or []:
            rid = r.get("id", r.get("resource_id"))
            if rid is not None:
                holders.setdefault(int(rid), []).append(res)
    out: dict[str, dict] = {"nodes": {}, "vlans": {}, "subnets": {}}
    for r in resources:
        state = r.get("state")
        upto = int(r.get("available_upto") or 0)
        hard = ("standby" if state == "Absent" and upto > now else str(state or "alive").lower())
        rid = int(r.get("id", r.get("resource_id")))
        if r.get("type") in (None, "default") and r.get("network_address"):
            key, table = r["network_address"], out["nodes"]
        elif r.get("type") in ("kavlan", "kavlan-local", "kavlan-global"):
            key, table = str(r.get("vlan")), out["vlans"]
        elif r.get("type") == "subnet":
            key, table = f"{r.get('subnet_address')}/{r.get('subnet_prefix')}", out["subnets"]
        else:
            continue
        entry = table.setdefault(key, {"hard": hard, "soft": "free", "reservations": []})
        if r.get("type") not in (None, "default"):
            entry["type"] = r["type"]
        if hard != "alive" and entry["hard"] == "alive":
            entry["hard"] = hard
        for res in holders.get(rid, []):
            if res not in entry["reservations"]:
                entry["reservations"].append(res)
                entry["soft"] = "busy"
    return out


# ---------------------------------------------------------------- the server

def user_of(header: str | None) -> str | None:
    """The lab's API login from an Authorization header, None if absent or wrong."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        login, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return login if (login, password) == (USER, API_PASSWORD) else None


class Handler(BaseHTTPRequestHandler):
    server_version = "vm5k-lab-api"

    def log_message(self, *args):        # quiet: one line per error only
        pass

    def _send(self, status: int, data) -> None:
        body = (json.dumps(data) if not isinstance(data, str) else json.dumps({"message": data})).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        user = user_of(self.headers.get("Authorization"))
        if self.headers.get("Authorization") and user is None:
            return self._send(401, "bad login or password")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if url.path.startswith("/oarapi/") or url.path == "/oarapi":
                status, data = cgi(method, url.path[len("/oarapi"):] or "/", url.query, body, user)
                return self._send(status, data)
            m = re.fullmatch(rf"/sites/{SITE}/(jobs|status)(?:/(\d+))?/?", url.path)
            if not m:
                return self._send(404, f"no such resource: {url.path}")
            return self._send(*self._g5k(method, m.group(1), m.group(2), url.query, body, user))
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            return self._send(500, f"{type(e).__name__}: {e}")

    def _g5k(self, method, what, job_id, query, body, user):
        q = dict(urllib.parse.parse_qsl(query))
        if what == "status" and method == "GET":
            st, resources = cgi("GET", "/resources/full.json", "limit=100000", user=user)
            if st != 200:
                return st, resources
            st, jobs = cgi("GET", "/jobs/details.json",
                           "state=Waiting,Launching,Running,Hold,toLaunch,Finishing&limit=100000", user=user)
            if st != 200:
                return st, jobs
            return 200, status_doc(resources.get("items", []), jobs.get("items", []), int(time.time()))
        if what == "jobs" and job_id is None and method == "POST":
            st, data = cgi("POST", "/jobs.json", body=json.dumps(submit_body(json.loads(body or b"{}"))).encode(),
                           user=user)
            if st in (200, 201, 202) and isinstance(data, dict) and data.get("id") is not None:
                data["uid"] = data["id"]
            return st, data
        if what == "jobs" and job_id is None and method == "GET":
            states = ",".join(s.capitalize() if s != "tolaunch" else "toLaunch"
                              for s in q.get("state", "waiting,launching,running").split(","))
            st, data = cgi("GET", "/jobs/details.json", f"state={states}&limit=100000", user=user)
            if st != 200:
                return st, data
            items = [g5k_job(i) for i in data.get("items", [])]
            items = [i for i in items if (not q.get("user") or i["user_uid"] == q["user"])
                     and (not q.get("name") or i.get("name") == q["name"])]
            return 200, {"items": items, "total": len(items), "offset": 0}
        if what == "jobs" and job_id and method == "GET":
            st, data = cgi("GET", f"/jobs/{job_id}/details.json", user=user)
            return st, (g5k_job(data) if st == 200 and isinstance(data, dict) else data)
        if what == "jobs" and job_id and method == "DELETE":
            return cgi("DELETE", f"/jobs/{job_id}.json", user=user)
        return 405, f"{method} not allowed on {self.path}"

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")


def serve(port: int = PORT) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":  # pragma: no cover
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else PORT)
