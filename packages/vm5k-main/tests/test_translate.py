"""vm5k's command lines -> the stages' command lines, flag by flag. Every stage argv is
parsed by that stage's own click command (the installed console script), so a flag the
stage does not have, or a value it refuses, fails here."""
import json
import shlex
from importlib.metadata import entry_points

import click
import pytest
from vm5k_doc.errors import InputError
from vm5k_main.translate import shell_line, translate

STAGES = ["vm5k-topo", "vm5k-oar", "vm5k-net", "vm5k-hosts", "vm5k-vms"]
KAVLAN_ORDER = ["vm5k-topo", "vm5k-oar", "vm5k-hosts", "vm5k-net", "vm5k-vms"]

# issue 16's seed lines (vm5k's README) and the lab line, with the pipe each one is
SEED = {
    "vm5k --n_vm 100 -w 2:00:00":
        "vm5k-topo -n 100 | vm5k-oar -w 2:00:00 | vm5k-net | vm5k-hosts | vm5k-vms",
    "vm5k --n_vm 20 --vm_template mytemplate.xml --vm_backing_file /path/on/g5k/image.qcow2":
        "vm5k-topo -n 20 -t '{\"mem\": 4096, \"hdd\": 10, \"n_cpu\": 4, \"cpuset\": \"auto\", "
        "\"backing_file\": \"/path/on/g5k/image.qcow2\"}' | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms",
    "vm5k --n_vm 100 -r hercule,griffon,graphene --host_env_file path_to_my_kadeploy_env":
        "vm5k-topo -n 100 -r hercule,griffon,graphene | vm5k-oar | vm5k-net"
        " | vm5k-hosts -a path_to_my_kadeploy_env | vm5k-vms",
    "vm5k --n_vm 100 -r lyon:4,griffon:10 -k":
        "vm5k-topo -n 100 -r lyon:4,griffon:10 -k | vm5k-oar | vm5k-hosts | vm5k-net --kavlan | vm5k-vms",
    "vm5k --n_vm 100 -j 42895":
        "vm5k-topo -n 100 | vm5k-oar -j 42895 | vm5k-net | vm5k-hosts | vm5k-vms",
    "vm5k -i topology_file.xml -w 6:00:00":
        "vm5k-topo -i topology_file.xml | vm5k-oar -w 6:00:00 | vm5k-net | vm5k-hosts | vm5k-vms",
    "vm5k --n_vm 6 -w 0:30:00":
        "vm5k-topo -n 6 | vm5k-oar -w 0:30:00 | vm5k-net | vm5k-hosts | vm5k-vms",
}


def stage_command(name):
    """The click command behind the installed `name` console script."""
    (script,) = entry_points(group="console_scripts", name=name)
    return script.load()


def accepted(argv):
    """The stage's own parser takes argv; returns its parsed options."""
    return stage_command(argv[0]).make_context(argv[0], list(argv[1:])).params


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mytemplate.xml").write_text('<vm mem="4096" hdd="10" n_cpu="4" cpuset="auto"/>\n')
    return tmp_path


@pytest.mark.parametrize("line", SEED)
def test_seed_line_is_the_pipe_and_every_stage_takes_its_flags(in_tmp, line):
    argvs = translate(shlex.split(line)[1:])
    assert shell_line(argvs) == SEED[line]
    assert [a[0] for a in argvs] == (KAVLAN_ORDER if "-k" in line.split() else STAGES)
    for argv in argvs:
        accepted(argv)


def stage(argvs, name):
    return next(a for a in argvs if a[0] == name)


