import base64

import pytest
from vm5k_doc.errors import InputError
from vm5k_vms.plan import plan_vm


@pytest.mark.parametrize("field,value", [
    ("id", "vm-1; rm -rf /"), ("hostname", "a b"), ("hostname", "x\nroot=/dev/sda"),
    ("mac", "00:16:3E:4D:04:01"), ("cpuset", "0;reboot"), ("backing_file", "nope"),
])
def test_hostile_values_are_refused_with_the_field_named(vm, host, field, value):
    vm[field] = value
    with pytest.raises(InputError):
        plan_vm(vm, host)


def test_hostile_host_image_paths_are_refused(vm, host):
    host["images"]["mini"]["kernel"] = "relative/vmlinuz"
    with pytest.raises(InputError, match="kernel"):
        plan_vm(vm, host)


def test_lab_images_get_hostname_and_key_on_the_cmdline(vm, host):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@there"
    assert plan_vm(vm, host, key).cmdline == \
        "console=ttyS0 quiet no_timer_check vmlab.hostname=vm-1 vmlab.sshkey=ssh-ed25519,AAAAC3NzaC1lZDI1NTE5"
    assert plan_vm(vm, host).cmdline == "console=ttyS0 quiet no_timer_check vmlab.hostname=vm-1"


def test_image_without_placeholders_uses_its_declared_params(vm, host):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@there"
    host["images"]["mini"].update(cmdline="console=ttyS0", hostname_param="h", key_param="k")
    cmdline = plan_vm(vm, host, key).cmdline
    word = [w for w in cmdline.split() if w.startswith("k=")][0]
    assert base64.b64decode(word.split("=", 1)[1]).decode() == key
    assert "h=vm-1" in cmdline.split()


def test_a_private_key_is_never_accepted_as_public(vm, host):
    with pytest.raises(InputError):
        plan_vm(vm, host, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc")


def test_debian_overlay_on_the_base(vm, host):
    vm["backing_file"] = "debian"
    plan = plan_vm(vm, host)
    assert plan.base == "/img/debian.qcow2" and plan.overlay == "/tmp/vm5k/vm-1.qcow2"
    assert plan.cmdline.startswith("root=/dev/vda rw console=ttyS0 quiet no_timer_check vmlab.hostname=vm-1")
