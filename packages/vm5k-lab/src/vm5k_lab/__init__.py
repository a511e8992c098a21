"""vm5k-lab: the local lab platform (a Grid'5000 site in a box on one Debian machine).

Library entry points: ``vm5k_lab.lab.up()``, ``down()``, ``status()``, ``stop_host()``,
``start_host()``; guest images in ``vm5k_lab.images``; the address plan in ``vm5k_lab.plan``.
"""

__version__ = "0.1.0"
