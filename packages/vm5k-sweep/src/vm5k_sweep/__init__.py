"""vm5k-sweep: run a command once per combination of parameters, persistently.

Library first: `params` builds the grid, `store` keeps the state in a directory,
`runner` claims and runs combinations, `results` joins them into rows; `cli` is thin.
"""
__version__ = "0.1.0"
