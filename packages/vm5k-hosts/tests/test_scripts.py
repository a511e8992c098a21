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


def _kernel_bytes():
    return b"\0" * 0x202 + b"HdrS" + b"\0" * 64


def test_a_directory_image_is_kernel_initrd_and_maybe_a_disk(tmp_path, monkeypatch):
    """What a static user brings: a copy of `vm5k-lab image`'s directory (vmlinuz,
    initrd.gz, disk.qcow2), each file checked for its kind; a raw disk keeps its format."""
    monkeypatch.setenv("VM5K_IMAGE_DIRS", str(tmp_path))
    mini, debian = tmp_path / "mini", tmp_path / "debian"
    for d in (mini, debian):
        d.mkdir()
        (d / "vmlinuz").write_bytes(_kernel_bytes())
        (d / "initrd.gz").write_bytes(b"\x1f\x8b" + b"initrd")
        (d / "manifest.json").write_text("{}")
    (debian / "disk.raw").write_bytes(b"\0" * 510 + b"\x55\xaa")
    files = images.plan([{"backing_file": str(mini)}, {"backing_file": f"{debian}/"}], "/img", None)
    assert [(f.role, f.dest, f.format) for f in files] == [
        ("kernel", "/img/mini/vmlinuz", None), ("initrd", "/img/mini/initrd.gz", None),
        ("kernel", "/img/debian/vmlinuz", None), ("initrd", "/img/debian/initrd.gz", None),
        ("disk", "/img/debian/disk.raw", "raw")]
    record = images.record(files, {i: "s" for i in range(5)})
    assert record[f"{debian}/"]["format"] == "raw" and set(record[str(mini)]) == {"kernel", "initrd"}


def test_an_image_of_the_wrong_kind_or_missing_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("VM5K_IMAGE_DIRS", str(tmp_path))
    image = tmp_path / "img"
    image.mkdir()
    with pytest.raises(InputError, match=r"holds vmlinuz \(and initrd.gz or initrd.img\); none here"):
        images.plan([{"backing_file": str(image)}], "/img", None)
    (image / "vmlinuz").write_bytes(b"#!/bin/sh\n")
    (image / "initrd.img").write_bytes(b"\x1f\x8b")
    with pytest.raises(InputError, match="not a Linux boot image"):
        images.plan([{"backing_file": str(image)}], "/img", None)
    (image / "vmlinuz").write_bytes(_kernel_bytes())
    (image / "initrd.img").write_bytes(b"text")
    with pytest.raises(InputError, match="neither a compressed nor a cpio initrd"):
        images.plan([{"backing_file": str(image)}], "/img", None)
    (image / "initrd.img").unlink()
    (image / "initrd.img").symlink_to("/etc/passwd")      # a link out of the image directories
    with pytest.raises(InputError, match="not under an image directory"):
        images.plan([{"backing_file": str(image)}], "/img", None)
    with pytest.raises(InputError, match=r"'mini': not an image of this platform \(it has: none\); name a disk"):
        images.plan([{"backing_file": "mini"}], "/img", None)
    only_on_hosts = images.plan([{"backing_file": f"{tmp_path}/gone.qcow2"}], "/img", None)
    assert images.problems(only_on_hosts, {}) == f"{tmp_path}/gone.qcow2 missing (nor on this machine to copy it from)"
