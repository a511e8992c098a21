"""vm5k_doc.ssh: one option set, `--` before a checked destination, one rule for the key."""
import subprocess

import pytest
from vm5k_doc import ssh
from vm5k_doc.errors import InputError


def option_values(argv):
    return {argv[i + 1] for i, word in enumerate(argv) if word == "-o"}


def test_one_option_set_then_user_then_double_dash_then_host():
    argv = ssh.argv("10.0.0.1", "sh", "-s", key="/k/id", user="root")
    assert argv[0] == "ssh"
    assert {"BatchMode=yes", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR",
            "ConnectTimeout=10", "ServerAliveInterval=5", "ServerAliveCountMax=3",
            "IdentitiesOnly=yes"} <= option_values(argv)
    assert argv[argv.index("-i") + 1] == "/k/id"
    assert argv[-6:] == ["-l", "root", "--", "10.0.0.1", "sh", "-s"]


def test_no_key_no_user_leave_them_to_ssh():
    argv = ssh.argv("site.grid5000.fr", "oarstat")
    assert "-i" not in argv and "-l" not in argv and "IdentitiesOnly=yes" not in option_values(argv)
    assert argv[-3:] == ["--", "site.grid5000.fr", "oarstat"]


@pytest.mark.parametrize("host", ["-oProxyCommand=touch /tmp/x", "-v", "a b", "root@h", "h\n", ""])
def test_a_destination_that_is_not_a_host_is_refused(host):
    with pytest.raises(InputError, match="ssh destination"):
        ssh.argv(host, "true")


def test_ids_with_underscores_pass():
    assert ssh.argv("node_1", "true")[-2] == "node_1"


def test_ssh_accepts_the_options():
    # the real ssh parses the options (-G prints the configuration and connects nowhere)
    argv = ssh.argv("h1", key="/nonexistent/id", user="u")
    done = subprocess.run([argv[0], "-G", *argv[1:]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config = done.stdout.lower()
    for line in ("user u", "batchmode yes", "connecttimeout 10", "serveraliveinterval 5",
                 "serveralivecountmax 3", "stricthostkeychecking false", "userknownhostsfile /dev/null"):
        assert line in config


def test_find_key_flag_then_platform_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    asked = []
    platform = lambda: asked.append(1) or "/lab/id"  # noqa: E731
    assert ssh.find_key("/flag/id", platform) == "/flag/id"
    assert asked == []                       # the platform is not asked when a key is given
    assert ssh.find_key(None, platform) == "/lab/id"
    assert ssh.find_key(None, None) is None  # nothing: ssh's own configuration
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("k")
    assert ssh.find_key(None, None) == str(tmp_path / ".ssh" / "id_rsa")
    (tmp_path / ".ssh" / "id_ed25519").write_text("k")
    assert ssh.find_key(None, lambda: None) == str(tmp_path / ".ssh" / "id_ed25519")


def test_public_key_and_execo_params(tmp_path):
    key = tmp_path / "id"
    (tmp_path / "id.pub").write_text("ssh-ed25519 AAAA me\n")
    conn = ssh.Ssh(key=str(key))
    assert conn.public_key() == "ssh-ed25519 AAAA me"
    assert ssh.Ssh().public_key() == ""
    with pytest.raises(InputError, match="public key"):
        ssh.Ssh(key=str(tmp_path / "other")).public_key()
    params = conn.execo_params()
    assert params["keyfile"] == str(key) and params["user"] == "root"
    assert params["ssh_options"] == params["taktuk_connector_options"] == ssh.OPTIONS
