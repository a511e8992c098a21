"""The site twin's pure parts (no root, no OAR): layout, reference documents, OAR rows,
states, admission rules, the epilogue and wake-up scripts."""

import subprocess

import pytest
from vm5k_doc import reference as vref
from vm5k_lab import lab as labmod
from vm5k_lab import oar, plan, reference
from vm5k_lab.oar import config, epilogue


def test_default_layout_is_one_cluster_all_alive():
    hosts = plan.layout(3)
    assert [h["n"] for h in hosts] == [1, 2, 3]
    assert {(h["cluster"], h["queue"], h["exotic"], h["virtual"], h["standby"]) for h in hosts} == \
        {("lab", "default", False, True, False)}


def test_twin_layout():
    hosts = plan.layout(plan.TWIN_HOSTS, twin=True)
    got = [(h["n"], h["cluster"], h["queue"], h["exotic"], h["virtual"], h["standby"]) for h in hosts]
    assert got == [
        (1, "lab", "default", False, True, False),
        (2, "lab", "default", False, True, False),
        (3, "lab", "default", False, True, True),
        (4, "prod", "production", False, True, False),
        (5, "exo", "default", True, True, False),
        (6, "novirt", "default", False, False, False),
    ]
    assert [h["cluster"] for h in plan.layout(5, twin=True)] == ["lab", "lab", "prod", "exo", "novirt"]
    with pytest.raises(ValueError, match="at least 5 hosts"):
        plan.layout(4, twin=True)


def test_twin_reference_reads_as_grid5000_clusters(tmp_path):
    doc = reference.site_doc(6, 2, 4096, "qemu", now="2026-01-01T00:00:00Z", twin=True)
    (tmp_path / "lab.json").write_text(__import__("json").dumps(doc))
    ref = vref.load(str(tmp_path / "lab.json"))
    c = ref.clusters
    assert sorted(c) == ["exo", "lab", "novirt", "prod"]
    assert c["lab"].nodes == ["host1", "host2", "host3"] and c["lab"].default_queue
    assert c["prod"].queues == ["production"] and not c["prod"].default_queue
    assert c["exo"].exotic and c["exo"].virtualizable
    assert not c["novirt"].virtualizable and not c["novirt"].exotic
    assert ref.node("host6.lab").virtual is False
    # the default lab: one cluster, as before
    one = reference.site_doc(3, 2, 4096, "qemu", now="2026-01-01T00:00:00Z")
    assert [x["uid"] for x in one["clusters"]] == ["lab"] and one["clusters"][0]["nodes_count"] == 3
    assert reference.site_doc(0, 0, 0, None)["clusters"][0]["nodes_count"] == 0


def test_host_records_carry_the_layout():
    recs = labmod.host_records({"hosts": 6, "cores": 2, "mem_mb": 4096, "twin": True})
    assert [r["cluster"] for r in recs] == ["lab", "lab", "lab", "prod", "exo", "novirt"]
    assert [r["standby"] for r in recs] == [False, False, True, False, False, False]
    assert all(r["cluster"] == "lab" for r in labmod.host_records({"hosts": 2, "cores": 1, "mem_mb": 512}))


def test_oar_rows_have_grid5000_properties_and_standby():
    recs = labmod.host_records({"hosts": 6, "cores": 1, "mem_mb": 1024, "twin": True})
    rows = {r["host"]: r for r in oar.host_rows(recs)}
    assert (rows["host4.lab"]["production"], rows["host4.lab"]["exotic"]) == ("YES", "NO")
    assert (rows["host5.lab"]["production"], rows["host5.lab"]["exotic"]) == ("NO", "YES")
    assert rows["host6.lab"]["virtual"] == "NO" and rows["host1.lab"]["virtual"] == "ivt"
    assert rows["host3.lab"]["available_upto"] == oar.resources.STANDBY_UPTO
    assert rows["host1.lab"]["available_upto"] == oar.resources.ALWAYS_UP
    assert oar.resources.desired_state(rows["host3.lab"]) == "Absent"
    assert oar.resources.desired_state(rows["host1.lab"]) == "Alive"
    sql = oar.resources_sql(oar.plan_resources([], list(rows.values())))
    assert "('Absent', 2, 'default', 'host3.lab'" in sql and "('Alive', 1, 'default', 'host1.lab'" in sql


def _db(rows, state="Alive"):
    out = []
    for i, r in enumerate(rows, 1):
        d = {p: None for p in oar.PROPERTIES}
        d.update(r)
        d.update({"resource_id": i, "state": state})
        out.append(d)
    return out


def test_plan_puts_the_standby_node_back_unless_a_job_holds_it():
    twin = oar.host_rows(labmod.host_records({"hosts": 6, "cores": 1, "mem_mb": 1024, "twin": True}))
    woken = _db(twin)                       # every node Alive: host3 was woken for a job
    assert oar.plan_resources(woken, twin)["standby"] == [3]
    assert oar.plan_resources(woken, twin, busy={3})["standby"] == []
    asleep = _db(twin)
    asleep[2]["state"] = "Absent"
    p = oar.plan_resources(asleep, twin)
    assert p["standby"] == [] and p["revive"] == [] and not p["update"]
    # back to the default lab: host3 revived, available_upto back to OAR's default
    default = oar.host_rows(labmod.host_records({"hosts": 6, "cores": 1, "mem_mb": 1024}))
    p = oar.plan_resources(asleep, default)
    assert p["revive"] == [3]
    changed = dict(p["update"])
    assert changed[3]["available_upto"] == oar.resources.ALWAYS_UP
    assert changed[4] == {"cluster": "lab", "production": "NO"}
    assert changed[5] == {"cluster": "lab", "exotic": "NO"}
    assert changed[6] == {"cluster": "lab", "virtual": "ivt"}


def test_admission_rules_production_and_exotic():
    sql = oar.admission_sql()
    assert oar.RULE_QUEUES.startswith(oar.RULE_QUEUES_HEAD)
    assert "SELECT 18, 'YES'" in sql and "$vm5k$" not in oar.RULE_QUEUES
    assert "INSERT INTO queues (queue_name, priority, scheduler_policy, state) SELECT 'production', 3" in sql
    r = oar.RULE_QUEUES
    assert "production = 'YES'" in r and "production = 'NO'" in r and "exotic = 'NO'" in r
    # the rule is valid Perl
    perl = subprocess.run(["perl", "-c", "-e", "my ($queue_name, $type_list, $ref_resource_list);\n" + r],
                          capture_output=True, text=True)
    assert perl.returncode == 0, perl.stderr


def test_epilogue_and_wake_up_scripts(tmp_path):
    text = config.epilogue_text("/opt/venv/bin/python", "/var/lib/my lab")
    assert "exec /usr/lib/oar/oardodo/oardodo /usr/bin/env 'VM5K_LAB_STATE=/var/lib/my lab'" not in text
    assert "VM5K_LAB_STATE='/var/lib/my lab' /opt/venv/bin/python -m vm5k_lab.oar.epilogue \"$1\"" in text
    script = tmp_path / "epi"
    script.write_text(text)
    for bad in ("", "12; rm -rf /", "-1"):
        p = subprocess.run(["sh", str(script), bad], capture_output=True, text=True)
        assert p.returncode == 2 and "usage" in p.stderr
    wake = tmp_path / "wake"
    wake.write_text(config.wake_up_text().replace(config.OARNODESETTING, "echo"))
    p = subprocess.run(["sh", str(wake)], input="host3.lab\nbad;name\n\n", capture_output=True, text=True)
    assert p.returncode == 0
    assert epilogue.main(["x"]) == 2 and epilogue.main([]) == 2
