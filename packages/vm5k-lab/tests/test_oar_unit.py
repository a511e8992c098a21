"""Fast tests of vm5k_lab.oar's pure helpers (no OAR, no root)."""

import sys
from pathlib import Path

import pytest

try:
    from vm5k_lab import oar
except ImportError:  # package not installed in the venv yet
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from vm5k_lab import oar

HOSTS = [
    {"id": "host1.lab", "address": "10.77.0.11", "cores": 2, "mem_mb": 4096},
    {"id": "host2.lab", "address": "10.77.0.12", "cores": 4, "mem_mb": 8192, "cpus": 2},
]


def test_command_wraps_for_the_user_with_tz_and_home():
    argv = oar.command(["oarsub", "-l", "nodes=1", "sleep 10"])
    assert argv[:4] == ["runuser", "-u", oar.USER, "--"]
    assert argv[4:7] == ["env", "-C", f"/home/{oar.USER}"]
    assert f"TZ={oar.TZ}" in argv and f"PWD=/home/{oar.USER}" in argv
    assert argv[-4:] == ["oarsub", "-l", "nodes=1", "sleep 10"]
    assert oar.command(["oarstat"], user="exp", tz="UTC")[2] == "exp"


CONF = """# comment
DB_BASE_PASSWD=""
DB_BASE_PASSWD_RO=""
PINGCHECKER_SENTINELLE_SCRIPT_COMMAND="/usr/lib/oar/sentinelle.pl -t 30 -w 20"
#PINGCHECKER_GENERIC_COMMAND="/path/to/command arg1 arg2"
JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD="cpuset"
LOG_LEVEL="2"
"""


def test_edit_conf_sets_comments_appends_and_is_idempotent():
    new = oar.edit_conf(CONF)
    assert 'DB_BASE_PASSWD="oar"' in new.splitlines()
    assert 'DB_BASE_PASSWD_RO="oar_ro"' in new.splitlines()
    assert '#PINGCHECKER_SENTINELLE_SCRIPT_COMMAND="/usr/lib/oar/sentinelle.pl -t 30 -w 20"' in new
    assert '#JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD="cpuset"' in new
    assert 'PINGCHECKER_GENERIC_COMMAND="/bin/true"' in new.splitlines()
    assert new.splitlines()[-1] == 'SCHEDULER_NODE_MANAGER_WAKE_UP_CMD="/etc/oar/vm5k-lab-wake-up"'
    assert 'SERVER_EPILOGUE_EXEC_FILE="/etc/oar/vm5k-lab-server-epilogue"' in new.splitlines()
    assert 'LOG_LEVEL="2"' in new
    assert oar.edit_conf(new) == new
    assert oar.edit_conf(new.rstrip("\n")) == new.rstrip("\n")  # no change: text kept as is


def test_edit_conf_drops_duplicate_active_keys():
    new = oar.edit_conf('DB_BASE_PASSWD="a"\nDB_BASE_PASSWD="b"\n', {"DB_BASE_PASSWD": "oar"}, ())
    assert new == 'DB_BASE_PASSWD="oar"\n'


def test_ssh_config_sends_every_node_home():
    text = oar.ssh_config_text()
    assert "Host *\nHostName 127.0.0.1\n" in text


def test_host_rows_one_per_core_grid5000_numbering():
    rows = oar.host_rows(HOSTS)
    assert len(rows) == 6
    assert [(r["host"], r["cpu"], r["core"], r["cpuset"]) for r in rows] == [
        ("host1.lab", 1, 1, "0"), ("host1.lab", 1, 2, "1"),
        ("host2.lab", 2, 3, "0"), ("host2.lab", 2, 4, "1"),
        ("host2.lab", 3, 5, "2"), ("host2.lab", 3, 6, "3"),
    ]
    r = rows[2]
    assert r["network_address"] == r["host"] == "host2.lab"
    assert r["ip"] == "10.77.0.12" and r["cluster"] == "lab"
    assert (r["memnode"], r["memcore"], r["cpucore"]) == (4096, 2048, 2)
    assert r["virtual"] == "ivt" and r["deploy"] == "YES" and r["type"] == "default"


@pytest.mark.parametrize("bad", [
    [{"id": "a b", "address": "10.0.0.1"}],
    [{"id": "h1", "address": "10.0.0.1"}, {"id": "h1", "address": "10.0.0.2"}],
    [{"id": "h1", "address": "not-an-ip"}],
    [{"id": "h1", "address": "10.0.0.1", "cores": 3, "cpus": 2}],
    [{"id": "h1'; DROP TABLE jobs; --", "address": "10.0.0.1"}],
])
def test_host_rows_rejects_bad_hosts(bad):
    with pytest.raises(ValueError):
        oar.host_rows(bad)


def test_subnet_rows_carry_slash_properties():
    a, b = oar.subnet_rows(["10.77.12.0/22", "10.77.16.0/21"])
    assert a["type"] == "subnet" and a["network_address"] == ""
    assert (a["subnet_address"], a["subnet_prefix"]) == ("10.77.12.0", 22)
    assert (a["slash_22"], a["slash_21"], a["slash_20"], a["slash_16"]) == (
        "10.77.12.0", "10.77.8.0", "10.77.0.0", "10.77.0.0")
    assert "slash_22" not in b and b["slash_21"] == "10.77.16.0"
    assert a["deploy"] == "YES"
    for bad in (["10.77.1.0/22"], ["10.0.0.0/8"], ["fe80::/64"], ["10.77.4.0/22", "10.77.4.0/22"]):
        with pytest.raises(ValueError):
            oar.subnet_rows(bad)


