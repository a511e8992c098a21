"""Job specifications like vm5k's (execo get_jobs_specs), one per site, and the oarsub
command line for each. Examples (as vm5k submitted them):

    oarsub -t deploy -l "slash_22=1+{cluster='taurus'}/nodes=4,walltime=2:00:00" -r "<date>" -n "vm5k" "sleep 31536000"
    oarsub -t deploy -l "{type='kavlan'}/vlan=1+{cluster='taurus'}/nodes=4,walltime=2:00:00" ...

Differences from vm5k, on purpose: slash_22 is sized from the VMs that can land on the
site at 1022 addresses per /22 (vm5k dropped the first 300 and overflowed past 724 VMs),
the job name defaults to `vm5k`, and multi-site is one oarsub per site with one start date
(no oargrid).
"""
import math
from dataclasses import dataclass, field

from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError

from .timeutil import oar_date, oar_walltime

ADDRESSES_PER_SLASH_22 = 1022   # a /22 minus its first and last address
COMMAND = "sleep 31536000"      # what execo runs in a passive reservation (a year)
DEFAULT_NAME = "vm5k"


@dataclass
class JobSpec:
    site: str
    resources: str                  # the -l value without walltime
    walltime: int                   # s
    types: list = field(default_factory=list)
    name: str = DEFAULT_NAME
    reservation: int = None         # epoch of the advance reservation (-r), None to submit as soon as possible
    properties: str = None          # -p
    queue: str = None
    command: str = COMMAND

    def resource_line(self):
        return f"{self.resources},walltime={oar_walltime(self.walltime)}"

    def oarsub_argv(self, tz):
        """argv (never a shell string): values from users stay single words."""
        argv = ["oarsub"]
        for job_type in self.types:
            argv += ["-t", job_type]
        argv += ["-l", self.resource_line()]
        if self.reservation is not None:
            argv += ["-r", oar_date(self.reservation, tz)]
        if self.properties:
            argv += ["-p", self.properties]
        if self.queue:
            argv += ["-q", self.queue]
        argv += ["-n", self.name, self.command]
        return argv


def sql_list(values):
    """'a', 'b' for OAR's SQL: every value is an id (no quote can get in)."""
    return ", ".join(f"'{check_id(v, 'name in an OAR property')}'" for v in sorted(values))


def host_part(kind, element, count, bad_clusters=(), bad_hosts=(), allowed=()):
    """`{cluster='x'}/nodes=N`, with the blacklist as SQL, as execo writes it; a site's
    hosts only from `allowed` clusters when the plan was sized on them."""
    conditions = []
    if kind == "cluster":
        conditions.append(f"cluster='{check_id(element, 'cluster')}'")
    elif allowed:
        conditions.append(f"cluster in ({sql_list(set(allowed) - set(bad_clusters))})")
    elif bad_clusters:
        conditions.append(f"cluster not in ({sql_list(bad_clusters)})")
    if bad_hosts:
        conditions.append(f"host not in ({sql_list(bad_hosts)})")
    if not conditions:
        return f"nodes={count}"
    return "{" + " and ".join(conditions) + "}/" + f"nodes={count}"


def split_blacklist(blacklist, site, reference):
    """The site's blacklisted clusters and host FQDNs (sites are left out of the planning)."""
    clusters, hosts = [], []
    for item in blacklist:
        check_id(item, "blacklist entry")
        kind = reference.kind(item) if reference else None
        if kind == "cluster":
            if reference.clusters[item].site == site:
                clusters.append(item)
        elif kind is None:
            node = reference.node(item) if reference else None
            if node is None:
                hosts.append(item if "." in item else f"{item}.{site}.grid5000.fr")
            elif node.site == site:
                hosts.append(node.fqdn)
    return clusters, hosts


def slash_22_count(n_vms):
    return max(1, math.ceil(n_vms / ADDRESSES_PER_SLASH_22)) if n_vms else 0


def build(slot, kinds, walltime, *, name=DEFAULT_NAME, deploy=True, reference=None,
          blacklist=(), queue=None, clusters=None):
    """One JobSpec per site of the slot, all at the slot's start.

    kinds: element -> 'cluster' | 'site' | 'grid5000'. The host counts are those chosen in
    the slot (so `0 = every free host` becomes a number OAR can hold us to).
    """
    specs = []
    for site in sorted(slot.hosts):
        check_id(site, "site")
        parts = []
        if slot.vlan.get(site):
            parts.append(f"{{type='{slot.vlan[site]}'}}/vlan=1")
        if slot.slash_22.get(site):
            parts.append(f"slash_22={slot.slash_22[site]}")
        bad_clusters, bad_hosts = split_blacklist(blacklist, site, reference)
        named = []   # the clusters this job's hosts may come from
        for element, hosts in slot.hosts[site].items():
            check_id(element, "element")
            kind = "cluster" if kinds[element] == "cluster" else "site"
            allowed = (clusters or {}).get(element, ())
            if reference is not None:  # this site's part of a grid5000 element's clusters
                allowed = [c for c in allowed if c in reference.clusters and reference.clusters[c].site == site]
            parts.append(host_part(kind, element, len(hosts), bad_clusters, bad_hosts, allowed))
            named += [element] if kind == "cluster" else list(allowed)
        exotic, site_queue = cluster_needs(reference, named, site, queue)
        types = (["deploy"] if deploy else []) + (["exotic"] if exotic else [])
        specs.append(JobSpec(site=site, resources="+".join(parts), walltime=walltime,
                             types=types, name=name, reservation=slot.start, queue=site_queue))
    return specs


def cluster_needs(reference, clusters, site, queue=None):
    """(exotic, queue) a job on these clusters needs, as Grid'5000's OAR wants them: `-t
    exotic` for an exotic cluster (EnOSlib adds it too), and the cluster's queue when it is
    not in the default one (production clusters). One job has one queue."""
    known = [reference.clusters[c] for c in clusters if reference is not None and c in reference.clusters]
    exotic = any(c.exotic for c in known)
    needed = {}
    for cluster in known:
        if not cluster.default_queue:
            others = [q for q in cluster.queues if q != "admin"]
            needed[cluster.uid] = "production" if "production" in others else others[0] if others else None
    queues = set(needed.values()) | ({None} if len(needed) < len(known) else set())
    if len(queues) > 1:
        which = ", ".join(f"{c}: {needed.get(c, 'default')}" for c in sorted(
            c.uid for c in known))
        raise InputError(f"site {site}: clusters of different OAR queues in one job ({which}); "
                         f"ask them in separate runs")
    site_queue = next(iter(queues)) if queues else None
    if queue and site_queue and queue != site_queue:
        raise InputError(f"--queue {queue}: {', '.join(sorted(needed))} on {site} are in queue {site_queue}")
    return exotic, queue or site_queue
