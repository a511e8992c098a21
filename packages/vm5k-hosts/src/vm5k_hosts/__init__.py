"""vm5k-hosts: make the reserved hosts ready to run VMs (deploy, packages, libvirt, bridge,
kvm/qemu decision, base images); hosts that fail are KO and their VMs re-placed."""
__version__ = "0.1.0"
