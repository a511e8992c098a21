"""vm5k-net: give every VM a MAC, an IP and a name before any VM exists."""
__version__ = "0.1.0"