# (vm5k flags, stage, what that stage's parser gives)
FLAGS = [
    (["-n", "7"], "vm5k-topo", {"n_vm": 7}),
    (["--n_vm", "7"], "vm5k-topo", {"n_vm": 7}),
    (["-i", "t.xml"], "vm5k-topo", {"input_path": "t.xml"}),
    (["--infile", "t.xml"], "vm5k-topo", {"input_path": "t.xml"}),
    (["-w", "2:00:00"], "vm5k-oar", {"walltime": "2:00:00"}),
    (["--walltime", "2:00:00"], "vm5k-oar", {"walltime": "2:00:00"}),
    (["-j", "42895"], "vm5k-oar", {"jobs": "42895"}),
    (["--job_id", "grenoble:1657430,toulouse:415866"], "vm5k-oar", {"jobs": "grenoble:1657430,toulouse:415866"}),
    (["--job-id", "grenoble:1657430"], "vm5k-oar", {"jobs": "grenoble:1657430"}),
    (["--oargrid_job_id", "42895"], "vm5k-oar", {"jobs": "42895"}),
    (["-k"], "vm5k-topo", {"kavlan": True}),
    (["--kavlan"], "vm5k-net", {"kavlan": True}),
    (["-r", "taurus:4,nancy:10"], "vm5k-topo", {"resources": "taurus:4,nancy:10"}),
    (["--resources", "grid5000:20"], "vm5k-topo", {"resources": "grid5000:20"}),
    (["-b", "reims"], "vm5k-topo", {"blacklist": "reims"}),
    (["--blacklisted", "reims,graphene"], "vm5k-topo", {"blacklist": "reims,graphene"}),
    (["--blacklist", "reims"], "vm5k-topo", {"blacklist": "reims"}),
    (["-e", "wheezy-x64-prod"], "vm5k-hosts", {"env_name": "wheezy-x64-prod"}),
    (["--env_name", "user:env_name"], "vm5k-hosts", {"env_name": "user:env_name"}),
    (["--host_env_name", "wheezy-x64-base"], "vm5k-hosts", {"env_name": "wheezy-x64-base"}),
    (["-a", "path/to/env"], "vm5k-hosts", {"env_file": "path/to/env"}),
    (["--env_file", "path/to/env"], "vm5k-hosts", {"env_file": "path/to/env"}),
    (["--host_env_file", "path/to/env"], "vm5k-hosts", {"env_file": "path/to/env"}),
    (["--forcedeploy"], "vm5k-hosts", {"forcedeploy": True}),
    (["--nodeploy"], "vm5k-hosts", {"nodeploy": True}),
    (["--no-packages-management"], "vm5k-hosts", {"packages": False}),
    (["--other-packages", "htop,iperf"], "vm5k-hosts", {"other_packages": "htop,iperf"}),
    (["--host-packages", "htop"], "vm5k-hosts", {"other_packages": "htop"}),
    (["-t", '<vm mem="4096" hdd="10" n_cpu="4" cpuset="auto"/>'], "vm5k-topo",
     {"vm_template": '<vm mem="4096" hdd="10" n_cpu="4" cpuset="auto"/>'}),
    (["--vm_template", "mytemplate.xml"], "vm5k-topo", {"vm_template": '<vm mem="4096" hdd="10" n_cpu="4" cpuset="auto"/>'}),
    (["-d", "n_by_hosts"], "vm5k-topo", {"distribution": "n_by_hosts"}),
    (["--vm_distribution", "concentrated"], "vm5k-topo", {"distribution": "concentrated"}),
    (["--platform", "g5k"], "vm5k-topo", {"platform": "g5k"}),
    (["--reference", "ref"], "vm5k-topo", {"reference": "ref"}),
]


@pytest.mark.parametrize("old, name, parsed", FLAGS, ids=[" ".join(f[0])[:40] for f in FLAGS])
def test_flag(in_tmp, old, name, parsed):
    params = accepted(stage(translate(old), name))
    assert {key: params[key] for key in parsed} == parsed


def template_of(argvs):
    argv = stage(argvs, "vm5k-topo")
    return argv[argv.index("-t") + 1]


def test_backing_file_alone_is_a_template_with_only_it():
    assert json.loads(template_of(translate(["-f", "/grid5000/virt-images/x.qcow2"]))) == \
        {"backing_file": "/grid5000/virt-images/x.qcow2"}


def test_a_template_naming_its_backing_file_keeps_it_as_vm5k_did():
    argvs = translate(["-t", '<vm mem="512" backing_file="mini"/>', "--vm_backing_file", "/grid5000/x.qcow2"])
    assert json.loads(template_of(argvs)) == {"mem": 512, "backing_file": "mini"}


@pytest.mark.parametrize("old", [["--dry-run"], ["-v"], ["-q"], ["--events", "e.ndjson"]])
def test_shared_flags_go_to_every_stage(old):
    argvs = translate(old)
    for argv in argvs:
        assert argv[-len(old):] == old
        accepted(argv)


def test_accepted_but_nothing_to_do():
    # -l one is where vm5k-vms puts disks anyway; vm5k-vms always makes fresh disks
    assert translate(["-l", "one", "--vm-clean-disks"]) == translate([])
    # --plot is drawn after the pipe, by vm5k-doc plot
    assert translate(["--plot"]) == translate([])


@pytest.mark.parametrize("old, words", [
    (["-p", "myscript.sh"], "--program: not supported"),
    (["--program", "x"], "--program: not supported"),
    (["--aptcacher"], "--aptcacher: not supported"),
    (["--packages-upgrade"], "--packages-upgrade: not supported"),
    (["-l", "all"], "--vm_disk_location all: not supported"),
    (["-d", "spread"], "'spread' is not one of"),
    (["-n", "many"], "'many' is not a valid integer"),
])
def test_unsupported_and_bad_flags_say_why(old, words):
    with pytest.raises(click.UsageError) as error:
        translate(old)
    assert words in error.value.format_message()


@pytest.mark.parametrize("old, words", [
    (["-j", "lyon:12;rm"], "a job is [SITE:]NUMBER"),
    (["-j", "$(x):12"], "not a valid id"),
    (["-r", "lyon:four"], "must be a number of hosts"),
    (["-r", "-rf"], "not a valid id"),
    (["-b", "a b"], "not a valid id"),
    (["-t", "nofile.xml"], "neither a <vm .../> element nor a file"),
    (["-f", "relative/image.qcow2"], "neither an image name nor an absolute path"),
    (["-t", '<vm mem="lots"/>', "-f", "/x.qcow2"], "mem='lots' is not an integer"),
])
def test_values_are_checked_before_any_stage(old, words):
    with pytest.raises(InputError) as error:
        translate(old)
    assert words in str(error.value)


def test_template_file_that_is_not_a_template(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(InputError, match="holds no <vm"):
        translate(["-t", str(tmp_path / "notes.txt")])
