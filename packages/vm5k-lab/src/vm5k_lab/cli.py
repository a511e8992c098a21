"""vm5k-lab: a Grid'5000 site in a box on this machine (thin CLI over vm5k_lab.lab)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

import click
from vm5k_doc.errors import InputError, Vm5kError
from vm5k_doc.status import ExitStatus

from . import __version__, images, lab, plan
from .state import lab_lock

LOCK_WAIT = "waiting for the lab lock (/run/vm5k-lab.lock, held by another lab session)..."


def _emit(data) -> None:
    click.echo(json.dumps(data, indent=1))


class _Group(click.Group):
    """One line and the documented exit status per error: bad usage 2, lab failures
    (LabError, a PlatformError) 5, Ctrl-C 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Vm5kError as e:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(f"vm5k-lab: error: {e}", err=True)
            ctx.exit(int(e.status))
        except KeyboardInterrupt:
            click.echo("vm5k-lab: interrupted", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)


@click.group(cls=_Group, epilog="""\b
Examples:
  vm5k-lab up --hosts 3          # site network, 3 hosts (sshd + libvirtd), OAR
  vm5k-lab up --twin             # 6 hosts as a Grid'5000 site: production, exotic,
                                 # non-virtualizable clusters, a node in standby
  vm5k-lab status | jq .hosts
  vm5k-lab ssh host1 virsh list
  vm5k-lab ssh vm-1 hostname     # a VM by name, through the lab DNS
  vm5k-lab image debian          # build the Debian guest image (cached)
  vm5k-lab down""")
@click.version_option(__version__)
@click.option("-v", "--verbose", is_flag=True, help="Log details and show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def main(ctx, verbose, quiet):
    """The local lab: hosts are network namespaces with their own sshd and libvirtd, on a
    site network with DHCP/DNS, reserved through OAR."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ctx.obj = {"verbose": verbose}
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="vm5k-lab: %(message)s", stream=sys.stderr)


@main.command()
@click.option("--hosts", "n_hosts", type=int, default=None,
              help=f"Number of hosts [default: {lab.DEFAULT_HOSTS}, with --twin {plan.TWIN_HOSTS}].")
@click.option("--cores", type=int, default=lab.DEFAULT_CORES, show_default=True, help="Cores per host (OAR, reference).")
@click.option("--mem", "mem_mb", type=int, default=lab.DEFAULT_MEM_MB, show_default=True, help="MiB per host.")
@click.option("--no-oar", is_flag=True, help="Do not start OAR.")
@click.option("--twin", is_flag=True,
              help="A Grid'5000 site twin: the last 3 hosts are clusters prod (queue production), "
                   "exo (exotic) and novirt (no virtualization); the default cluster's last host is in standby.")
def up(n_hosts, cores, mem_mb, no_oar, twin):
    """Bring the lab up (idempotent; repairs a half-up lab); print its status."""
    if n_hosts is None:
        n_hosts = plan.TWIN_HOSTS if twin else lab.DEFAULT_HOSTS
    with lab_lock(timeout=1800, wait_message=LOCK_WAIT):
        _emit(lab.up(n_hosts, cores, mem_mb, with_oar=not no_oar, twin=twin))


@main.command()
def down():
    """Stop every VM, daemon and namespace of the lab, by pid (images stay cached)."""
    with lab_lock(timeout=1800, wait_message=LOCK_WAIT):
        _emit(lab.down())


@main.command()
@click.pass_context
def status(ctx):
    """Print the lab's status as JSON; exit 1 when it is down."""
    s = lab.status()
    _emit(s)
    ctx.exit(0 if s["state"] == "up" else 1)


@main.command()
@click.argument("name", type=click.Choice(images.NAMES), default="mini")
@click.option("--force", is_flag=True, help="Rebuild even if cached.")
def image(name, force):
    """Build a guest image from Debian packages (cached) and print its files."""
    _emit(images.build(name, force=force))


@main.command("stop-host")
@click.argument("host")
def stop_host(host):
    """Stop HOST's sshd and libvirtd (its VMs keep running): fault injection."""
    with lab_lock(timeout=1800, wait_message=LOCK_WAIT):
        _emit(lab.stop_host(host))


@main.command("start-host")
@click.argument("host")
def start_host(host):
    """Start HOST's sshd and libvirtd again."""
    with lab_lock(timeout=1800, wait_message=LOCK_WAIT):
        _emit(lab.start_host(host))


@main.command()
@click.argument("host")
@click.argument("vlan")
def kavlan(host, vlan):
    """Move HOST into KaVLAN VLAN (an id, or DEFAULT to go back), like `kavlan -s`."""
    v = None if vlan.upper() == "DEFAULT" else _int(vlan)
    with lab_lock(timeout=1800, wait_message=LOCK_WAIT):
        _emit(lab.set_vlan(host, v))


def _int(x):
    try:
        return int(x)
    except ValueError:
        raise InputError(f"vlan must be an id or DEFAULT, not {x!r}") from None


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("target")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(target, command):
    """ssh with the lab key to TARGET: [USER@]hostN, an address, or a VM by name (vm-1 or
    vm-1.lab, resolved by the lab DNS 10.77.0.1; the control node's resolver knows no .lab)."""
    argv = lab.ssh_argv(target, *command)
    os.execvp(argv[0], argv)


if __name__ == "__main__":  # pragma: no cover
    main()
