"""The live reference: the API's answers (here the snapshot's own documents, served the
way the reference API serves them) become the per-site layout every stage reads."""
import json
import os

from vm5k_doc import grid5000, reference
from vm5k_doc.errors import PlatformError
from vm5k_doc.reference import snapshot_path

SNAPSHOT = snapshot_path()


def api_from_snapshot(sites=("lyon", "nancy")):
    """GET /sites, /sites/S/clusters, /sites/S/clusters/C/nodes as the API answers them."""
    docs = {s: json.load(open(os.path.join(SNAPSHOT, f"{s}.json"))) for s in sites}
    answers = {"/sites": {"items": [docs[s]["site"] for s in sites]}}
    for s, doc in docs.items():
        answers[f"/sites/{s}/clusters"] = {"items": doc["clusters"]}
        for cluster in doc["clusters"]:
            nodes = [{k: v for k, v in n.items() if k not in ("cluster", "site")}
                     for n in doc["nodes"] if n["cluster"] == cluster["uid"]]
            answers[f"/sites/{s}/clusters/{cluster['uid']}/nodes"] = {"items": nodes}
    calls = []

    def fetch(method, path, body=None):
        calls.append(path)
        return (200, answers[path]) if path in answers else (404, {"message": "not found"})
    return fetch, calls


def test_the_live_reference_reads_like_the_snapshot(tmp_path):
    fetch, calls = api_from_snapshot()
    path = grid5000.live_reference(SNAPSHOT, fetch, cache=str(tmp_path / "ref"))
    live, shipped = reference.load(path), reference.load(SNAPSHOT)
    assert sorted(live.sites) == ["lyon", "nancy"]
    for uid in ("nova", "gros"):
        assert live.clusters[uid] == shipped.clusters[uid]
    assert live.site_plan("lyon") == shipped.site_plan("lyon")
    assert live.node("nova-1").vlan_address(4) == shipped.node("nova-1").vlan_address(4)
    # fresh for a day: no second download
    assert grid5000.live_reference(SNAPSHOT, fetch, cache=str(tmp_path / "ref")) == path
    assert calls.count("/sites") == 1


def test_an_unreachable_api_falls_back(tmp_path):
    def down(method, path, body=None):
        raise PlatformError("Grid'5000 API /sites: Connection refused")
    assert grid5000.live_reference(SNAPSHOT, down, cache=str(tmp_path / "none")) is None
    fetch, _ = api_from_snapshot(("lyon",))
    old = grid5000.live_reference(SNAPSHOT, fetch, cache=str(tmp_path / "old"))
    stale = grid5000.live_reference(SNAPSHOT, down, cache=old, now=os.path.getmtime(old) + 2 * grid5000.MAX_AGE)
    assert stale == old   # an old copy of the live data beats the snapshot
