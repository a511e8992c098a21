"""vm5k-oar's ssh to a Grid'5000 frontend (static hosts: test_static.py) is vm5k_doc.ssh's argv: its
options, `--` before a checked destination, the remote command quoted word by word."""
from vm5k_doc import ssh
from vm5k_oar.oar_cli import OarCli


class Done:
    def __init__(self, stdout="", returncode=0, stderr=""):
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr


def recorder(seen, done):
    def run(argv, **kwargs):
        seen.append(argv)
        return done
    return run


def test_oar_over_ssh_to_the_frontend():
    seen = []
    cli = OarCli(ssh_host=lambda site: f"{site}.grid5000.fr", runner=recorder(seen, Done("ok")))
    assert cli.run("lyon", ["oarstat", "-j", "1; rm -rf /"]) == (0, "ok", "")
    assert seen[0][:-3] == list(ssh.argv("x")[:-2])     # vm5k_doc.ssh's options, the user's own key
    assert seen[0][-3:] == ["--", "lyon.grid5000.fr", "TZ=UTC oarstat -j '1; rm -rf /'"]
