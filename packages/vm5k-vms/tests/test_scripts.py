import base64
import subprocess

from vm5k_vms import scripts
from vm5k_vms.plan import plan_vm


def test_create_script_is_valid_sh_and_quotes_paths(vm, host):
    host["images"]["debian"]["disk"] = "/img/it's here/debian.qcow2"
    vm["backing_file"] = "debian"
    text = scripts.create_script("host1.lab", [plan_vm(vm, host)])
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    assert "'/img/it'\"'\"'s here/debian.qcow2'" in text
    assert "try vm-1 define define /tmp/vm5k/vm-1.xml " in text
    assert "try vm-1 start V start vm-1" in text


def test_domain_xml_travels_in_base64(vm, host):
    text = scripts.create_script("host1.lab", [plan_vm(vm, host)])
    line = [ln for ln in text.splitlines() if " define define " in ln][0]
    xml = base64.b64decode(line.split()[5]).decode()
    assert xml.startswith("<domain type=\"qemu\">")


def run_sh(text, path):
    """Run a generated script locally with fake virsh/qemu-img/xorriso on PATH."""
    env = {"PATH": f"{path}:/usr/bin:/bin"}
    return subprocess.run(["sh", "-s"], input=text, text=True, capture_output=True, env=env)


def fake(tmp_path, name, body):
    f = tmp_path / name
    f.write_text("#!/bin/sh\n" + body + "\n")
    f.chmod(0o755)


def test_create_script_reports_each_vm_and_goes_on_after_a_failure(vm, host, tmp_path):
    host["images"]["vm_dir"] = str(tmp_path / "vms")
    fake(tmp_path, "virsh", 'case "$*" in *"start vm-1"*) echo "error: cannot start" >&2; exit 1;; esac; exit 0')
    fake(tmp_path, "qemu-img", "exit 0")
    vm2 = dict(vm, id="vm-2", hostname="vm-2")
    text = scripts.create_script("host1.lab", [plan_vm(vm, host), plan_vm(vm2, host)])
    out = run_sh(text, tmp_path)
    lines = [scripts.parse_line(ln) for ln in out.stdout.splitlines()]
    assert ("vm-1", "start", False, "error: cannot start") in lines
    assert ("vm-2", "start", True, "") in lines
    assert (tmp_path / "vms" / "vm-2.xml").read_text().startswith("<domain")


def test_destroy_script_removes_only_named_files(tmp_path):
    d = tmp_path / "vms"
    d.mkdir()
    for name in ("vm-1.qcow2", "vm-1.console.log", "vm-10.qcow2", "other"):
        (d / name).write_text("x")
    fake(tmp_path, "virsh", "case \"$*\" in *domstate*) exit 1;; esac; exit 0")
    out = run_sh(scripts.destroy_script("h", [("vm-1", str(d))]), tmp_path)
    assert scripts.parse_line(out.stdout.splitlines()[0]) == ("vm-1", "destroy", True, "")
    assert sorted(p.name for p in d.iterdir()) == ["other", "vm-10.qcow2"]


def test_console_tail_comes_back_in_base64(tmp_path):
    log = tmp_path / "vm-1.console.log"
    log.write_text("boot...\nKernel panic: no root\n")
    out = run_sh(scripts.console_script("h", [("vm-1", str(log)), ("vm-2", str(tmp_path / "none"))], 20), tmp_path)
    parsed = [scripts.parse_line(ln) for ln in out.stdout.splitlines()]
    assert base64.b64decode(parsed[0][3]).decode() == "boot...\nKernel panic: no root\n"[-20:]
    assert parsed[1] == ("vm-2", "console", True, "")


def test_parse_line_ignores_other_output():
    assert scripts.parse_line("Domain vm-1 started") is None
    assert scripts.parse_line("vm5k vm-1 disk fail qemu-img: x y") == ("vm-1", "disk", False, "qemu-img: x y")


def test_create_script_starts_the_first_boots_before_creating_the_rest(vm, host, tmp_path):
    # each host's first admitted VMs start in the create script itself (no second ssh, no
    # wait for the rest of its VMs to be created); the others are only defined
    host["images"]["vm_dir"] = str(tmp_path / "vms")
    fake(tmp_path, "virsh", "exit 0")
    fake(tmp_path, "qemu-img", "exit 0")
    plans = [plan_vm(dict(vm, id=f"vm-{i}", hostname=f"vm-{i}"), host) for i in (1, 2, 3)]
    out = run_sh(scripts.create_script("host1.lab", plans, start={"vm-3"}), tmp_path)
    steps = [scripts.parse_line(ln)[:2] for ln in out.stdout.splitlines()]
    assert steps[:3] == [("vm-3", "disk"), ("vm-3", "define"), ("vm-3", "start")]
    assert ("vm-1", "define") in steps and ("vm-1", "start") not in steps and ("vm-2", "start") not in steps


def test_monitor_reports_every_vm_of_the_directory_each_tick(tmp_path):
    d = tmp_path / "vms"
    d.mkdir()
    (d / "vm-1.console.log").write_text("booting\n")
    (d / "vm-2.console.log").write_text("x\nKernel panic - not syncing: IO-APIC + timer doesn't work!\n")
    (d / "vm-3.console.log").write_text("")
    # domstats: vm-1 ran 1000 ns and waited 500 for a CPU; vm-2 ran 7; vm-3 is not running
    fake(tmp_path, "virsh", "printf \"Domain: 'vm-1'\\n  cpu.time=1000\\n  vcpu.0.delay=500\\nDomain: 'vm-2'\\n  cpu.time=7\\n\"")
    out = run_sh(scripts.monitor_script("h", str(d), every=0.01, ticks=2), tmp_path)
    assert out.returncode == 0, out.stderr
    lines = [scripts.parse_line(ln) for ln in out.stdout.splitlines()]
    assert [ln for ln in lines if ln[0] == "-"] == [("-", "tick", True, "")] * 2     # one heartbeat per tick
    reports = {ln[0]: scripts.parse_progress(ln[3]) for ln in lines[:4] if ln[1] == "progress"}
    assert reports["vm-1"] == (8, 1500, None)
    assert reports["vm-2"] == (60, 7, "Kernel panic - not syncing: IO-APIC + timer doesn't work!")
    assert reports["vm-3"] == (0, None, None)
    assert len(lines) == 8


def test_create_script_asks_once_which_domains_exist(vm, host, tmp_path):
    # a new VM costs no destroy/undefine call; one that exists is undefined first
    host["images"]["vm_dir"] = str(tmp_path / "vms")
    calls = tmp_path / "calls"
    fake(tmp_path, "virsh", f'echo "$*" >> {calls}; case "$*" in *"list --all --name"*) echo vm-2;; esac; exit 0')
    fake(tmp_path, "qemu-img", "exit 0")
    plans = [plan_vm(dict(vm, id=f"vm-{i}", hostname=f"vm-{i}"), host) for i in (1, 2, 3)]
    run_sh(scripts.create_script("host1.lab", plans), tmp_path)
    made = calls.read_text().splitlines()
    assert sum("list --all" in c for c in made) == 1
    assert [c.split()[-2:] for c in made if "undefine" in c or "destroy" in c] == [["destroy", "vm-2"], ["undefine", "vm-2"]]
