"""Remote work on hosts: one connection per host per step, all hosts in parallel.

Commands go through `execo.Remote` (one ssh per host, measured faster here than execo's
TaktukRemote: local-lab.md §11); files go by execo's `Put` (parallel scp) to a few hosts and
by `ChainPut` (a netcat chain host to host, the control node sends each file once, with the
mends of execo_mends) to many.
Every per-host script runs as `sh -c <quoted script>`: nothing from the document reaches a
shell unquoted (scripts quote their values with vm5k_doc.ids.quote/join).
"""
import logging
import sys
from dataclasses import dataclass

from . import execo_mends

log = logging.getLogger("vm5k.hosts")

# no prompts, no known_hosts (hosts are redeployed and reuse names), fail fast
SSH_OPTIONS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5")


@dataclass
class Connection:
    """How the control node reaches the hosts."""
    user: str = "root"
    keyfile: str | None = None
    ssh: str = "ssh"            # the ssh command; tests replace it with a counting wrapper
    scp: str = "scp"
    ssh_options: tuple = SSH_OPTIONS

    def execo_params(self):
        params = {"user": self.user, "ssh": self.ssh, "scp": self.scp,
                  "ssh_options": self.ssh_options, "scp_options": self.ssh_options + ("-rp",),
                  "taktuk_connector": self.ssh, "taktuk_connector_options": self.ssh_options}
        if self.keyfile:
            params["keyfile"] = self.keyfile
        return params

    def ssh_argv(self, address, command):
        """argv for one plain ssh command (used for kadeploy on a frontend)."""
        key = ["-i", self.keyfile] if self.keyfile else []
        return [self.ssh, *self.ssh_options, *key, "-l", self.user, address, command]


@dataclass
class Result:
    ok: bool
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    reason: str = ""              # why it failed, one line
    seconds: float = 0.0

    def tail(self, lines=20):
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])


def _quiet_execo():
    import execo.log
    execo.log.logger_handler.setStream(sys.stderr)   # execo logs to stdout: ours is the document
    execo.log.logger.setLevel(logging.CRITICAL)


def run_scripts(scripts, conn, timeout=300):
    """Run scripts[address] on each address, in parallel. Returns {address: Result}."""
    import execo

    _quiet_execo()
    if not scripts:
        return {}
    from vm5k_doc.ids import quote
    remotes = {}
    for address, script in scripts.items():
        remotes[address] = execo.Remote(
            "sh -c " + quote(script), [execo.Host(address)], connection_params=conn.execo_params(),
            process_args={"timeout": timeout, "nolog_exit_code": True, "nolog_timeout": True,
                          "nolog_error": True, "ignore_exit_code": True, "ignore_timeout": True,
                          "ignore_error": True})
    execo.ParallelActions(list(remotes.values())).run()
    return {address: _timed(remote.processes[0]) for address, remote in remotes.items()}


def _timed(process):
    result = _result(process)
    if process.start_date and process.end_date:
        result.seconds = round(process.end_date - process.start_date, 3)
    return result


def _exit_code(process):
    # execo reports some exit codes as a raw wait status (100 -> 25600)
    code = process.exit_code
    return code >> 8 if code is not None and code > 255 else code


def _result(process):
    if process.timeouted:
        return Result(False, process.exit_code, process.stdout, process.stderr, "timed out")
    if process.error:
        return Result(False, None, process.stdout, process.stderr, f"cannot run: {process.error_reason}")
    code = _exit_code(process)
    if code == 255:
        lines = process.stderr.strip().splitlines()
        return Result(False, 255, process.stdout, process.stderr,
                      f"ssh failed: {lines[-1] if lines else 'unreachable'}")
    if code != 0:
        lines = (process.stderr.strip() or process.stdout.strip()).splitlines()
        return Result(False, code, process.stdout, process.stderr,
                      f"exit {code}: {lines[-1] if lines else 'no output'}")
    return Result(True, 0, process.stdout, process.stderr)


# up to this many hosts, parallel scp from the control node was measured faster than the
# chain (bench/broadcast.py, 200 MB to 3 lab hosts: Put 0.66, ChainPut 0.95 of a scp loop);
# beyond it the control node's uplink is the bottleneck and the chain sends each file once
CHAIN_FROM_HOSTS = 5


def broadcast(files, addresses, directory, conn, method="auto"):
    """Copy local files into `directory` (which must exist) on every address.

    method 'chainput': execo ChainPut, a host-to-host netcat chain (the control node sends
    each file once); 'put': execo Put, parallel scp (the control node sends it N times).
    Errors are not reported here: the caller verifies checksums on every host afterwards.
    """
    import execo

    _quiet_execo()
    if not files or not addresses:
        return
    hosts = [execo.Host(a) for a in addresses]
    params = conn.execo_params()
    if method == "auto":
        method = "chainput" if len(addresses) >= CHAIN_FROM_HOSTS else "put"
    if method == "chainput":
        execo_mends.apply()
        action = execo.ChainPut(hosts, list(files), directory, connection_params=params)
    elif method == "put":
        action = execo.Put(hosts, list(files), directory, connection_params=params)
    else:
        raise ValueError(f"unknown broadcast method {method!r}")
    action.run()
