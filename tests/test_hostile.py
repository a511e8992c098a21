"""Hostile input against every command, as a user (or a shared document) can give it.

Each case runs the real command with `-q`, and a PATH whose ssh, scp, virsh, oarsub,
oardel, qemu-img and taktuk only leave a mark: every case must be refused before any of
them runs. Each asserts the exit status, exactly one stderr line `vm5k-X: error: ...`
naming the problem, no traceback, no mark (no injected command ran, nothing was copied),
and, where the stage had read a valid document, the document on stdout with the failure
recorded. No lab needed: documents come from the Grid'5000 snapshot in --dry-run.
"""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
TOOLS = ("ssh", "scp", "virsh", "oarsub", "oardel", "oarstat", "qemu-img", "taktuk", "kadeploy3", "kavlan")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A PATH of stand-ins that mark when run, and a marker any injection would create."""
    root = tmp_path_factory.mktemp("hostile")
    tools = root / "bin"
    tools.mkdir()
    for tool in TOOLS:
        path = tools / tool
        path.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {root}/ran\nexit 1\n")
        path.chmod(0o755)
    return root


def run(sandbox, command, *args, stdin=b"", env=None):
    path = f"{sandbox}/bin:{BIN}:/usr/bin:/bin"
    environment = {"PATH": path, "HOME": str(sandbox), "VM5K_LAB": "/nonexistent", **(env or {})}
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    return subprocess.run([str(BIN / command), "-q", *args] if command != "vm5k-doc" else [str(BIN / command), *args],
                          input=data, capture_output=True, timeout=120, env=environment, cwd=sandbox)


def stage_doc(sandbox, upto):
    """The document after the stages up to `upto`, planned on lyon (4 VMs, 2 hosts)."""
    out = run(sandbox, "vm5k-topo", "--platform", "g5k", "--dry-run", "-n", "4", "-r", "lyon:2").stdout
    for stage in ("oar", "net", "hosts")[:("topo", "oar", "net", "hosts").index(upto)]:
        out = run(sandbox, f"vm5k-{stage}", "--dry-run", stdin=out).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def docs(sandbox):
    return {stage: stage_doc(sandbox, stage) for stage in ("topo", "oar", "net", "hosts")}


def check(sandbox, result, command, says, status=2, document=None):
    err = result.stderr.decode(errors="replace")
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert result.returncode == status, err
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), err
    assert says in lines[0], lines[0]
    assert not (sandbox / "ran").exists(), (sandbox / "ran").read_text()
    assert not (sandbox / "pwned").exists()
    assert not list(sandbox.glob("**/x.qcow2"))
    if document == "written":
        doc = json.loads(result.stdout)
        assert doc["events"][-1]["status"] == status
    elif document == "none":
        assert result.stdout == b""


INJECT = ["x;touch pwned", "$(touch pwned)", "`touch pwned`", "-oProxyCommand=touch pwned", "x\ntouch pwned",
          "x' or ('1'='1", "../../../tmp/x", "x y", "vm-1\n"]

# ------------------------------------------------------------------ values inside documents
# (stage that reads it, where, rule broken): the schema and the layer refuse them at read

PLACES = [
    ("oar", lambda d, v: d["vms"][0].update(id=v), "$.vms[0].id"),
    ("oar", lambda d, v: d["request"]["blacklist"].append(v), "$.request.blacklist[0]"),
    ("oar", lambda d, v: d["reservation"]["wanted"].update({v: 1}), "$.reservation.wanted"),
    ("net", lambda d, v: d["hosts"][0].update(address=v), "$.hosts[0].address"),
    ("net", lambda d, v: d["hosts"][1].update(id=v), "$.hosts[1].id"),
    ("hosts", lambda d, v: d["network"].update(domain=v), "$.network.domain"),
    ("hosts", lambda d, v: d["vms"][0].update(mac=v), "$.vms[0].mac"),
    ("hosts", lambda d, v: d["vms"][0].update(cpuset=v), "$.vms[0].cpuset"),
    ("hosts", lambda d, v: d["vms"][1].update(ip=v), "$.vms[1].ip"),
]


@pytest.mark.parametrize("stage, place, path", PLACES, ids=[f"{s}-{p}" for s, _, p in PLACES])
@pytest.mark.parametrize("value", INJECT[:3] + INJECT[3:5] + INJECT[8:], ids=range(6))
def test_injection_in_a_document_is_refused_at_read(sandbox, docs, stage, place, path, value):
    doc = copy.deepcopy(docs[{"oar": "topo", "net": "oar", "hosts": "net"}[stage]])
    place(doc, value)
    result = run(sandbox, f"vm5k-{stage}", "--dry-run", stdin=doc)
    check(sandbox, result, f"vm5k-{stage}", path.split("[")[0].split(".")[1], document="none")


def test_documents_that_contradict_themselves(sandbox, docs):
    cases = [
        ("vm5k-net", "oar", lambda d: d["vms"].append(dict(d["vms"][0])), "duplicate id 'vm-1'"),
        ("vm5k-hosts", "net", lambda d: d["hosts"].append(dict(d["hosts"][0])), "duplicate id"),
        ("vm5k-vms", "hosts", lambda d: d["vms"][0].update(host="nova-99.lyon.grid5000.fr"), "not one of the document's hosts"),
        ("vm5k-net", "oar", lambda d: d["events"].append({"stage": "oar", "at": "x", "ok": False, "status": 256}), "$.events"),
        ("vm5k-oar", "topo", lambda d: d["vm5k"].update(version=2), "$.vm5k.version"),
        ("vm5k-oar", "topo", lambda d: d["vm5k"].update(platform="mars"), "$.vm5k.platform"),
        ("vm5k-oar", "topo", lambda d: d["request"].update(walltime="1:00:00; touch pwned"), "$.request.walltime"),
        ("vm5k-oar", "topo", lambda d: d["vms"][0].update(mem=float("1e400") if False else -1), "$.vms[0].mem"),
        ("vm5k-oar", "topo", lambda d: d.update(reservation=[]), "$.reservation"),
        ("vm5k-vms", "hosts", lambda d: d["vms"][0].update(backing_file="x\ntouch pwned"), "$.vms[0].backing_file"),
    ]
    for command, stage, change, says in cases:
        doc = copy.deepcopy(docs[stage])
        change(doc)
        check(sandbox, run(sandbox, command, "--dry-run", stdin=doc), command, says, document="none")


# ------------------------------------------------------------------ what is read

@pytest.mark.parametrize("command", ["vm5k-oar", "vm5k-net", "vm5k-hosts", "vm5k-vms", "vm5k-doc"])
@pytest.mark.parametrize("data, says", [
    (b"", "empty input"),
    (b"[1, 2]", "a vm5k document is a JSON object"),
    (b"{\"vm5k\": ", "invalid JSON"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b"{\"vm5k\": {\"version\": 1, \"platform\": \"lab\", \"stages\": [], \"x\": \"\\udc80\"}}", "surrogate"),
    (b"\xff\xfe{}", "stdin"),
    (b"<!DOCTYPE vm5k [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><vm5k><site id=\"lyon\"><cluster id=\"nova\">"
     b"<host id=\"nova-1\"><vm id=\"&e;\"/></host></cluster></site></vm5k>", "entity"),
], ids=["empty", "array", "truncated", "deep", "surrogate", "binary", "xxe"])
def test_unreadable_input_is_one_line(sandbox, command, data, says):
    args = ("validate",) if command == "vm5k-doc" else ("--dry-run",)
    check(sandbox, run(sandbox, command, *args, stdin=data), command, says, document="none")


def test_an_input_too_big_is_refused_before_parsing(sandbox):
    data = b"{\"x-pad\": \"" + b"a" * (64 * 2**20) + b"\"}"
    check(sandbox, run(sandbox, "vm5k-net", "--dry-run", stdin=data), "vm5k-net", "refused before parsing",
          document="none")


# ------------------------------------------------------------------ flags

TOPO = ("--platform", "g5k", "--dry-run", "-n", "4", "-r", "lyon")
FLAGS = [
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-n", "abc"), "is not a valid integer"),
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-n", "0"), "-n must be between"),
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-n", "10000000"), "-n must be between"),
    ("vm5k-topo", (*TOPO, "--cpu-ratio", "nan"), "finite"),
    ("vm5k-topo", (*TOPO, "--cpu-ratio", "inf"), "finite"),
    ("vm5k-topo", (*TOPO, "--cpu-ratio", "0"), "--cpu-ratio must be between"),
    ("vm5k-topo", (*TOPO, "--seed", "-1"), "--seed must be between"),
    ("vm5k-topo", (*TOPO, "-w", "1:00:00;touch pwned"), "walltime"),
    ("vm5k-topo", (*TOPO, "-d", "everywhere"), "Invalid value for '-d'"),
    ("vm5k-topo", (*TOPO, "--platform", "mars"), "Invalid value for '--platform'"),
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-n", "4", "-r", "lyon;touch pwned"), "not a valid id"),
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-n", "4", "-r", "$(touch pwned)"), "not a valid id"),
    ("vm5k-topo", (*TOPO, "-b", "nova' or '1'='1"), "not a valid id"),
    ("vm5k-topo", (*TOPO, "-t", "<vm mem=\"nan\"/>"), "mem"),
    ("vm5k-topo", (*TOPO, "-t", "<vm backing_file=\"x\ntouch pwned\"/>"), "neither an image name nor an absolute path"),
    ("vm5k-topo", (*TOPO, "-t", "{\"cpuset\": \"0;reboot\"}"), "cpuset"),
    ("vm5k-topo", (*TOPO, "--reference", "/dev/zero"), "neither a regular file nor a directory"),
    ("vm5k-topo", (*TOPO, "--reference", "/etc/hostname"), "reference /etc/hostname"),
    ("vm5k-topo", (*TOPO, "--reference", "/nonexistent"), "no such file or directory"),
    ("vm5k-topo", ("--platform", "g5k", "--dry-run", "-i", "/nonexistent"), "cannot read /nonexistent"),
    ("vm5k-topo", (*TOPO, "--bogus"), "No such option"),
    ("vm5k-doc", ("frobnicate",), "No such command"),
]


@pytest.mark.parametrize("command, args, says", FLAGS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(FLAGS)])
def test_bad_flags_are_one_line(sandbox, command, args, says):
    check(sandbox, run(sandbox, command, *args), command, says)


STAGE_FLAGS = [
    ("vm5k-oar", "topo", ("-j", "lyon:1;touch pwned"), "-j"),
    ("vm5k-oar", "topo", ("-j", "$(touch pwned):12"), "-j site"),
    ("vm5k-oar", "topo", ("--hosts", "-oProxyCommand=touch pwned"), "not a valid id"),
    ("vm5k-oar", "topo", ("--hosts", "h1;touch pwned"), "not a valid id"),
    ("vm5k-oar", "topo", ("-w", "1:00:00 -p x"), "walltime"),
    ("vm5k-oar", "topo", ("--name", "x;touch pwned"), "--name"),
    ("vm5k-oar", "topo", ("--queue", "default' -p 'x"), "--queue"),
    ("vm5k-oar", "topo", ("--window", "tomorrow"), "--window 'tomorrow'"),
    ("vm5k-net", "oar", ("--domain", "lab\ndhcp-script=/tmp/pwned"), "--domain"),
    ("vm5k-net", "oar", ("--domain", "$(touch pwned)"), "--domain"),
    ("vm5k-net", "oar", ("--domain", "a..b"), "--domain"),
    ("vm5k-net", "oar", ("--subnet", "10.0.0.0/33"), "subnet"),
    ("vm5k-net", "oar", ("--subnet", "x;touch pwned"), "subnet"),
    ("vm5k-net", "oar", ("--reference", "/dev/zero"), "reference /dev/zero"),
    ("vm5k-vms", "hosts", ("--migrate", "vm-1=-oProxyCommand=touch pwned"), "--migrate"),
    ("vm5k-vms", "hosts", ("--migrate", "vm-1;touch pwned=nova-2.lyon.grid5000.fr"), "--migrate"),
    ("vm5k-vms", "hosts", ("--migrate", "vm-1"), "expected VM=HOST"),
    ("vm5k-vms", "hosts", ("--timeout", "nan"), "--timeout"),
    ("vm5k-vms", "hosts", ("--min", "-1"), "--min"),
]


@pytest.mark.parametrize("command, stage, args, says", STAGE_FLAGS,
                         ids=[f"{c}-{i}" for i, (c, _, _, _) in enumerate(STAGE_FLAGS)])
def test_bad_stage_flags_keep_the_document(sandbox, docs, command, stage, args, says):
    result = run(sandbox, command, "--dry-run", *args, stdin=docs[stage])
    written = "written" if result.stdout else None  # click refuses some before the document is read
    check(sandbox, result, command, says, document=written)


def test_events_in_a_missing_directory_still_writes_the_document(sandbox):
    result = run(sandbox, "vm5k-topo", *TOPO, "--events", "/nonexistent/dir/events.ndjson")
    check(sandbox, result, "vm5k-topo", "--events /nonexistent/dir/events.ndjson", document="written")


# ------------------------------------------------------------------ files a document names

def test_a_document_cannot_ship_a_local_file_to_the_hosts(sandbox, docs):
    key = sandbox / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    for path, says in (("/etc/shadow", "not under an image directory"), (str(key), "not under an image directory"),
                       ("/grid5000/virt-images/../../etc/shadow", "not under an image directory")):
        doc = copy.deepcopy(docs["net"])
        for vm in doc["vms"]:
            vm["backing_file"] = path
        result = run(sandbox, "vm5k-hosts", stdin=doc, env={"VM5K_SSH_KEY": str(key)})
        check(sandbox, result, "vm5k-hosts", says, document="written")


def test_stop_service_stops_only_our_dnsmasq(sandbox, docs):
    doc = copy.deepcopy(docs["oar"])
    doc["network"] = {"mode": "kavlan", "vlan": 4, "service_node": doc["hosts"][0]["id"],
                      "service_address": "10.0.0.1", "service_dir": "/run/dnsmasq"}
    result = run(sandbox, "vm5k-net", "--stop-service", stdin=doc)
    check(sandbox, result, "vm5k-net", "network.service_dir '/run/dnsmasq'", document="written")


def test_vm_files_stay_in_vm_directories(sandbox, docs):
    doc = copy.deepcopy(docs["hosts"])
    for host in doc["hosts"]:
        host["state"] = "ready"
        host["images"] = {"vm_dir": "/etc"}
    result = run(sandbox, "vm5k-vms", stdin=doc)
    check(sandbox, result, "vm5k-vms", "vm_dir '/etc'", document="written")


def test_no_mark_left_behind(sandbox):
    assert not (sandbox / "ran").exists() and not (sandbox / "pwned").exists()
    assert not os.path.exists("/tmp/pwned")
