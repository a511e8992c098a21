"""The OAR server's processes, each started once and stopped by the pid it recorded:
oar-node's sshd (port 6667), oar-server (Almighty, port 6666, with its children), a
notifier that runs ``oarnotify Term`` every ``NOTIFY_PERIOD`` s so that advance
reservations start on time (Almighty alone schedules every 60 s), the REST API server
(port 6668, see api; when Debian's oar-restful-api is installed) and the jobs' oarexecs.
Stale pid files are recognised (the pid is gone or is another program) and removed.
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import sys
from pathlib import Path

from ..state import (
    alive,
    descendants,
    pidfile_alive,
    read_pid,
    stop_pid,
    stop_pids,
    wait_for,
)
from . import api
from .commands import OarError, run
from .config import OAR_SSHD_CONF

log = logging.getLogger("vm5k_lab.oar")

SERVER_PORT = 6666
NOTIFY_PERIOD = 3                  # seconds between two `oarnotify Term`

SERVER_PIDFILE = Path("/var/run/oar-server.pid")       # written by /usr/sbin/oar-server
NODE_PIDFILE = Path("/var/run/oar-node_sshd.pid")      # the name Debian's init script uses
RUN_DIR = Path("/run/vm5k-lab-oar")
NOTIFIER_PIDFILE = RUN_DIR / "notifier.pid"
ALMIGHTY_PIDS = RUN_DIR / "almighty.pids"              # Almighty and its long-lived children
OAREXEC_DIR = Path("/tmp/oar_runtime")                 # pid_of_oarexec_for_jobId_N
API_PIDFILE = RUN_DIR / "api.pid"
API_MODULE = "vm5k_lab.oar.api"


# ---------------------------------------------------------------- oar-node's sshd

def node_sshd_pid() -> int | None:
    return pidfile_alive(NODE_PIDFILE, cmdline=str(OAR_SSHD_CONF), drop_stale=True)


def start_node_sshd() -> int:
    pid = node_sshd_pid()
    if pid:
        return pid
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run(["/usr/sbin/sshd", "-f", OAR_SSHD_CONF, "-o", f"PidFile={NODE_PIDFILE}"])
    wait_for(lambda: pidfile_alive(NODE_PIDFILE, cmdline=str(OAR_SSHD_CONF)), 5)
    pid = node_sshd_pid()
    if not pid:
        raise OarError("oar-node sshd did not start (port 6667)")
    return pid


def stop_node_sshd() -> None:
    stop_pid(node_sshd_pid(), timeout=5, tree=True)
    NODE_PIDFILE.unlink(missing_ok=True)


# ---------------------------------------------------------------- Almighty

def server_pid() -> int | None:
    return pidfile_alive(SERVER_PIDFILE, cmdline="Almighty", drop_stale=True)


def listener(port: int) -> int | None:
    """The pid of the process listening on TCP `port` (from /proc/net/tcp and fds)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    if not inodes:
        return None
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                t = os.readlink(fd)
                if t.startswith("socket:[") and t[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    return None


def almighty_pids() -> list[int]:
    """Almighty's processes, from the pid file, the pids recorded at start and the
    listener of SERVER_PORT, each checked to be an Almighty process, with descendants."""
    pids = set()
    cand = [read_pid(SERVER_PIDFILE), listener(SERVER_PORT)]
    try:
        cand += [int(x) for x in ALMIGHTY_PIDS.read_text().split()]
    except (OSError, ValueError):
        pass
    for pid in cand:
        if alive(pid, cmdline="Almighty"):
            pids.add(pid)
            pids.update(descendants(pid))
    return sorted(pids)


def record_almighty(pid: int) -> None:
    wait_for(lambda: len(descendants(pid)) >= 2, 3)
    pids = {pid, *descendants(pid)}
    try:
        pids.update(int(x) for x in ALMIGHTY_PIDS.read_text().split()
                    if alive(int(x), cmdline="Almighty"))
    except (OSError, ValueError):
        pass
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    ALMIGHTY_PIDS.write_text(" ".join(str(p) for p in sorted(pids)) + "\n")


def stop_almighty(timeout: float = 10) -> bool:
    pids = almighty_pids()
    stop_pids(pids, timeout)
    SERVER_PIDFILE.unlink(missing_ok=True)
    ALMIGHTY_PIDS.unlink(missing_ok=True)
    return bool(pids)


def start_server() -> int:
    pid = server_pid()
    if not pid:
        if almighty_pids():             # leftovers of a killed run (orphaned children)
            log.info("stopping the leftovers of a killed Almighty")
            stop_almighty(timeout=3)    # orphaned children may ignore TERM
        env = dict(os.environ, LANG="C")
        run(["/usr/sbin/oar-server"], env=env)
        # the pid file names the child, which then execs Almighty
        wait_for(lambda: alive(read_pid(SERVER_PIDFILE), cmdline="Almighty"), 10)
        pid = server_pid()
        if not pid:
            raise OarError("oar-server did not start (see /var/log/oar.log)")
        record_almighty(pid)
    if not wait_for(lambda: listener(SERVER_PORT) in almighty_pids(), 15):
        raise OarError(f"Almighty (pid {pid}) does not listen on port {SERVER_PORT}")
    return pid


# ---------------------------------------------------------------- the notifier

def notifier_pid() -> int | None:
    return pidfile_alive(NOTIFIER_PIDFILE, cmdline="oarnotify", drop_stale=True)


def start_notifier() -> int:
    pid = notifier_pid()
    if pid:
        return pid
    script = (f"while :; do sleep {NOTIFY_PERIOD}; "
              "/usr/sbin/oarnotify Term >/dev/null 2>&1; done")
    p = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    p.returncode = 0            # never waited for; no "still running" warning
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    NOTIFIER_PIDFILE.write_text(f"{p.pid}\n")
    return p.pid


def stop_notifier() -> None:
    stop_pid(notifier_pid(), timeout=2, tree=True)
    NOTIFIER_PIDFILE.unlink(missing_ok=True)


# ---------------------------------------------------------------- the REST API

def api_pid() -> int | None:
    return pidfile_alive(API_PIDFILE, cmdline=API_MODULE, drop_stale=True)


def start_api() -> int | None:
    """The lab's API server (OAR's REST API and the Grid'5000 API of site lab, see api);
    None when Debian's oar-restful-api is not installed."""
    if not api.CGI.exists():
        return None
    pid = api_pid()
    if pid:
        return pid
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / "api.log", "ab") as err:
        p = subprocess.Popen([sys.executable, "-m", API_MODULE, str(api.PORT)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, close_fds=True)
    p.returncode = 0            # never waited for; no "still running" warning
    API_PIDFILE.write_text(f"{p.pid}\n")
    if not wait_for(lambda: listener(api.PORT) == p.pid, 10):
        raise OarError(f"the API server (pid {p.pid}) does not listen on port {api.PORT} "
                       f"(see {RUN_DIR / 'api.log'})")
    return p.pid


def stop_api() -> None:
    stop_pid(api_pid(), timeout=3)
    API_PIDFILE.unlink(missing_ok=True)


# ---------------------------------------------------------------- the jobs' oarexecs

def proc_owner(pid: int) -> str | None:
    try:
        return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        return None


def stop_oarexecs() -> None:
    """The jobs' oarexec processes (detached from the server), from their pid files."""
    if not OAREXEC_DIR.is_dir():
        return
    for f in OAREXEC_DIR.glob("pid_of_oarexec_for_jobId_*"):
        pid = read_pid(f)
        if alive(pid) and proc_owner(pid) == "oar":
            stop_pid(pid, timeout=3, tree=True)
        f.unlink(missing_ok=True)
