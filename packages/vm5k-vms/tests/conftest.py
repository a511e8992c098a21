import pytest


@pytest.fixture
def host():
    return {"id": "host1.lab", "address": "10.77.0.11", "state": "ready", "virt": "qemu", "bridge": "br0",
            # the shape vm5k-hosts writes: {image: {role: {path, sha256}}}
            "images": {"mini": {"kernel": {"path": "/img/vmlinuz", "sha256": "ab"},
                                "initrd": {"path": "/img/mini.gz", "sha256": "cd"}},
                       "debian": {"disk": {"path": "/img/debian.qcow2", "sha256": "ef"},
                                  "kernel": {"path": "/img/vmlinuz", "sha256": "ab"},
                                  "initrd": {"path": "/img/mini.gz", "sha256": "cd"}}}}


@pytest.fixture
def vm():
    return {"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1, "cpuset": "auto", "backing_file": "mini",
            "host": "host1.lab", "mac": "00:16:3e:4d:04:01", "ip": "10.77.4.1", "hostname": "vm-1", "state": "addressed"}
