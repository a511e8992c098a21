"""vm5k-hosts' output at scale without the lab: Steps over 120 hosts (a local shell stands in
for ssh), 4 changes per host, 3 hosts failing. At default verbosity two lines (the summary,
the KO list), where one line per host change used to be ~500; -v gives them all."""
import logging
import time

import pytest
from vm5k_doc.events import EventLog
from vm5k_doc.ssh import Ssh
from vm5k_doc.stage import StageContext
from vm5k_hosts.stage import Steps

LOCAL_SSH = '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift; shift\nexec sh -c "$*"\n'
N_HOSTS, BAD = 120, {"h7", "h50", "h99"}


@pytest.fixture
def conn(tmp_path):
    program = tmp_path / "ssh"
    program.write_text(LOCAL_SSH)
    program.chmod(0o755)
    return Ssh(program=str(program))


def deploy(conn, caplog, level):
    hosts = [{"id": f"h{i}", "address": f"10.0.0.{i}", "state": "reserved"} for i in range(N_HOSTS)]
    ctx = StageContext(stage="hosts", doc={"hosts": hosts}, events=EventLog("hosts"))
    caplog.set_level(level, logger="vm5k")
    began = time.monotonic()
    steps = Steps(ctx, hosts, conn)
    steps.run("check", lambda h: "exit 1" if h["id"] in BAD else "true")

    def prepared(host, result):
        steps.changed(host, [line[len("changed: "):] for line in result.stdout.splitlines()])

    steps.run("prepare", lambda h: "for w in packages bridge libvirtd network; do echo changed: $w; done",
              prepared)
    steps.report(began)
    return hosts, [r.getMessage() for r in caplog.records if r.name.startswith("vm5k")]


def test_default_two_lines_for_120_hosts(conn, caplog):
    hosts, lines = deploy(conn, caplog, logging.INFO)
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{N_HOSTS - 3} hosts ready, 3 KO in ") and "check " in lines[0] \
        and "prepare " in lines[0] and lines[0].endswith(f"; {4 * (N_HOSTS - 3)} changes"), lines[0]
    assert lines[1].startswith("KO: h7, h50, h99: check: "), lines[1]     # one line, grouped by message
    assert sum(h["state"] == "KO" for h in hosts) == 3


def test_verbose_gives_every_host_line(conn, caplog):
    _, lines = deploy(conn, caplog, logging.DEBUG)
    assert sum(": changed: " in line for line in lines) == 4 * (N_HOSTS - 3)
    assert sum(": KO at check: " in line for line in lines) == 3
    assert "prepare: 117 hosts in" in " ".join(lines)
