"""Platform.ssh: one meaning of --ssh-key/--ssh-user in every stage."""
import pytest
from vm5k_doc import platforms
from vm5k_doc.errors import InputError, PlatformError
from vm5k_doc.platforms.lab import Lab


def test_given_key_and_user_win(tmp_path):
    key = tmp_path / "k"
    key.write_text("")
    ssh = platforms.get("static").ssh(str(key), "alice")
    assert (ssh.user, ssh.key) == ("alice", str(key))
    assert ssh.argv("h1", "true")[-5:] == ["-l", "alice", "--", "h1", "true"]


def test_defaults_root_and_the_users_own_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    ssh = platforms.get("static").ssh()
    assert (ssh.user, ssh.key) == ("root", None)          # no -i: ssh's own keys and ~/.ssh/config
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").write_text("")
    assert platforms.get("static").ssh().key == str(tmp_path / ".ssh" / "id_ed25519")


def test_the_platforms_own_key_and_user():
    status = {"state": "up", "ssh": {"key": __file__, "user": "labuser"}}
    assert (Lab(status=status).ssh().key, Lab(status=status).ssh().user) == (__file__, "labuser")


def test_a_missing_key_or_a_bad_user_fails_once():
    with pytest.raises(PlatformError, match="ssh key /nonexistent does not exist"):
        platforms.get("static").ssh("/nonexistent")
    with pytest.raises(InputError, match="--ssh-user"):
        platforms.get("static").ssh(None, "-oProxyCommand=x")
