"""The vms stage: create, start and wait for the document's VMs (deploy.py), or destroy
(destroy.py) or live-migrate them (migrate.py), over vm5k_doc.ssh and vm5k_doc.remote."""
from vm5k_doc import checks, jobs, platforms
from vm5k_doc.errors import InputError
from vm5k_doc.ssh import Ssh, find_key

from . import deploy, destroy, migrate


def run(ctx, destroy_vms=False, migrations=(), ssh_key=None, ssh_user="root", timeout=1200.0, min_ready=None,
        leases=None, stall=60.0, boot_slots=None):
    checks.check_number(timeout, "--timeout", 1, 7200)  # click's range lets NaN through
    checks.check_number(stall, "--stall", 5, 3600)
    checks.check_id(ssh_user, "--ssh-user")
    # --ssh-key (or VM5K_SSH_KEY), else the platform's own key (the lab's), else ~/.ssh/id_*
    ssh = Ssh(user=ssh_user, key=find_key(ssh_key, platforms.of(ctx.doc).ssh_key))
    if destroy_vms:
        return destroy.run(ctx, ssh)
    if not ctx.dry_run:  # an ended job's hosts are not ours any more
        jobs.check_running(ctx.doc, platforms.of(ctx.doc))
    if migrations:
        return migrate.run(ctx, ssh, parse_migrations(migrations))
    return deploy.run(ctx, ssh, force=ctx.force, timeout=timeout, min_ready=min_ready, leases=leases,
                      stall=stall, boot_slots=boot_slots)


def parse_migrations(values):
    pairs = []
    for value in values:
        vm_id, sep, host = value.partition("=")
        if not sep or not vm_id or not host:
            raise InputError(f"--migrate {value!r}: expected VM=HOST")
        pairs.append((vm_id, host))
    return pairs
