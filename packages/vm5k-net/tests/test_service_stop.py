"""--stop-service: the stop script, run for real here on a process named dnsmasq."""
import shutil
import subprocess

from vm5k_net import service, stage


def test_stop_script_stops_our_dnsmasq_by_pid_file(tmp_path):
    fake = tmp_path / "dnsmasq"             # a sleep whose comm is 'dnsmasq'
    shutil.copy(shutil.which("sleep"), fake)
    proc = subprocess.Popen([str(fake), "60"])
    (tmp_path / "dnsmasq.pid").write_text(f"{proc.pid}\n")
    script = service.stop_script(str(tmp_path))
    done = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stopped {proc.pid}"
    assert proc.wait(timeout=5) is not None and not (tmp_path / "dnsmasq.pid").exists()
    again = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and again.stdout.strip() == "not running"


def test_stop_script_leaves_a_pid_that_is_not_dnsmasq(tmp_path):
    proc = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "dnsmasq.pid").write_text(f"{proc.pid}\n")
        done = subprocess.run(["sh", "-s"], input=service.stop_script(str(tmp_path)), capture_output=True,
                              text=True, timeout=30)
        assert done.stdout.strip() == "not running" and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_service_is_reached_at_its_host_current_address():
    doc = {"hosts": [{"id": "host1.lab", "address": "10.78.4.11", "vlan": 4}]}
    assert stage.service_ssh_address(doc, {"service_node": "host1.lab"}) == "10.78.4.11"
    assert stage.service_ssh_address({"hosts": []}, {"service_node": "host9.lab"}) == "host9.lab"
