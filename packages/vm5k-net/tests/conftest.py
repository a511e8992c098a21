import pytest
from vm5k_doc.reference import snapshot_path

REFERENCE = snapshot_path()


def make_doc(n_vms=4, site="lyon", cluster="nova", n_hosts=2, subnets=None, vlan=None, job_id=1234,
             platform="g5k", reference=REFERENCE):
    hosts = [{"id": f"{cluster}-{i}.{site}.grid5000.fr", "site": site, "cluster": cluster, "cores": 16,
              "mem_mb": 65536, "state": "reserved", "address": f"172.16.52.{i}"} for i in range(1, n_hosts + 1)]
    vms = [{"id": f"vm-{i}", "mem": 1024, "n_cpu": 1, "hdd": 10, "state": "placed",
            "host": hosts[(i - 1) % n_hosts]["id"]} for i in range(1, n_vms + 1)]
    doc = {"vm5k": {"version": 1, "platform": platform, "stages": ["topo", "oar"], "reference": reference},
           "reservation": {"jobs": [{"site": site, "id": job_id}], "subnets": subnets or [], "vlan": vlan},
           "hosts": hosts, "vms": vms, "events": []}
    return doc


@pytest.fixture
def reference_dir():
    return REFERENCE


@pytest.fixture(name="make_doc")
def make_doc_fixture():
    return make_doc
