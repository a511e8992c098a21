"""The one interface every way of talking to a scheduler implements.

    planning(site, start, end) -> Planning        who is busy when (slot search)
    submit(spec)               -> Submitted       one job (an advance reservation)
    job(site, job_id)          -> JobInfo         state, start, hosts, subnets, vlan
    jobs_named(site, name)     -> [JobInfo]       the user's jobs not ended, by name (reuse)
    delete(site, job_id)       -> None            release

Backends: oar_cli.OarCli (local, as a given user, or over ssh to <site>.grid5000.fr),
g5k_api.G5kApi (Grid'5000 REST API). Static hosts need no backend (static.py).
"""
import abc


class Backend(abc.ABC):
    name = "backend"
    tz = "UTC"           # the time zone OAR dates are written in (commands run with TZ=tz)
    server_tz = "UTC"    # the time zone of the OAR server's own messages ("could run at ...")
    poll_seconds = 5     # how often to look at a waiting job
    margin = 120         # s between a busy end and the slot start we ask for

    @abc.abstractmethod
    def planning(self, site, start, end):
        ...

    @abc.abstractmethod
    def submit(self, spec):
        ...

    @abc.abstractmethod
    def job(self, site, job_id):
        ...

    @abc.abstractmethod
    def jobs_named(self, site, name):
        ...

    @abc.abstractmethod
    def delete(self, site, job_id):
        ...

    def node(self, site, fqdn):
        """What OAR says of a node ({cluster, cores, threads, mem_mb}), {} when it cannot."""
        return {}
