"""Files to many hosts through execo: `Put` (parallel scp) to a few hosts, `ChainPut` (a
netcat chain host to host, the control node sends each file once, with the mends of
execo_mends) to many. Commands go through vm5k_doc.remote; execo is only here.
"""
import logging
import sys

from . import execo_mends

# up to this many hosts, parallel scp from the control node was measured faster than the
# chain (bench/broadcast.py, 200 MB to 3 lab hosts: Put 0.66, ChainPut 0.95 of a scp loop);
# beyond it the control node's uplink is the bottleneck and the chain sends each file once
CHAIN_FROM_HOSTS = 5


def _quiet_execo():
    import execo.log
    execo.log.logger_handler.setStream(sys.stderr)   # execo logs to stdout: ours is the document
    execo.log.logger.setLevel(logging.CRITICAL)


def copy(files, addresses, directory, ssh, method="auto"):
    """Copy local files into `directory` (which must exist) on every address, as `ssh`
    (a vm5k_doc.ssh.Ssh: its user, key and options) reaches them.

    method 'chainput': execo ChainPut, a host-to-host netcat chain (the control node sends
    each file once); 'put': execo Put, parallel scp (the control node sends it N times).
    Errors are not reported here: the caller verifies checksums on every host afterwards.
    """
    import execo  # at call time: importing execo is slow and logs

    _quiet_execo()
    if not files or not addresses:
        return
    hosts = [execo.Host(a) for a in addresses]
    params = ssh.execo_params()
    if method == "auto":
        method = "chainput" if len(addresses) >= CHAIN_FROM_HOSTS else "put"
    if method == "chainput":
        execo_mends.apply()
        action = execo.ChainPut(hosts, list(files), directory, connection_params=params)
    elif method == "put":
        action = execo.Put(hosts, list(files), directory, connection_params=params)
    else:
        raise ValueError(f"unknown broadcast method {method!r}")
    action.run()
