"""vm5k-oar's ssh (a static host's probe, a Grid'5000 frontend) is vm5k_doc.ssh's argv: its
options, `--` before a checked destination, the remote command quoted word by word."""
import pytest
from vm5k_doc import ssh
from vm5k_doc.errors import InputError, PlatformError
from vm5k_oar import static
from vm5k_oar.oar_cli import OarCli


class Done:
    def __init__(self, stdout="", returncode=0, stderr=""):
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr


def recorder(seen, done):
    def run(argv, **kwargs):
        seen.append(argv)
        return done
    return run


def test_static_probe_is_one_ssh_with_our_options():
    seen = []
    assert static.probe("node-1", "me", runner=recorder(seen, Done("8\n4\n16384000\n"))) == (8, 4, 16000)
    assert seen == [ssh.argv("node-1", static.PROBE, user="me")]
    assert seen[0][-4:] == ["me", "--", "node-1", static.PROBE]


def test_static_probe_failure_names_the_host():
    with pytest.raises(PlatformError, match="^h: cannot read cores and RAM over ssh: refused$"):
        static.probe("h", runner=recorder([], Done("", 255, "refused\n")))
    with pytest.raises(InputError, match="ssh destination"):
        static.probe("-oProxyCommand=x", runner=recorder([], Done()))


def test_oar_over_ssh_to_the_frontend():
    seen = []
    cli = OarCli(ssh_host=lambda site: f"{site}.grid5000.fr", runner=recorder(seen, Done("ok")))
    assert cli.run("lyon", ["oarstat", "-j", "1; rm -rf /"]) == (0, "ok", "")
    assert seen[0][:-3] == list(ssh.argv("x")[:-2])     # vm5k_doc.ssh's options, the user's own key
    assert seen[0][-3:] == ["--", "lyon.grid5000.fr", "TZ=UTC oarstat -j '1; rm -rf /'"]
