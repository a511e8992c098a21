"""The lab as a Grid'5000 site twin, on real OAR (issue 15).

- test_end_of_job_*: on the default lab, `oardel` of a job under running VMs: OAR's server
  epilogue leaves no domain on the job's hosts and brings a KaVLAN host back to the
  default network, and touches no other host.
- the rest bring up the twin (`vm5k-lab up --twin`, 6 hosts: cluster lab with host3 in
  standby, prod in queue production, exo exotic, novirt) inside the session's lock and
  restore the lab they found afterwards, even on failure. Opt-in (about a minute and a
  half): VM5K_TEST_TWIN=1.
  Reservations through `vm5k-topo --platform lab -r CLUSTER:N | vm5k-oar` reach Running
  with the queue and type Grid'5000's OAR wants; OAR's own admission rules refuse
  production and exotic nodes to jobs that do not ask for them; the standby node is
  counted free and granted (OAR wakes it).
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from vm5k_lab import guests, libvirtd, oar, plan
from vm5k_lab import lab as labmod
from vm5k_lab.oar import epilogue
from vm5k_lab.state import lab_config

pytestmark = pytest.mark.lab

BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "VM5K_LAB_LOCKED": "1"}
TEMPLATE = '{"mem": 128, "hdd": 1, "backing_file": "mini"}'


def oarcmd(argv, timeout=60):
    return subprocess.run(oar.command(argv), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def submit(*argv):
    p = oarcmd(["oarsub", *argv])
    m = re.search(r"^OAR_JOB_ID=(\d+)\s*$", p.stdout, re.M)
    return (int(m.group(1)) if m else None), p


def job(job_id):
    p = oarcmd(["oarstat", "-fJ", "-j", str(job_id)])
    return json.loads(p.stdout)[str(job_id)] if p.returncode == 0 else {}


def wait_state(job_id, wanted, timeout):
    end = time.monotonic() + timeout
    while True:
        j = job(job_id)
        if j.get("state") in wanted or time.monotonic() > end:
            return j
        time.sleep(0.5)


def delete(job_id):
    if job_id is None:
        return
    oarcmd(["oardel", str(job_id)])
    wait_state(job_id, ("Terminated", "Error"), 30)


def resources(host):
    p = oarcmd(["oarnodes", "-J", host])
    return list(json.loads(p.stdout).values())


def sh(script, cwd, timeout=300):
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True,
                          text=True, env=ENV, timeout=timeout)


# ---------------------------------------------------------------- the end of a job

def test_end_of_job_destroys_its_hosts_vms_and_leaves_the_kavlan(lab):
    assert len(lab["hosts"]) >= 2
    # a lab left up by an older vm5k-lab: OAR's configuration in line (a no-op otherwise)
    oar.up(labmod.host_records(lab_config()), plan.subnets(), list(plan.VLAN_IDS))
    info = lab["images"]["mini"]
    key = labmod.public_key()
    jid, p = submit("-l", "{network_address='host1.lab'}/nodes=1,walltime=0:5:0", "sleep 300")
    assert jid, p.stdout + p.stderr
    try:
        assert wait_state(jid, ("Running",), 30).get("state") == "Running"
        for n, name in ((1, "t-epi-mine"), (2, "t-epi-other")):
            guests.destroy(n, name)
            xml = guests.mini_xml(name, plan.g5k_mac(f"10.77.60.{210 + n}"), key, virt=lab["virt"])
            guests.define_and_start(n, xml, name)
        labmod.set_vlan("host1", plan.VLAN_IDS[0])
        assert info["built"]
        t0 = time.monotonic()
        delete(jid)
        # the epilogue runs before OAR marks the job ended: nothing to wait for after
        ended = time.monotonic() - t0
        assert "t-epi-mine" not in libvirtd.domains(1)
        assert not libvirtd.qemu_pids(1)
        assert "t-epi-other" in libvirtd.domains(2, all_=False)      # not the job's host
        st = labmod.host_status(1, lab_config())
        assert "vlan" not in st and st["address"] == plan.host_address(1)
        log = epilogue.LOG.read_text()
        assert f"job {jid} (vm5k)" in log and "t-epi-mine" in log
        print(f"oardel to job ended, epilogue included: {ended:.1f} s")
    finally:
        delete(jid)
        guests.destroy(2, "t-epi-other")
        guests.destroy(1, "t-epi-mine")
        labmod.set_vlan("host1", None)


# ---------------------------------------------------------------- the twin

@pytest.fixture(scope="module")
def twin(lab):
    if os.environ.get("VM5K_TEST_TWIN") != "1":
        pytest.skip("the site twin brings up 3 more hosts (about 90 s): VM5K_TEST_TWIN=1")
    cfg = lab_config()
    before = (cfg["hosts"], cfg["cores"], cfg["mem_mb"])
    t0 = time.monotonic()
    try:
        st = labmod.up(plan.TWIN_HOSTS, cfg["cores"], cfg["mem_mb"], twin=True)
        st["up_seconds"] = time.monotonic() - t0
        yield st
    finally:
        oar.server.delete_jobs()
        labmod.up(*before)             # the lab found: hosts 4..6 gone, OAR in line again


def test_twin_status_reference_and_oar_agree(twin):
    assert twin["twin"] and twin["oar"]["state"] == "running"
    assert [h["cluster"] for h in twin["hosts"]] == ["lab", "lab", "lab", "prod", "exo", "novirt"]
    assert all(h["state"] == "up" for h in twin["hosts"])
    from vm5k_doc import reference as vref
    ref = vref.load(twin["reference"])
    assert ref.clusters["prod"].queues == ["production"] and ref.clusters["exo"].exotic
    assert not ref.clusters["novirt"].virtualizable
    h3 = resources("host3.lab")
    assert {r["state"] for r in h3} == {"Absent"}
    assert {r["available_upto"] for r in h3} == {oar.resources.STANDBY_UPTO}
    assert {r["production"] for r in resources("host4.lab")} == {"YES"}
    assert {r["exotic"] for r in resources("host5.lab")} == {"YES"}
    assert {r["virtual"] for r in resources("host6.lab")} == {"NO"}
    if twin["oar"].get("api_pid"):      # the Grid'5000 API's view: host3 in standby
        with urllib.request.urlopen(f"{twin['oar']['api_url']}/sites/lab/status", timeout=60) as r:
            nodes = json.loads(r.read())["nodes"]
        assert {k: v["hard"] for k, v in nodes.items()} == {
            **{plan.host_fqdn(n): "alive" for n in (1, 2, 4, 5, 6)}, "host3.lab": "standby"}
    print(f"twin up in {twin['up_seconds']:.1f} s")


def test_oar_refuses_production_and_exotic_nodes_to_jobs_that_do_not_ask(twin):
    for prop, extra in (("cluster='prod'", []), ("cluster='exo'", [])):
        jid, p = submit(*extra, "-l", f"{{{prop}}}/nodes=1,walltime=0:5:0", "sleep 1")
        assert jid is None and "not enough resources" in (p.stdout + p.stderr).lower(), p.stdout
    # every node that is neither production nor exotic: host1, host2, host3 (standby), host6
    jid, p = submit("-l", "nodes=5,walltime=0:5:0", "sleep 1")
    assert jid is None, p.stdout
    jid, p = submit("-q", "production", "-l", "{cluster='lab'}/nodes=1,walltime=0:5:0", "sleep 1")
    assert jid is None, p.stdout


def _reserve(tmp_path, resources_arg, n_vms=1):
    r = sh(f"vm5k-topo --platform lab -n {n_vms} -r {resources_arg} -t '{TEMPLATE}' -w 0:10:00"
           " | vm5k-oar > reserved.json", tmp_path)
    doc = json.loads((tmp_path / "reserved.json").read_text())
    jobs = (doc.get("reservation") or {}).get("jobs") or [{}]
    return r, doc, jobs[0].get("id")


def _release(tmp_path):
    if (tmp_path / "reserved.json").exists():
        sh("vm5k-oar --release -i reserved.json > released.json", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("cluster,queue,types", [("prod", "production", []), ("exo", "default", ["exotic"])])
def test_production_and_exotic_clusters_reach_running(twin, tmp_path, cluster, queue, types):
    t0 = time.monotonic()
    r, doc, jid = _reserve(tmp_path, f"{cluster}:1")
    try:
        assert r.returncode == 0, r.stderr[-2000:]
        j = job(jid)
        assert j["state"] == "Running" and j["queue"] == queue
        assert [t for t in j["types"] if t == "exotic"] == types
        assert [h["id"] for h in doc["hosts"]] == [f"host{4 if cluster == 'prod' else 5}.lab"]
        assert doc["hosts"][0]["cluster"] == cluster
        print(f"{cluster}: topo + oar to Running in {time.monotonic() - t0:.1f} s")
    finally:
        _release(tmp_path)


@pytest.mark.slow
def test_standby_node_is_counted_free_and_granted_and_never_exotic(twin, tmp_path):
    t0 = time.monotonic()
    # the whole default cluster, its standby node included; grid5000 = every cluster vm5k
    # may use unasked: not exo, not prod, not novirt
    r, doc, jid = _reserve(tmp_path, "grid5000:3", n_vms=3)
    try:
        assert r.returncode == 0, r.stderr[-2000:]
        assert sorted(h["id"] for h in doc["hosts"]) == ["host1.lab", "host2.lab", "host3.lab"]
        assert job(jid)["state"] == "Running"
        assert {x["state"] for x in resources("host3.lab")} == {"Alive"}       # OAR woke it
        print(f"standby node granted in {time.monotonic() - t0:.1f} s")
    finally:
        _release(tmp_path)
