"""Parsers on real OAR 2.5.9 outputs recorded on the lab."""
from vm5k_oar import oar_text
from vm5k_oar.timeutil import parse_oar_date


def parse_sub(recorded, name):
    stdout, meta = recorded(name)
    return oar_text.parse_oarsub(stdout, meta["stderr"], meta["exit_status"])


def test_oarsub_outputs(recorded):
    assert parse_sub(recorded, "oarsub-reservation") == oar_text.Submitted(job_id=5, ok=True)
    assert parse_sub(recorded, "oarsub-nodes").job_id == 6
    assert parse_sub(recorded, "oarsub-deploy-subnet-kavlan").ok
    not_enough = parse_sub(recorded, "oarsub-not-enough")
    assert (not_enough.ok, not_enough.job_id) == (False, None)  # OAR_JOB_ID=-5 is no job
    assert "not enough resources" in not_enough.reason
    assert "Syntax error near the -r" in parse_sub(recorded, "oarsub-reservation-bad-date").reason
    assert "unknown job type" in parse_sub(recorded, "oarsub-unknown-type").reason


def test_oarsub_could_run_at():
    # seen on the lab's OAR: the refused reservation stays in the database as Error, exit 10
    stdout = ("[ADMISSION RULE] Modify resource description with type constraints\nOAR_JOB_ID=9\n"
              "Reservation mode: waiting validation...\n"
              "Reservation not valid --> KO (This reservation could run at 2026-11-24 17:39:25)\n")
    answer = oar_text.parse_oarsub(stdout, "", 10)
    assert not answer.ok and answer.could_run_at == "2026-11-24 17:39:25"
    assert answer.reason == "This reservation could run at 2026-11-24 17:39:25"


def test_oarstat_full_json(recorded):
    stdout, _ = recorded("oarstat-fJ-running")
    job = oar_text.parse_oarstat_job(oar_text.loads(stdout, "x"), "lab", 6)
    assert (job.id, job.state, job.hosts, job.walltime, job.running) == (6, "Running", ["host2.lab"], 300, True)
    stdout, _ = recorded("oarstat-fJ-reservation-waiting")
    job = oar_text.parse_oarstat_job(oar_text.loads(stdout, "x"), "lab", 5)
    assert (job.state, job.name, job.hosts) == ("Waiting", "resa", [])
    assert job.start == 1795551552  # a waiting reservation already has its start date
    stdout, _ = recorded("oarstat-fJ-after-oardel")
    assert oar_text.parse_oarstat_job(oar_text.loads(stdout, "x"), "lab", 6).ended


def test_oarstat_properties_give_subnets_vlan_cores(recorded):
    stdout, _ = recorded("oarstat-p-deploy-subnet-kavlan")
    job = oar_text.add_resources(oar_text.JobInfo("lab", 7, "Running"), oar_text.parse_properties(stdout))
    assert job.subnets == ["10.77.4.0/22"]
    assert job.vlan == 4
    assert job.hosts == ["host2.lab"] and job.cores == {"host2.lab": 2}


def test_oarstat_state(recorded):
    stdout, _ = recorded("oarstat-s-running")
    assert oar_text.parse_oarstat_state(stdout) == "Running"
    assert oar_text.parse_oarstat_state("") is None


def test_gantt_planning(recorded):
    stdout, meta = recorded("oarstat-gantt-J")
    start, end = (parse_oar_date(d, meta["tz"]) for d in meta["argv"][2].split(", "))
    planning = oar_text.parse_gantt(oar_text.loads(stdout, "gantt"), "lab", start, end)
    assert [h.fqdn for h in planning.hosts] == ["host1.lab", "host2.lab", "host3.lab"]
    busy = {h.fqdn: list(zip(h.busy.starts, h.busy.ends, strict=False)) for h in planning.hosts}
    assert busy["host1.lab"] == [(1795551552, 1795551852)]  # reservation 5, still waiting
    assert busy["host3.lab"] == []                          # jobs in Error hold nothing
    kinds = sorted({b.kind for b in planning.blocks})
    assert kinds == ["kavlan", "kavlan-local", "slash_22"]
    assert sum(b.kind == "slash_22" for b in planning.blocks) == 8


def test_standby_nodes_are_available_until_their_available_upto(recorded):
    """Grid'5000 powers idle nodes off (Absent with available_upto): OAR wakes them for a
    job, so they count as free until then; Dead, Suspected and plain Absent never do."""
    stdout, meta = recorded("oarstat-gantt-J")
    start, end = (parse_oar_date(d, meta["tz"]) for d in meta["argv"][2].split(", "))
    data = oar_text.loads(stdout, "gantt")
    rows = data["resources"] if isinstance(data["resources"], list) else list(data["resources"].values())
    for row in rows:
        if row.get("host") == "host3.lab":
            row.update(state="Absent", available_upto=end + 3600)
        if row.get("host") == "host2.lab":
            row.update(state="Suspected")
    # OAR lists the standby period among dead_resources too (date_stop 0: still Absent)
    host3 = [str(r["resource_id"]) for r in rows if r.get("host") == "host3.lab"]
    data["dead_resources"] = {rid: [[start - 60, 0, "Absent"]] for rid in host3}
    planning = oar_text.parse_gantt(data, "lab", start, end)
    busy = {h.fqdn: h.busy for h in planning.hosts}
    assert busy["host3.lab"].free(start, end) and not busy["host3.lab"].free(end + 3600, end + 7200)
    assert not busy["host2.lab"].free(start, end)
    assert oar_text.unavailable("Absent", 0) == [(0, oar_text.FOREVER)]
    assert oar_text.unavailable("Alive", maintenance="YES") == [(0, oar_text.FOREVER)]


def test_a_node_the_reference_does_not_know_is_described_by_oar(recorded):
    stdout, meta = recorded("oarnodes-J-host")
    node = oar_text.parse_oarnodes(oar_text.loads(stdout, "oarnodes"), meta["argv"][-1])
    assert node == {"cluster": "lab", "cores": 2, "threads": 2, "mem_mb": 4096}
    assert oar_text.parse_oarnodes({}, "host9.lab") == {}
