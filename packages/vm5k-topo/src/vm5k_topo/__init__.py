"""vm5k-topo: the request, the VMs, and the hosts they need."""
__version__ = "0.1.0"
