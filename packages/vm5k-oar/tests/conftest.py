import json
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
OAR = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "oar"  # recorded by vm5k-lab's test_oar.py


def _recorded(name):
    """(stdout, meta) of a real OAR 2.5.9 output recorded on the lab."""
    return (OAR / f"{name}.txt").read_text(), json.loads((OAR / f"{name}.meta.json").read_text())


def _lab_reference(tmp_path, hosts=3, cores=2, mem_mb=4096):
    """A lab reference file in the per-site layout."""
    nodes = [{"uid": f"host{i}", "cluster": "lab", "site": "lab", "network_address": f"host{i}.lab",
              "architecture": {"nb_procs": 1, "nb_cores": cores, "nb_threads": cores},
              "main_memory": {"ram_size": mem_mb * 2**20},
              "main_interface": {"ip": f"10.77.0.{10 + i}"}} for i in range(1, hosts + 1)]
    path = tmp_path / "lab.json"
    path.write_text(json.dumps({"site": {"uid": "lab"}, "clusters": [{"uid": "lab"}], "nodes": nodes}))
    return path


def _topo_doc(platform="lab", reference=None, n_vm=4, wanted=None, mem=128, **request):
    doc = {"vm5k": {"version": 1, "platform": platform, "stages": ["topo"]},
           "request": {"n_vm": n_vm, "resources": [], "blacklist": [], "distribution": "round-robin",
                       "walltime": "0:20:00", "seed": 0, **request},
           "reservation": {"wanted": wanted or {"lab": 2}},
           "vms": [{"id": f"vm-{i}", "mem": mem, "n_cpu": 1, "hdd": 1, "state": "planned"} for i in range(1, n_vm + 1)],
           "events": []}
    if reference:
        doc["vm5k"]["reference"] = str(reference)
    return doc


@pytest.fixture
def fixtures():
    return FIXTURES


@pytest.fixture
def recorded():
    return _recorded


@pytest.fixture
def lab_reference(tmp_path):
    return lambda **kw: _lab_reference(tmp_path, **kw)


@pytest.fixture
def topo_doc():
    return _topo_doc
