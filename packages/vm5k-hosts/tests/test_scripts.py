"""Generated remote scripts: valid sh, values quoted, outputs parsed."""
import subprocess

import pytest
from vm5k_doc import checks
from vm5k_doc.errors import InputError
from vm5k_hosts import images, prepare, virt


def sh_ok(script):
    subprocess.run(["sh", "-n", "-c", script], check=True)


def test_prepare_script_is_valid_sh_and_quotes_packages():
    script = prepare.script(list(prepare.PACKAGES) + ["htop"])
    sh_ok(script)
    assert "for p in libvirt-daemon-system" in script and "htop" in script
    assert prepare.network_xml() in script.replace("'\"'\"'", "'")
    sh_ok(prepare.script(()))
    assert "dpkg-query" not in prepare.script(())


@pytest.mark.parametrize("bad", ["x; rm -rf /", "$(reboot)", "A", "--purge"])
def test_prepare_refuses_bad_package_names(bad):
    with pytest.raises(InputError):
        prepare.script([bad])


def test_prepare_refuses_bad_bridge():
    with pytest.raises(InputError):
        prepare.script((), bridge="br0'; reboot")


def test_prepare_parse():
    out = "changed: libvirt host_uuid\nbridge=br0\nuuid=1234\nnoise=1\n"
    assert prepare.parse(out) == {"changed": ["libvirt host_uuid"], "bridge": "br0", "uuid": "1234"}


def test_virt_script_and_parse():
    script = virt.script(["/var/lib/vm5k/images/it's here/vmlinuz"], timeout=7)
    sh_ok(script)
    assert "'/var/lib/vm5k/images/it'\"'\"'s here/vmlinuz'" in script
    assert "timeout -s KILL 7" in script and "-accel kvm" in script
    assert virt.parse("virt=kvm\nwhy=booted\n") == ("kvm", "booted")
    assert virt.parse("garbage") == (None, "")


def test_virt_script_without_dev_kvm_says_qemu(tmp_path):
    # run the real script with /dev/kvm made invisible: the answer must be qemu at once
    script = virt.script([], timeout=1).replace("/dev/kvm", str(tmp_path / "no-kvm"))
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30).stdout
    assert virt.parse(out)[0] == "qemu"


def test_image_plan_lab_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("VM5K_IMAGE_DIRS", f"{tmp_path}:/on/hosts")
    disk = tmp_path / "my disk.qcow2"
    disk.write_bytes(checks.QCOW2_MAGIC + b"disk")
    kernel, initrd = tmp_path / "vmlinuz", tmp_path / "initrd.gz"
    kernel.write_bytes(b"k"), initrd.write_bytes(b"i")
    lab = {"mini": {"built": True, "kernel": str(kernel), "initrd": str(initrd)}}
    vms = [{"backing_file": "mini"}, {"backing_file": str(disk)}, {"backing_file": "mini"},
           {"backing_file": "/on/hosts/only.qcow2"}]
    files = images.add_checksums(images.plan(vms, "/img", lab))
    assert [(f.image, f.role, f.dest) for f in files] == [
        ("mini", "kernel", "/img/mini/vmlinuz"), ("mini", "initrd", "/img/mini/initrd.gz"),
        (str(disk), "disk", "/img/my_disk.qcow2/my disk.qcow2"),
        ("/on/hosts/only.qcow2", "disk", "/on/hosts/only.qcow2")]
    assert files[0].sha256 == images.sha256_file(kernel) and files[3].sha256 is None
    with pytest.raises(InputError):
        images.plan([{"backing_file": "relative.qcow2"}], "/img", lab)


def test_a_document_cannot_pull_a_file_off_this_machine(tmp_path, monkeypatch):
    """A shared document naming a key or /etc/shadow must not ship it to every host, nor
    point a VM's disk at a host's file."""
    monkeypatch.setenv("VM5K_IMAGE_DIRS", str(tmp_path / "images"))
    (tmp_path / "images").mkdir()
    key = tmp_path / "images" / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    for path, why in (("/etc/shadow", "not under an image directory"), (str(key), "not a disk image"),
                      ("/etc/../root/.ssh/id_rsa", "not under an image directory"),
                      (f"{tmp_path}/images/../../etc/x.qcow2", "not under an image directory")):
        with pytest.raises(InputError, match=why):
            images.plan([{"backing_file": path}], "/img", {})


def test_image_check_script_runs_and_caches(tmp_path):
    """The check script really run with sh: sums, missing files, the sidecar cache."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "vmlinuz").write_bytes(b"kernel bytes")
    lab = {"mini": {"kernel": str(src / "vmlinuz"), "initrd": str(src / "initrd.gz")}}
    (src / "initrd.gz").write_bytes(b"initrd")
    files = images.add_checksums(images.plan([{"backing_file": "mini"}], str(tmp_path / "dst"), lab))
    script = images.check_script(files)
    sums = images.parse_check(subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout)
    assert sums == {0: None, 1: None} and images.missing(files, sums) == [0, 1]
    assert (tmp_path / "dst" / "mini").is_dir()
    (tmp_path / "dst" / "mini" / "vmlinuz").write_bytes(b"kernel bytes")
    (tmp_path / "dst" / "mini" / "initrd.gz").write_bytes(b"other")
    sums = images.parse_check(subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout)
    assert images.missing(files, sums) == [1]
    assert "sha256" in images.problems(files, sums)
    assert (tmp_path / "dst" / "mini" / "vmlinuz.sha256").read_text().startswith(files[0].sha256)
    record = images.record(files, sums)
    assert record["mini"]["kernel"] == {"path": files[0].dest, "sha256": files[0].sha256}
