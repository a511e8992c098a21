"""vm5k-vms: create, start and wait for every VM of a deployment document; destroy; migrate."""
__version__ = "0.1.0"
