"""Deploy (Grid'5000: kadeploy3 on each site frontend) or check (lab, static) the hosts.

kadeploy3's output (grid5000-formats.md §7): node sets after `The deployment is successful
on nodes` (one fqdn per line) and `The deployment failed on nodes` (`<fqdn> (<error>)`),
possibly prefixed by `[server]` padded to 10 characters in multi-server mode.
"""
import re
import subprocess

from vm5k_doc import ssh
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError
from vm5k_doc.ids import join

DEFAULT_ENV = "debian12-min"     # a current Grid'5000 standard environment, not a personal one
# execo's default: a deployed node boots its own partition (3), not the standard sda2
CHECK_DEPLOYED = "! (mount | grep -E '^/dev/[[:alpha:]]+2 on / ')"
# what a lab or static host must answer: a shell, Debian, and who we are
CHECK_HOST = "set -e; test -r /etc/debian_version; echo debian=$(cat /etc/debian_version); echo user=$(id -un)"

_PREFIX = re.compile(r"^\[[^\]]*\]\s*")
_OK_HEADER = re.compile(r"^The \w+ is successful on nodes\s*$")
_KO_HEADER = re.compile(r"^The \w+ failed on nodes\s*$")
_OLD_OK_HEADER = re.compile(r"^Nodes correctly deployed on cluster \S+\s*$")
_NODE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)(?:\s+\((.*)\))?\s*$")


def kadeploy_argv(hosts, env_name=None, env_file=None, user=None, vlan=None, key=None):
    """kadeploy3's argv for hosts (fqdns) of one site. key: True (default key) or a file."""
    if bool(env_name) == bool(env_file):
        raise InputError("give exactly one of --env-name and --env-file")
    argv = ["kadeploy3"]
    argv += ["-e", env_name] if env_name else ["-a", env_file]
    if user:
        argv += ["-u", user]
    if vlan is not None:
        argv += ["--vlan", str(int(vlan))]
    if key:
        argv += ["-k"] if key is True else ["-k", key]
    for host in hosts:
        argv += ["-m", check_id(host, "host")]
    return argv


def parse_kadeploy(output):
    """(deployed hosts, {failed host: error}) from kadeploy3's stdout."""
    deployed, failed, section = [], {}, None
    for raw in output.splitlines():
        line = _PREFIX.sub("", raw.rstrip())
        if _OK_HEADER.match(line) or _OLD_OK_HEADER.match(line):
            section = "ok"
            continue
        if _KO_HEADER.match(line):
            section = "ko"
            continue
        node = _NODE.match(line.strip()) if section else None
        if node is None:
            section = None
            continue
        if section == "ok":
            deployed.append(node.group(1))
        else:
            failed[node.group(1)] = node.group(2) or "failed"
    return deployed, failed


def kadeploy(frontend, hosts, timeout=3600, **options):
    """Run kadeploy3 for the hosts of one site: through ssh to its frontend (the platform's
    frontend(site)), or here when frontend is None."""
    argv = kadeploy_argv(hosts, **options)
    if frontend:
        argv = ssh.argv(frontend, join(argv))
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], {h: f"kadeploy3 timed out after {timeout} s" for h in hosts}
    except FileNotFoundError as exc:
        return [], {h: f"cannot run kadeploy3: {exc}" for h in hosts}
    deployed, failed = parse_kadeploy(proc.stdout)
    for host in hosts:   # a host kadeploy did not list is not deployed
        if host not in deployed and host not in failed:
            failed[host] = f"not in kadeploy3's output (exit {proc.returncode})"
    return deployed, failed


def group_by_site(hosts):
    sites = {}
    for host in hosts:
        sites.setdefault(host.get("site") or "", []).append(host)
    return sites
