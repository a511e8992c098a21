"""The CLI as a user meets it: exit statuses, one-line errors, state on disk, results."""
import csv
import io
import json
import sys

import pytest


@pytest.mark.parametrize("args, msg", [
    (["-p", "n"], "bad parameter 'n'"),
    (["-p", "n=1", "-p", "k[x=1]=2"], "no parameter x"),
    (["-p", "n=1,2", "--filter", "n >"], "bad filter"),
    (["-p", "n=1,2", "--filter", "n > 5"], "empty grid"),
    (["-p", "n=1", "--bogus"], "No such option"),
    ([], "no sweep here"),
])
def test_bad_input_exits_2_with_one_line(cli, tmp_path, args, msg):
    p = cli("run", tmp_path / "d", *args, "--", "true", check=2)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("vm5k-sweep: error: ") and msg in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert not (tmp_path / "d").exists()  # nothing written on bad input


def test_foreign_dir_exits_2(cli, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    p = cli("run", tmp_path / "d", "-p", "n=1", "--", "true", check=2)
    assert p.stderr.count("\n") == 1 and "not a vm5k-sweep directory" in p.stderr
    assert sorted(x.name for x in (tmp_path / "d").iterdir()) == ["notes.txt"]


def test_dir_of_another_sweep_exits_2(cli, tmp_path):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1,2", "--", "true", check=0)
    for other in (["-p", "n=1,3", "--", "true"], ["-p", "n=1,2", "--filter", "n < 2", "--", "true"],
                  ["-p", "n=1,2", "--", "false"]):
        p = cli("run", d, *other, check=2)
        assert p.stderr.count("\n") == 1 and "holds another sweep" in p.stderr
    cli("run", d, "-p", "n=1,2", check=0)  # same grid, CMD omitted: the stored one
    cli("run", d, check=0)                  # nothing at all: resume as stored


def test_verbose_shows_the_traceback(cli, tmp_path):
    p = cli("run", "-v", tmp_path / "d", "-p", "n", "--", "true", check=2)
    assert "Traceback" in p.stderr and p.stderr.rstrip().endswith("NAME[PARENT=VALUE]=V1,V2")


def test_run_substitutes_quotes_and_exports_parameters(cli, tmp_path):
    d = tmp_path / "d"
    script = 'printf "%s|%s|%s|%s|%s\\n" {n} "$VM5K_P_N" "$VM5K_P_K" "$VM5K_SWEEP_KEY" "${n-unset}"'
    cli("run", "-q", d, "-p", "n=1,a b;touch pwned", "-p", "k[n=1]=x", "--", "sh", "-c", script, check=0)
    assert (d / "runs/n=1,k=x/stdout").read_text() == "1|1|x|n=1,k=x|unset\n"
    assert (d / "runs/n=a%20b%3Btouch%20pwned/stdout").read_text() == "a b;touch pwned|a b;touch pwned||n=a%20b%3Btouch%20pwned|unset\n"
    argv = json.loads((d / "runs/n=1,k=x/run.json").read_text())["argv"]
    assert argv[2].startswith('printf "%s|%s|%s|%s|%s\\n" "$VM5K_P_N" "$VM5K_P_N"')  # a reference, not the value
    assert not (tmp_path / "pwned").exists() and not (d / "pwned").exists()
    assert json.loads((d / "runs/n=1,k=x/params.json").read_text()) == {"n": "1", "k": "x"}
    spec = json.loads((d / "sweep.json").read_text())
    assert spec["grid"] == {"n": {"1": {"k": ["x"]}, "a b;touch pwned": {}}} and spec["command"][0] == "sh"


def test_failures_exit_3_and_retry_failed_reruns_them(cli, tmp_path, status, records):
    d, flag = tmp_path / "d", tmp_path / "fixed"
    cmd = ["sh", "-c", f'[ {{n}} != 2 ] || [ -e {flag} ]']
    p = cli("run", d, "-p", "n=1,2,3", "--", *cmd, check=3)
    assert "failed n=2 (exit 1" in p.stderr
    assert status(d)["counts"] | {} == {"todo": 0, "running": 0, "stale": 0, "done": 2, "failed": 1, "skipped": 0}
    cli("run", d, check=3)  # a plain rerun leaves failures alone
    flag.touch()
    cli("run", d, "--retry-failed", check=0)
    recs = records(d)
    assert recs["n=2"]["state"] == "done" and recs["n=2"]["attempts"] == 2 and recs["n=1"]["attempts"] == 1


def test_retry_failed_tries_each_failure_once_per_invocation(cli, tmp_path, records):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1,2", "--", "false", check=3)
    cli("run", "-q", d, "--retry-failed", "-j", "2", check=3)
    assert [r["attempts"] for r in records(d).values()] == [2, 2]


def test_skip_and_reset(cli, tmp_path, status):
    d = tmp_path / "d"
    log = tmp_path / "log"
    cmd = ["sh", "-c", f'echo "$VM5K_P_N" >> {log}']
    cli("skip", d, "--all", check=2)  # no sweep yet
    cli("run", "-q", d, "-p", "n=1,2,3,4", "--dry-run", "--", *cmd, check=0)
    assert not d.exists()  # --dry-run writes nothing
    cli("run", "-q", d, "-p", "n=1,2,3,4", "--filter", "n < 3", "--", *cmd, check=0)
    p = cli("skip", d, check=2)
    assert "say which combinations" in p.stderr
    cli("reset", d, "n=9", check=2)
    cli("skip", d, "n=1", check=0)
    assert status(d)["counts"]["skipped"] == 1
    cli("reset", d, "--filter", "n == 2", check=0)
    cli("run", "-q", d, check=0)
    assert log.read_text().split() == ["1", "2", "2"]
    cli("reset", d, "--state", "skipped", check=0)
    cli("run", "-q", d, check=0)
    assert log.read_text().split() == ["1", "2", "2", "1"]
    cli("reset", d, "--all", check=0)
    assert status(d)["counts"]["todo"] == 2


def test_timeout_fails_the_combination(cli, tmp_path, records):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1", "--timeout", "0.3", "--", "sleep", "30", check=3)
    r = records(d)["n=1"]
    assert r["state"] == "failed" and r["timeout"] is True and r["exit"] == 128 + 15 and r["duration"] < 5


def test_missing_command_fails_with_127(cli, tmp_path, records):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1", "--", "no-such-command-xyz", check=3)
    assert records(d)["n=1"]["exit"] == 127
    assert "cannot run 'no-such-command-xyz'" in (d / "runs/n=1/stderr").read_text()


DOC = """import json, os, sys
n = int(os.environ["VM5K_P_N"])
doc = {"vm5k": {"version": 1}, "vms": [{"id": f"vm-{i}", "timings": {"ssh": n + i / 10}} for i in range(n)]}
if os.environ.get("VM5K_P_HOW") == "file":
    json.dump(doc, open(os.environ["VM5K_SWEEP_DOC"], "w"))
else:
    print(json.dumps(doc))
"""


def test_results_join_parameters_outcome_and_document_fields(cli, tmp_path, records):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1,2", "-p", "how=stdout,file", "--", sys.executable, "-c", DOC, check=0)
    assert all((d / "runs" / k / "deployment.json").exists() for k in records(d))
    p = cli("results", d, "--field", "boot_max=max(vms[].timings.ssh)", "--field", "boot=vms[].timings.ssh",
            "--field", "first=vms[0].id", "--field", "nvm=count(vms[])", "--field", "nope=x.y[3]", check=0)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert list(rows[0]) == ["key", "n", "how", "state", "exit", "attempts", "start", "end", "duration",
                             "boot_max", "boot", "first", "nvm", "nope"]
    r = rows[3]
    assert (r["key"], r["n"], r["how"], r["state"], r["exit"]) == ("n=2,how=file", "2", "file", "done", "0")
    assert (r["boot_max"], r["boot"], r["first"], r["nvm"], r["nope"]) == ("2.1", "[2.0, 2.1]", "vm-0", "2", "")
    assert float(r["duration"]) >= 0
    p = cli("results", d, "--format", "jsonl", "--field", "b=vms[].timings.ssh", "--filter", "n == 1", check=0)
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["b"] for x in lines] == [[1], [1]]


@pytest.mark.parametrize("field", ["boot", "b=avg(x)", "b=x..y", "key=x"])
def test_bad_fields_exit_2(cli, tmp_path, field):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1", "--", "true", check=0)
    p = cli("results", d, "--field", field, check=2)
    assert p.stderr.count("\n") == 1


def test_status_json(cli, tmp_path, status):
    d = tmp_path / "d"
    cli("run", "-q", d, "-p", "n=1,2", "--", "true", check=0)
    s = status(d)
    assert s["total"] == 2 and s["counts"]["done"] == 2 and s["command"] == ["true"]
    assert [(c["key"], c["params"], c["state"], c["exit"]) for c in s["combinations"]] == [
        ("n=1", {"n": "1"}, "done", 0), ("n=2", {"n": "2"}, "done", 0)]


def test_help_and_version(cli):
    assert "Exit status" in cli("--help", check=0).stdout
    for sub in ("run", "status", "results", "reset", "skip"):
        assert "Usage: vm5k-sweep " + sub in cli(sub, "--help", check=0).stdout
    assert cli("--version", check=0).stdout.startswith("vm5k-sweep, version")
