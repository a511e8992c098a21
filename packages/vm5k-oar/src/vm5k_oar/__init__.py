"""vm5k-oar: find a slot, reserve hosts with OAR, wait, hand them over, release."""
__version__ = "0.1.0"
