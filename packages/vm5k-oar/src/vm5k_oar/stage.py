"""The oar stage: find a slot, reserve, wait, write the hosts (reserve.py), or give the
jobs back (--release, release.py), through the OAR backend the platform says."""
from vm5k_doc import checks, platforms
from vm5k_doc import reference as reference_module
from vm5k_doc.errors import InputError

from . import release as release_module
from . import reserve
from .g5k_api import G5kApi
from .oar_cli import OarCli
from .timeutil import walltime_seconds


def make_backend(platform, kind, oar_user, reference, api_user):
    if kind == "api":
        return G5kApi(user=api_user, reference=reference)
    return OarCli(**platform.oar_settings(oar_user))  # where OAR runs and how to reach it


def run(ctx, walltime=None, jobs=None, name=None, release=False, hosts=None, backend_kind="oar",
        window="24:00:00", reference_path=None, oar_user=None, deploy=None, queue=None, api_user=None,
        ssh_key=None, ssh_user=None):
    doc = ctx.doc
    for flag, value in (("--name", name), ("--queue", queue), ("--oar-user", oar_user), ("--api-user", api_user)):
        if value is not None:  # they reach OAR's command line and its SQL: names only
            checks.check_id(value, flag)
    platform = platforms.of(doc)
    path = reference_path or doc["vm5k"].get("reference")
    reference = None
    if path:
        try:
            reference = reference_module.load(path)
        except InputError:
            if not platform.site or ctx.dry_run:  # a one-site platform's OAR knows its hosts
                raise
            ctx.log.warning("reference data %s not readable: using OAR's view of the hosts", path)
    if hosts:
        return reserve.run_static(ctx, hosts, reference, ssh_key, ssh_user)
    if walltime:
        walltime_seconds(walltime)
    backend = make_backend(platform, backend_kind, oar_user, reference, api_user)
    if release:
        release_module.release(doc, backend, ctx.dry_run)
        if not ctx.dry_run:  # what the end of a KaVLAN job does to the hosts
            platform.release_vlans(doc)
        return None
    if deploy is None:
        deploy = platform.deploys
    return reserve.run(ctx, backend, walltime=walltime, job_list=jobs, name=name,
                       window=walltime_seconds(window, "--window"), reference=reference, deploy=deploy, queue=queue)