def test_vlan_kinds_like_grid5000():
    assert [oar.vlan_type(v) for v in (1, 3, 4, 9, 10, 13)] == [
        "kavlan-local", "kavlan-local", "kavlan", "kavlan", "kavlan-global", "kavlan-global"]
    rows = oar.vlan_rows([1, 4])
    assert rows[0] == {"type": "kavlan-local", "network_address": "", "vlan": "1",
                       "deploy": "YES", "besteffort": "YES"}
    with pytest.raises(ValueError):
        oar.vlan_rows([4, 4])


def _as_db(rows, first_id=1, state="Alive"):
    """Rows as the database gives them back (ids, state, NULL for other properties)."""
    out = []
    for i, r in enumerate(rows, first_id):
        d = {p: None for p in oar.PROPERTIES}
        d.update({"cpuset": "0", "besteffort": "YES"})
        d.update(r)
        d.update({"resource_id": i, "state": state})
        out.append(d)
    return out


def test_plan_from_nothing_inserts_everything_and_then_nothing():
    desired = oar.desired_rows(HOSTS, ["10.77.4.0/22"], [1, 4])
    plan = oar.plan_resources([], desired)
    assert len(plan["insert"]) == 6 + 2 + 1
    assert not plan["update"] and not plan["delete"]
    again = oar.plan_resources(_as_db(desired), desired)
    assert again == {"insert": [], "update": [], "delete": [], "kill": [], "revive": [], "standby": []}


def test_plan_follows_changed_hosts():
    old = _as_db(oar.desired_rows(HOSTS, ["10.77.8.0/21"], [4, 5]))
    new_hosts = [dict(HOSTS[0], mem_mb=2048), {"id": "host3.lab", "address": "10.77.0.13"}]
    desired = oar.desired_rows(new_hosts, ["10.77.8.0/22"], [4])
    busy = {3}          # host2.lab core 0 is in a running job
    plan = oar.plan_resources(old, desired, busy)
    assert [r["host"] for r in plan["insert"]] == ["host3.lab"]
    updated = dict(plan["update"])
    assert updated[1]["memnode"] == 2048 and updated[2]["memcore"] == 1024
    # the subnet went from /21 to /22: slash_22 set, prefix changed
    sub_id = next(r["resource_id"] for r in old if r["type"] == "subnet")
    assert updated[sub_id]["subnet_prefix"] == 22 and updated[sub_id]["slash_22"] == "10.77.8.0"
    assert plan["kill"] == [3]
    vlan5 = next(r["resource_id"] for r in old if r.get("vlan") == "5")
    assert sorted(plan["delete"]) == sorted([4, 5, 6, vlan5])


def test_plan_revives_and_ignores_foreign_types():
    desired = oar.desired_rows(HOSTS[:1], [], [])
    db = _as_db(desired, state="Suspected") + _as_db(
        [{"type": "disk", "network_address": "host1.lab"}], first_id=10)
    plan = oar.plan_resources(db, desired)
    assert plan["revive"] == [1, 2] and not plan["delete"] and not plan["insert"]


def test_resources_sql_batches_inserts_and_logs():
    desired = oar.desired_rows(HOSTS, ["10.77.4.0/22"], [4])
    sql = oar.resources_sql(oar.plan_resources([], desired))
    assert sql.count("INSERT INTO resources ") == 3     # hosts, vlans, subnets
    assert "RETURNING *" in sql and "INSERT INTO resource_logs" in sql
    assert "'host2.lab'" in sql and "'10.77.4.0'" in sql
    plan = {"insert": [], "update": [(7, {"memnode": 1024, "ip": "x'y"})], "delete": [3, 4],
            "kill": [], "revive": []}
    sql = oar.resources_sql(plan)
    assert "DELETE FROM resources WHERE resource_id IN (3,4);" in sql
    assert "UPDATE resources SET memnode = 1024, ip = 'x''y' WHERE resource_id = 7;" in sql
    assert oar.resources_sql({"insert": [], "update": [], "delete": [], "kill": [],
                              "revive": []}) == ""


def test_properties_and_admission_sql():
    sql = oar.properties_sql()
    assert "ADD COLUMN IF NOT EXISTS slash_22 VARCHAR(255);" in sql
    assert "ADD COLUMN IF NOT EXISTS core INT;" in sql
    rules = oar.admission_sql()
    assert "qr/^origin=\\S+$/" in oar.RULE_TYPES and "allow_classic_ssh" in oar.RULE_TYPES
    assert "WHERE NOT EXISTS" in rules and "SELECT 16, 'YES'" in rules
    assert oar.RULE_TYPES.startswith(oar.RULE_TYPES_HEAD)
    assert "$vm5k$" not in oar.RULE_TYPES + oar.RULE_SUBNET
