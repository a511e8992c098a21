"""kadeploy3 command lines and output parsing (grid5000-formats.md §7)."""
import pytest
from vm5k_doc import platforms, ssh
from vm5k_doc.errors import InputError
from vm5k_hosts import deploy

OUTPUT = """\
Deployment #D-2f4e5d56-0a4b-4b8c-9a0e-3cb5a1e8f0c1 started
Grab the key file /home/u/.ssh/authorized_keys
Launching a deployment on nova-[1-3].lyon.grid5000.fr
Performing a Deploy[SetDeploymentEnvUntrusted] step
End of deployment for nova-[1-2].lyon.grid5000.fr after 212s
End of deployment on cluster nova after 230s
Deployment #D-2f4e5d56-0a4b-4b8c-9a0e-3cb5a1e8f0c1 done

The deployment is successful on nodes
nova-1.lyon.grid5000.fr
nova-2.lyon.grid5000.fr
The deployment failed on nodes
nova-3.lyon.grid5000.fr (Deploy[SetDeploymentEnvUntrusted] step failed: timeout)
"""


def test_parse_success_and_failure():
    deployed, failed = deploy.parse_kadeploy(OUTPUT)
    assert deployed == ["nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"]
    assert failed == {"nova-3.lyon.grid5000.fr": "Deploy[SetDeploymentEnvUntrusted] step failed: timeout"}


def test_parse_multi_server_prefix():
    text = "\n".join(f"[{'lyon]':<9} {line}" if line else "" for line in OUTPUT.splitlines())
    assert "[lyon]" in text
    deployed, failed = deploy.parse_kadeploy(text)
    assert len(deployed) == 2 and list(failed) == ["nova-3.lyon.grid5000.fr"]


def test_parse_old_format_and_no_nodes():
    old = "Nodes correctly deployed on cluster sagittaire\nsagittaire-1.lyon.grid5000.fr\n\n"
    assert deploy.parse_kadeploy(old) == (["sagittaire-1.lyon.grid5000.fr"], {})
    assert deploy.parse_kadeploy("Deployment #D-x started\nsomething broke\n") == ([], {})


def test_section_ends_on_other_lines():
    text = "The deployment is successful on nodes\na-1.s.grid5000.fr\nDeployment #D-1 done\nb-2.s.grid5000.fr\n"
    assert deploy.parse_kadeploy(text) == (["a-1.s.grid5000.fr"], {})


def test_kadeploy_argv():
    argv = deploy.kadeploy_argv(["a-1.s.grid5000.fr", "a-2.s.grid5000.fr"], env_name="debian12-min",
                                vlan=4, key=True)
    assert argv == ["kadeploy3", "-e", "debian12-min", "--vlan", "4", "-k",
                    "-m", "a-1.s.grid5000.fr", "-m", "a-2.s.grid5000.fr"]
    argv = deploy.kadeploy_argv(["a-1"], env_file="/home/u/my env.yaml", user="u", key="/k")
    assert argv == ["kadeploy3", "-a", "/home/u/my env.yaml", "-u", "u", "-k", "/k", "-m", "a-1"]


def test_kadeploy_argv_refuses_bad_input():
    with pytest.raises(InputError):
        deploy.kadeploy_argv(["a-1"])
    with pytest.raises(InputError):
        deploy.kadeploy_argv(["a-1; rm -rf /"], env_name="x")


def test_kadeploy_through_frontend_quotes(monkeypatch):
    seen = {}

    class Done:
        returncode, stdout = 0, "The deployment is successful on nodes\na-1.s.grid5000.fr\n"

    def fake_run(argv, **kwargs):
        seen["argv"] = argv
        return Done()

    monkeypatch.setattr(deploy.subprocess, "run", fake_run)
    frontend = platforms.get("g5k").frontend("s")    # the one way to a site's frontend
    assert frontend == "s.grid5000.fr"
    deployed, failed = deploy.kadeploy(frontend, ["a-1.s.grid5000.fr", "a-2.s.grid5000.fr"],
                                       env_file="/home/u/my env.yaml")
    assert seen["argv"][:-3] == ssh.argv(frontend)[:-2]    # vm5k_doc.ssh's options, no key, no user
    assert seen["argv"][-3:] == ["--", "s.grid5000.fr", "kadeploy3 -a '/home/u/my env.yaml' -m a-1.s.grid5000.fr -m a-2.s.grid5000.fr"]
    assert deployed == ["a-1.s.grid5000.fr"]
    assert failed == {"a-2.s.grid5000.fr": "not in kadeploy3's output (exit 0)"}
