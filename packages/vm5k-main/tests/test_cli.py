"""vm5k as a user types it: --explain prints the pipe and runs nothing; the seed lines that
make sense off the lab run with --dry-run on the bundled Grid'5000 snapshot and leave
their documents in DIR."""
import json
import os
import pathlib
import shlex
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from vm5k_doc.reference import snapshot_path
from vm5k_main.translate import shell_line, translate

BIN = pathlib.Path(sys.executable).parent
FIXTURES = pathlib.Path(__file__).parent / "fixtures"
G5K = ["--platform", "g5k", "--dry-run"]
VM5K_ERA = str(pathlib.Path(snapshot_path()) / "2018-03")   # hercule, griffon, granduc...

SEED = [
    "vm5k --n_vm 100 -w 2:00:00",
    "vm5k --n_vm 20 --vm_template mytemplate.xml --vm_backing_file /path/on/g5k/image.qcow2",
    "vm5k --n_vm 100 -r hercule,griffon,graphene --host_env_file path_to_my_kadeploy_env",
    "vm5k --n_vm 100 -r lyon:4,griffon:10 -k",
    "vm5k --n_vm 100 -j 42895",
    "vm5k -i topology_file.xml -w 6:00:00",
    "vm5k --n_vm 6 -w 0:30:00",
]
DOCS = ["topo.json", "oar.json", "net.json", "hosts.json", "deployment.json"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mytemplate.xml").write_text('<vm mem="4096" hdd="10" n_cpu="4" cpuset="auto"/>\n')
    (tmp_path / "topology_file.xml").write_bytes((FIXTURES / "topology_file.xml").read_bytes())
    return tmp_path


def vm5k(line, cwd, env=None):
    return subprocess.run([str(BIN / "vm5k"), *shlex.split(line)[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PATH": f"{BIN}:/usr/bin:/bin", **(env or {})})


@pytest.mark.parametrize("line", SEED)
def test_explain_prints_the_pipe_and_runs_nothing(workdir, line):
    before = sorted(p.name for p in workdir.iterdir())
    done = vm5k(f"{line} --explain", workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shell_line(translate(shlex.split(line)[1:])) + "\n"
    assert done.stdout.startswith("vm5k-topo ") and done.stdout.count(" | ") == 4
    assert sorted(p.name for p in workdir.iterdir()) == before      # no DIR made


def test_explain_quotes_values_for_the_shell(workdir):
    done = vm5k("vm5k --explain -t '<vm mem=\"512\"/>' --events 'my events.ndjson'", workdir)
    argvs = [shlex.split(part) for part in done.stdout.strip().split(" | ")]
    assert argvs[0] == ["vm5k-topo", "-t", '<vm mem="512"/>', "--events", "my events.ndjson"]


def check_dir(out, stdout, docs, extra=()):
    """DIR holds the documents reached, vm5k's state XML and lists from the last one; the
    last lines printed are the VMs of that document."""
    names = {p.name for p in out.iterdir()}
    assert {*docs, "final_topo.xml", "hosts.list", "vms.list", *extra} <= names
    # no other document, no other picture (vm5k-net's list writer may add lists of its own)
    assert {n for n in names if n.endswith((".json", ".xml", ".png"))} == {*docs, "final_topo.xml", *extra}
    last = json.loads((out / docs[-1]).read_text())
    xml = ElementTree.parse(out / "final_topo.xml").getroot()
    assert xml.tag == "vm5k" and len(xml.findall(".//vm")) == len(last["vms"])
    assert (out / "hosts.list").read_text().split() == [h["id"] for h in last.get("hosts", [])]
    assert (out / "vms.list").read_text().splitlines() == [f"{vm['ip']}\t{vm['id']}" for vm in last["vms"] if vm.get("ip")]
    summary = stdout.splitlines()[-len(last["vms"]):]
    assert summary == [f"{vm['id']}\t{vm.get('host') or '-'}\t{vm.get('ip') or '-'}\t{vm['state']}" for vm in last["vms"]]
    return last


def test_seed_100_vms_2_hours_dry_run(workdir):
    done = vm5k("vm5k --n_vm 100 -w 2:00:00 -o out " + " ".join(G5K), workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = check_dir(workdir / "out", done.stdout, DOCS)
    assert doc["vm5k"]["stages"] == ["topo", "oar", "net", "hosts", "vms"] and doc["vm5k"]["dry_run"] is True
    assert len(doc["vms"]) == 100 and all(vm["ip"] for vm in doc["vms"])
    oar = json.loads((workdir / "out" / "oar.json").read_text())
    assert oar["reservation"]["jobs"][0]["walltime"] == "2:00:00"
    assert done.stderr.splitlines()[-1] == f"vm5k: out: {' '.join(DOCS)} final_topo.xml hosts.list vms.list"


def test_seed_template_file_and_backing_file_dry_run(workdir):
    line = SEED[1] + " -o out " + " ".join(G5K)
    done = vm5k(line, workdir, env={"VM5K_IMAGE_DIRS": "/path/on/g5k"})
    assert done.returncode == 0, done.stderr[-2000:]
    doc = check_dir(workdir / "out", done.stdout, DOCS)
    assert len(doc["vms"]) == 20
    assert {(vm["mem"], vm["n_cpu"], vm["backing_file"]) for vm in doc["vms"]} == {(4096, 4, "/path/on/g5k/image.qcow2")}


@pytest.mark.parametrize("line, wanted", [
    (SEED[2], {"hercule": 4}),
    (SEED[3], {"lyon": 4, "griffon": 10, "kavlan": 1}),
    (SEED[5], {"granduc": 4, "hercule": 1, "orion": 2}),
])
def test_seed_lines_on_retired_clusters_dry_run(workdir, line, wanted):
    """hercule, griffon, granduc are only in the vm5k-era snapshot: topo and oar plan them;
    a stage that cannot go on stops the chain with one line, its document kept."""
    done = vm5k(f"{line} -o out --reference {VM5K_ERA} " + " ".join(G5K), workdir)
    assert done.returncode in (0, 2), done.stderr[-2000:]
    order = ["topo.json", "oar.json", "hosts.json", "net.json", "deployment.json"] if " -k" in line else DOCS
    reached = [d for d in order if (workdir / "out" / d).exists()]
    assert reached == order[:len(reached)] and reached[:2] == ["topo.json", "oar.json"]
    assert json.loads((workdir / "out" / "topo.json").read_text())["reservation"]["wanted"] == wanted
    last = check_dir(workdir / "out", done.stdout, reached)
    if done.returncode:
        assert len(reached) < 5 and not last["events"][-1]["ok"]
        assert f"{last['events'][-1]['message']}" in done.stderr


def test_griffon_without_the_vm5k_era_reference_stops_at_topo(workdir):
    done = vm5k(f"{SEED[3]} -o out " + " ".join(G5K), workdir)
    assert done.returncode == 2
    assert "vm5k-topo: error: -r: unknown site or cluster 'griffon'" in done.stderr
    check_dir(workdir / "out", done.stdout, ["topo.json"])


def test_bare_job_id_off_the_lab_stops_at_oar_and_stale_documents_go(workdir):
    (workdir / "out").mkdir()
    (workdir / "out" / "deployment.json").write_text("{}")     # from an earlier run
    done = vm5k(f"{SEED[4]} -o out " + " ".join(G5K), workdir)
    assert done.returncode == 2
    assert "vm5k-oar: error: -j '42895': give site:id" in done.stderr
    check_dir(workdir / "out", done.stdout, ["topo.json", "oar.json"])


def test_plot_draws_the_last_document(workdir):
    done = vm5k("vm5k -n 4 --plot -o out " + " ".join(G5K), workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    check_dir(workdir / "out", done.stdout, DOCS, extra=["final_topo.png"])
    assert (workdir / "out" / "final_topo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert done.stderr.splitlines()[-1].endswith("vms.list final_topo.png")


def test_default_dir_is_fresh_and_dated(workdir):
    first = vm5k("vm5k -n 2 -q " + " ".join(G5K), workdir)
    second = vm5k("vm5k -n 2 -q " + " ".join(G5K), workdir)
    assert first.returncode == second.returncode == 0, first.stderr
    dirs = sorted(p.name for p in workdir.iterdir() if p.name.startswith("vm5k_"))
    assert len(dirs) == 2 and all(len(d.split("_")[1]) == 8 and len(d.split("_")[2]) == 6 for d in dirs)
    for d in dirs:
        assert (workdir / d / "deployment.json").exists()


@pytest.mark.parametrize("line, message", [
    ("vm5k --aptcacher -n 2", "vm5k: error: --aptcacher: not supported: no stage deploys an apt cache"),
    ("vm5k -p run.sh -n 2", "vm5k: error: --program: not supported"),
    ("vm5k -j 'lyon:1;reboot'", "vm5k: error: -j 'lyon:1;reboot': a job is [SITE:]NUMBER"),
    ("vm5k --n_vm two", "vm5k: error: Invalid value for '-n' / '--n_vm'"),
])
def test_bad_usage_is_one_line_and_exit_2(workdir, line, message):
    done = vm5k(line, workdir)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
    assert not any(p.name.startswith("vm5k_") for p in workdir.iterdir())
