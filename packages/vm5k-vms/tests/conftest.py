import pytest


@pytest.fixture
def host():
    return {"id": "host1.lab", "address": "10.77.0.11", "state": "ready", "virt": "qemu", "bridge": "br0",
            "images": {"mini": {"kernel": "/img/vmlinuz", "initrd": "/img/mini.gz", "cmdline": "console=ttyS0 quiet",
                                "hostname_param": "vmlab.hostname"},
                       "debian": {"disk": "/img/debian.qcow2", "kernel": "/img/vmlinuz", "initrd": "/img/mini.gz",
                                  "cmdline": "root=/dev/vda rw console=ttyS0 quiet", "hostname_param": "systemd.hostname"}}}


@pytest.fixture
def vm():
    return {"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1, "cpuset": "auto", "backing_file": "mini",
            "host": "host1.lab", "mac": "00:16:3e:4d:04:01", "ip": "10.77.4.1", "hostname": "vm-1", "state": "addressed"}
