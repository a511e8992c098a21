"""The one place that builds ssh command lines: one option set, one rule for the key.

Every stage (and execo, through `OPTIONS` and `Ssh.execo_params`) reaches hosts, VMs and
frontends with the same options:

    BatchMode=yes                       no prompt: a missing key fails, it does not hang
    StrictHostKeyChecking=no            hosts are redeployed and reuse their names,
    UserKnownHostsFile=/dev/null          so their host keys change: nothing is recorded
    LogLevel=ERROR                      no "Warning: Permanently added" on every call
    ConnectTimeout=10                   a host that is down fails in seconds
    ServerAliveInterval/CountMax        a host that dies mid-script fails in 15 s, not never

The destination comes after `--` and must be a host name, an address or an id (never an
option), checked by the validation layer.
"""
from dataclasses import dataclass
from pathlib import Path

from .checks import check_address, check_id
from .errors import InputError

OPTIONS = ("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
           "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")

# the user's own keys, in the order ssh itself tries them
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


def find_key(given=None, platform_key=None):
    """The private key: the one given (flag or VM5K_SSH_KEY), else the platform's own (the
    lab's), else the user's default ~/.ssh/id_*, else None (ssh's own configuration).
    platform_key may be a callable, asked only when no key is given."""
    if given:
        return str(given)
    key = platform_key() if callable(platform_key) else platform_key
    if key:
        return str(key)
    home = Path.home() / ".ssh"
    return next((str(home / name) for name in DEFAULT_KEYS if (home / name).is_file()), None)


def check_destination(address):
    """A host name, an address or a host id (ssh aliases may hold '_'): never an option."""
    try:
        return check_address(address, "ssh destination")
    except InputError:
        return check_id(address, "ssh destination")


def options(key=None):
    """The ssh options as a list, with the identity file when there is one."""
    identity = ["-i", str(key), "-o", "IdentitiesOnly=yes"] if key else []
    return [*OPTIONS, *identity]


def argv(address, *command, key=None, user=None, program="ssh"):
    """argv of `ssh [options] [-l user] -- address command...` (user None: ssh's own choice)."""
    login = ["-l", user] if user else []
    return [program, *options(key), *login, "--", check_destination(address), *command]


@dataclass
class Ssh:
    """How the control node reaches hosts and VMs: user and private key (the key stays here).
    program: the ssh command (tests put a counting wrapper or a local shell there)."""
    user: str = "root"
    key: str | None = None
    program: str = "ssh"

    def argv(self, address, *command):
        return argv(address, *command, key=self.key, user=self.user, program=self.program)

    def public_key(self):
        """The public key beside the private one ("" without a key), to put into VMs."""
        if not self.key:
            return ""
        try:
            return Path(self.key + ".pub").read_text().strip()
        except OSError as exc:
            raise InputError(f"cannot read the public key {self.key}.pub: {exc.strerror}") from None

    def execo_params(self):
        """execo connection_params with the same options (ssh, scp and taktuk's connector)."""
        params = {"user": self.user, "ssh": self.program, "ssh_options": OPTIONS,
                  "scp_options": OPTIONS + ("-rp",), "taktuk_connector": self.program,
                  "taktuk_connector_options": OPTIONS}
        if self.key:
            params["keyfile"] = self.key
        return params
