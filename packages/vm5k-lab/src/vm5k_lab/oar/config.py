"""The OAR server's set-up on this machine: the submitter, a resolvable hostname, oar.conf
and OAR's ssh client configuration (each step idempotent).

- ``/etc/oar/oar.conf``: database passwords, node health always fine
  (``PINGCHECKER_GENERIC_COMMAND="/bin/true"`` instead of sentinelle), no cpuset/cgroup on
  the nodes (``JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD`` commented out);
- ``/var/lib/oar/.ssh/config``: every node name goes to the local oar-node sshd
  (127.0.0.1:6667), so jobs run on this machine, not in the netns hosts;
- ``hostname`` resolvable: oarsub gives it to the scheduler for the reservation call-back;
- the server epilogue (``SERVER_EPILOGUE_EXEC_FILE``): the end of a job does to the lab
  hosts what it does on Grid'5000 (see epilogue), through OAR's own ``oardodo``;
- the wake-up command (``SCHEDULER_NODE_MANAGER_WAKE_UP_CMD``): OAR wakes a node in standby
  (Absent with ``available_upto`` in the future) for a job; a lab node's daemons already
  run, so waking it is setting it Alive, as a Grid'5000 node reports itself after booting.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import socket
import sys
from pathlib import Path

from ..state import state_dir
from .commands import USER, OarError, run
from .database import DB_PASSWD, DB_PASSWD_RO

NODE_PORT = 6667                   # oar-node's sshd (port set by Debian's /etc/oar/sshd_config)
OAR_CONF = Path("/etc/oar/oar.conf")
OAR_SSHD_CONF = Path("/etc/oar/sshd_config")
OAR_SSH_CONFIG = Path("/var/lib/oar/.ssh/config")
MANAGED_MARK = "# vm5k-lab"
EPILOGUE_SCRIPT = Path("/etc/oar/vm5k-lab-server-epilogue")
WAKE_UP_SCRIPT = Path("/etc/oar/vm5k-lab-wake-up")
OARDODO = "/usr/lib/oar/oardodo/oardodo"          # OAR's own way to run as root
OARNODESETTING = "/usr/sbin/oarnodesetting"

# oar.conf: values set, keys commented out
CONF_SET = {
    "DB_BASE_PASSWD": DB_PASSWD,
    "DB_BASE_PASSWD_RO": DB_PASSWD_RO,
    "PINGCHECKER_GENERIC_COMMAND": "/bin/true",
    "SERVER_EPILOGUE_EXEC_FILE": str(EPILOGUE_SCRIPT),
    "SCHEDULER_NODE_MANAGER_WAKE_UP_CMD": str(WAKE_UP_SCRIPT),
}
CONF_COMMENT = ("PINGCHECKER_SENTINELLE_SCRIPT_COMMAND", "JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD")


def edit_conf(text: str, set_values: dict[str, str] = CONF_SET,
              comment_out: tuple[str, ...] = CONF_COMMENT) -> str:
    """oar.conf with `KEY="value"` set (first active line replaced, else appended) and the
    keys of `comment_out` commented. Returns the text unchanged when nothing is to do."""
    lines = text.splitlines()
    done: set[str] = set()
    out = []
    for line in lines:
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=", line)
        key = m.group(1) if m else None
        if key in comment_out:
            out.append("#" + line)
            continue
        if key in set_values:
            if key in done:            # a duplicate active line: drop it
                continue
            done.add(key)
            out.append(f'{key}="{set_values[key]}"')
            continue
        out.append(line)
    missing = [k for k in set_values if k not in done]
    if missing:
        out.append(f"{MANAGED_MARK}: set by vm5k_lab.oar")
        out += [f'{k}="{set_values[k]}"' for k in missing]
    new = "\n".join(out) + "\n"
    return text if new == text or new == text + "\n" else new


def ssh_config_text() -> str:
    """OAR's ssh client config: every node name is this machine's oar-node sshd."""
    return (f"{MANAGED_MARK}: every OAR node name is the local oar-node sshd (port {NODE_PORT})\n"
            "Host *\n"
            "HostName 127.0.0.1\n"
            "ForwardX11 no\n"
            "StrictHostKeyChecking no\n"
            "UserKnownHostsFile /dev/null\n"
            "LogLevel ERROR\n"
            "PasswordAuthentication no\n"
            "AddressFamily inet\n")


def epilogue_text(python: str, state: str) -> str:
    """The server epilogue (run by OAR as oar with the job id): vm5k_lab.oar.epilogue as root."""
    return ("#!/bin/sh\n"
            f"{MANAGED_MARK}: OAR's server epilogue: the job's lab hosts as Grid'5000 gives nodes back\n"
            "case \"$1\" in ''|*[!0-9]*) echo \"usage: $0 JOB_ID\" >&2; exit 2;; esac\n"
            f"exec {OARDODO} /usr/bin/env VM5K_LAB_STATE={shlex.quote(state)} "
            f"{shlex.quote(python)} -m vm5k_lab.oar.epilogue \"$1\"\n")


def wake_up_text() -> str:
    """The wake-up command (run by OAR's scheduler as oar, one node name a line on stdin)."""
    return ("#!/bin/sh\n"
            f"{MANAGED_MARK}: OAR wakes nodes in standby: a lab node's daemons run, it comes back Alive\n"
            "while read -r node; do\n"
            "    case \"$node\" in ''|*[!A-Za-z0-9.-]*) continue;; esac\n"
            f"    {OARNODESETTING} -s Alive -h \"$node\" >/dev/null 2>&1\n"
            "done\n"
            "exit 0\n")


def ensure_scripts() -> bool:
    """The epilogue and wake-up scripts oar.conf names (root's, world-readable). True if changed."""
    a = write_if_changed(EPILOGUE_SCRIPT, epilogue_text(sys.executable, str(state_dir())), mode=0o755)
    b = write_if_changed(WAKE_UP_SCRIPT, wake_up_text(), mode=0o755)
    return a or b


def ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/bash", "-c", "vm5k lab OAR submitter", USER])
    home = Path(f"/home/{USER}")
    if not home.is_dir():
        home.mkdir(mode=0o755)
        pw = pwd.getpwnam(USER)
        os.chown(home, pw.pw_uid, pw.pw_gid)


def ensure_hostname() -> None:
    name = socket.gethostname()
    try:
        socket.gethostbyname(name)
    except OSError:
        with open("/etc/hosts", "a") as f:
            f.write(f"127.0.1.1 {name}  {MANAGED_MARK}: OAR needs `hostname` to resolve\n")


def write_if_changed(path: Path, text: str, owner: str | None = None, mode: int = 0o644) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".vm5k-tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.replace(tmp, path)
    return True


def ensure_conf() -> bool:
    """oar.conf edited in place (its mode and owner kept). True if it changed."""
    if not OAR_CONF.exists():
        raise OarError(f"{OAR_CONF} missing: install oar-server (make setup)")
    text = OAR_CONF.read_text()
    new = edit_conf(text)
    if new == text:
        return False
    st = OAR_CONF.stat()
    tmp = OAR_CONF.with_name("oar.conf.vm5k-tmp")
    tmp.write_text(new)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, OAR_CONF)
    return True


def ensure_ssh_config() -> bool:
    return write_if_changed(OAR_SSH_CONFIG, ssh_config_text(), owner="oar")
