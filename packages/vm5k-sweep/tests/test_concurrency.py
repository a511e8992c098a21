"""Crash safety and parallelism: every combination finishes exactly once."""
import collections
import json
import os
import shlex
import signal
import time


# The command records a combination as finished by appending its key as its very last
# act, so the log counts completions; a duplicate line would be a combination run twice.
def finishing_cmd(log, sleep):
    return ["sh", "-c", f'sleep {sleep}; echo "$VM5K_SWEEP_KEY $(date +%s.%N) {sleep}" >> {shlex.quote(str(log))}']


def logged(log):
    return collections.Counter(line.split()[0] for line in log.read_text().splitlines())


def n_done(d):
    n = 0
    for p in d.glob("runs/*/run.json"):
        try:
            n += json.loads(p.read_text())["state"] == "done"
        except ValueError:
            pass
    return n


def test_sigkill_halfway_then_rerun_finishes_each_combination_exactly_once(tmp_path, popen_cli, cli, status, records):
    d, log = tmp_path / "d", tmp_path / "log"
    args = ["run", "-q", d, "-p", "a=1,2,3,4", "-p", "b=x,y", "--", *finishing_cmd(log, 0.4)]
    p = popen_cli(*args, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (n_done(d) >= 3 and any(r.get("pgid") for r in records(d).values())) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)  # the runner's whole process group, mid-combination
    p.wait()
    s = status(d)
    assert s["counts"]["done"] == 3 and s["counts"]["stale"] == 1, s["counts"]  # execo would keep it "inprogress"
    stale = [c["key"] for c in s["combinations"] if c["state"] == "stale"][0]
    time.sleep(0.6)  # let an orphan, if any survived the runner, finish: it must not log
    cli(*args, check=0)
    assert logged(log) == {k: 1 for k in s_keys(s)}
    assert status(d)["counts"]["done"] == 8
    recs = records(d)
    assert recs[stale]["attempts"] == 2 and "dead claimer" in recs[stale]["note"]
    assert sum(r["attempts"] for r in recs.values()) == 9


def s_keys(s):
    return [c["key"] for c in s["combinations"]]


def max_overlap(log):
    ends = [(float(t), float(t) - float(dur)) for _, t, dur in (line.split() for line in log.read_text().splitlines())]
    events = sorted([(s, 1) for _, s in ends] + [(e, -1) for e, _ in ends])
    cur = best = 0
    for _, inc in events:
        cur += inc
        best = max(best, cur)
    return best


def test_jobs_3_runs_in_parallel_without_duplicates(tmp_path, cli, status):
    d, log = tmp_path / "d", tmp_path / "log"
    cli("run", "-q", d, "-j", "3", "-p", "n=1,2,3,4,5,6,7,8,9", "--", *finishing_cmd(log, 0.5), check=0)
    assert logged(log) == {f"n={i}": 1 for i in range(1, 10)}
    assert max_overlap(log) == 3  # three at once, never more: parallel, not timed
    assert status(d)["counts"]["done"] == 9


def test_two_concurrent_runs_on_one_dir_share_the_work(tmp_path, popen_cli, records):
    d, log = tmp_path / "d", tmp_path / "log"
    args = ["run", "-q", d, "-j", "2", "-p", "n=1,2,3,4,5,6", "-p", "m=a,b", "--", *finishing_cmd(log, 0.3)]
    ps = [popen_cli(*args) for _ in range(2)]
    assert [p.wait(60) for p in ps] == [0, 0], [p.stderr.read() for p in ps]
    assert logged(log) == {f"n={n},m={m}": 1 for n in range(1, 7) for m in "ab"}
    recs = records(d)
    assert all(r["attempts"] == 1 and r["state"] == "done" for r in recs.values())
    assert len({r["claimed_by"]["pid"] for r in recs.values()}) == 2  # both did some


def test_sigterm_puts_running_combinations_back_to_todo(tmp_path, popen_cli, cli, records):
    d, log = tmp_path / "d", tmp_path / "log"
    args = ["run", "-q", d, "-j", "2", "-p", "n=1,2,3", "--", *finishing_cmd(log, 30)]
    p = popen_cli(*args)
    deadline = time.monotonic() + 30
    while sum(r.get("pgid") is not None for r in records(d).values()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 130
    recs = records(d)
    assert [r["state"] for r in recs.values()] == ["todo", "todo"] and recs["n=1"]["note"] == "interrupted"
    assert not log.exists()  # the sleeping commands were stopped, not left to finish
