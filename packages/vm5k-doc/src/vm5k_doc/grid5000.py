"""How vm5k talks to the Grid'5000 REST API: python-grid5000's client (its session,
retries and the field's ~/.python-grid5000.yaml for credentials and `uri`), seen as one
`fetch(method, path, body) -> (status, json)` that tests can replace with recorded answers.
"""
import json
import logging
import os
import shutil
import time

from .errors import PlatformError

log = logging.getLogger("vm5k")

CONFIG = "~/.python-grid5000.yaml"   # the field's convention (python-grid5000, EnOSlib)
TIMEOUT = 30
CACHE = "~/.cache/vm5k/reference"
MAX_AGE = 24 * 3600                  # the reference changes with hardware, not by the minute


def api_fetch(config=CONFIG):
    """(fetch, login) through python-grid5000: its session, retries and credentials from
    ~/.python-grid5000.yaml (username, password; none needed inside Grid'5000). The login
    scopes job lists to the user's own jobs."""
    from grid5000 import Grid5000
    from grid5000.exceptions import Grid5000Error
    path = os.path.expanduser(config)
    client = Grid5000.from_yaml(path) if os.path.exists(path) else Grid5000()
    client.timeout = client.timeout or TIMEOUT   # never wait forever on an unreachable API
    login = getattr(client, "username", None)

    def fetch(method, path, body=None):
        try:
            answer = client.http_request(method.lower(), path, post_data=body)
        except Grid5000Error as exc:
            return exc.response_code or 0, {"message": str(exc.error_message)}
        except OSError as exc:   # requests' connection errors
            raise PlatformError(f"Grid'5000 API {path}: {exc}") from None
        return answer.status_code, answer.json() if answer.content.strip() else {}
    return fetch, login


def configured(config=CONFIG):
    """The user set up API access (a python-grid5000 file)."""
    return os.path.exists(os.path.expanduser(config))


def _items(fetch, path):
    status, data = fetch("GET", path)
    if status != 200:
        raise PlatformError(f"Grid'5000 API GET {path}: HTTP {status}")
    return data.get("items", []) if isinstance(data, dict) else []


def download_reference(fetch, directory, plan_file):
    """Every site of the live reference API as one file per site in the layout of the
    snapshot (site, clusters, nodes), plus the KaVLAN/subnet plan; returns the directory."""
    tmp = f"{directory}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for site in _items(fetch, "/sites"):
        uid = site["uid"]
        clusters = _items(fetch, f"/sites/{uid}/clusters")
        nodes = []
        for cluster in clusters:
            for node in _items(fetch, f"/sites/{uid}/clusters/{cluster['uid']}/nodes"):
                nodes.append({**node, "cluster": cluster["uid"], "site": uid})
        document = {"_source": {"api": "Grid'5000 reference API", "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                    "site": site, "clusters": clusters, "nodes": nodes}
        with open(os.path.join(tmp, f"{uid}.json"), "w") as handle:
            json.dump(document, handle)
    shutil.copy(plan_file, tmp)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return directory


def live_reference(snapshot, fetch=None, cache=CACHE, max_age=MAX_AGE, now=None):
    """The live reference when the API answers (cached for a day), else None. `snapshot`
    gives the KaVLAN/subnet plan, which the API does not serve in one place."""
    directory = os.path.expanduser(cache)
    now = now or time.time()
    if os.path.isdir(directory) and now - os.path.getmtime(directory) < max_age:
        return directory
    try:
        download_reference(fetch or api_fetch()[0], directory, os.path.join(snapshot, "kavlan-and-subnets.json"))
    except (PlatformError, OSError, ValueError, KeyError) as exc:
        log.warning("Grid'5000 reference API not reachable (%s): using the bundled snapshot", exc)
        return directory if os.path.isdir(directory) else None   # an old cache beats the snapshot
    return directory
