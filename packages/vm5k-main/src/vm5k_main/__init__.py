"""vm5k: vm5k's own command lines (`vm5k --n_vm 100 -w 2:00:00`) run as the pipeline
vm5k-topo | vm5k-oar | vm5k-net | vm5k-hosts | vm5k-vms.

Library first: `flags` holds vm5k's flags, `translate` turns a vm5k command line into the
stages' command lines, `pipeline` runs them keeping every document in a directory; `cli`
is thin.
"""
__version__ = "0.1.0"
