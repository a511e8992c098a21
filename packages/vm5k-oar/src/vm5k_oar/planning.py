"""The planning (who is busy when) and the slot search over it.

A planning holds, for each reservable host, subnet block (slash_22) and vlan, its sorted,
merged busy intervals [start, end) in epochs. It comes from OAR's gantt (`oarstat --gantt
... -J`), from the Grid'5000 status API, or from reference data alone (all free, for
--dry-run). `find_slot` returns the first window of `walltime` seconds where every wanted
count is free, and the best window seen when none is.
"""
import bisect
from dataclasses import dataclass, field

from vm5k_doc.reference import natural_key

MARGIN = 120  # s after each busy end, as execo: jobs do not free their hosts to the second


@dataclass
class Busy:
    """Merged busy intervals of one resource, searchable in O(log n)."""
    starts: list = field(default_factory=list)
    ends: list = field(default_factory=list)

    @classmethod
    def of(cls, intervals):
        merged = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls([s for s, _ in merged], [e for _, e in merged])

    def free(self, start, end):
        index = bisect.bisect_right(self.ends, start)  # first interval ending after start
        return index == len(self.starts) or self.starts[index] >= end


@dataclass
class PlanHost:
    fqdn: str
    site: str
    cluster: str
    busy: Busy = field(default_factory=Busy)


@dataclass
class Block:
    """A subnet block (slash_22) or a vlan."""
    site: str
    name: str
    kind: str          # 'slash_22', 'kavlan', 'kavlan-local', 'kavlan-global'
    busy: Busy = field(default_factory=Busy)


@dataclass
class Planning:
    start: int
    end: int
    hosts: list = field(default_factory=list)      # PlanHost, in site/cluster/node order
    blocks: list = field(default_factory=list)     # Block
    blocks_known: bool = True                      # False: reference data only (--dry-run), blocks assumed free

    def edges(self):
        """Every time something becomes free, inside the planning."""
        times = set()
        for item in self.hosts + self.blocks:
            times.update(e for e in item.busy.ends if self.start < e < self.end)
        return sorted(times)

    def sort(self):
        self.hosts.sort(key=lambda h: (h.site, h.cluster, natural_key(h.fqdn)))
        return self


@dataclass
class Wanted:
    """What the job must get: host counts per element, subnets per site, a vlan."""
    elements: dict                       # element -> (kind, count); count 0 = every free host
    slash_22: dict = field(default_factory=dict)   # site -> number of /22 blocks
    kavlan: bool = False
    blacklist: set = field(default_factory=set)    # hosts, clusters or sites
    clusters: dict = field(default_factory=dict)   # site/grid5000 element -> clusters it may take hosts from

    def slash_22_for(self, site, fqdns, n_sites):
        """/22 blocks to ask on `site` for the chosen hosts (wanted.py sets the real rule)."""
        return self.slash_22.get(site, 0)


@dataclass
class Slot:
    start: int
    end: int
    hosts: dict          # site -> {element -> [fqdn, ...]} chosen for each wanted element
    slash_22: dict       # site -> /22 blocks to ask for
    vlan: dict           # site -> vlan kind to ask for ('kavlan' or 'kavlan-global'), or {}
    fits: bool
    score: float = 0.0   # fraction of the wanted counts met (for the best slot)

    def summary(self, iso):
        return {"start": iso(self.start), "end": iso(self.end), "fits": self.fits,
                "score": round(self.score, 3),
                "hosts": {site: {e: len(h) for e, h in chosen.items()} for site, chosen in self.hosts.items()},
                "slash_22": self.slash_22, "vlan": self.vlan}


def excluded(host, blacklist):
    short = host.fqdn.split(".", 1)[0]
    return bool({host.fqdn, short, host.cluster, host.site} & blacklist)


def distribute(free_hosts, wanted):
    """Choose hosts for each element from the free ones: clusters first, then sites, then
    grid5000 round-robin over sites (execo's distribute_hosts). Returns (chosen, met, asked)
    with chosen = {site: {element: [fqdn...]}}."""
    taken = set()
    chosen, met, asked = {}, 0, 0
    order = {"cluster": 0, "site": 1, "grid5000": 2}
    for element, (kind, count) in sorted(wanted.elements.items(), key=lambda e: order[e[1][0]]):
        allowed = wanted.clusters.get(element)  # what the job will name: the plan counts on no other
        if kind == "grid5000":
            pools = {}
            for host in free_hosts:
                if host.fqdn not in taken and (not allowed or host.cluster in allowed):
                    pools.setdefault(host.site, []).append(host)
            picks = _round_robin(pools, count)
        else:
            attribute = "cluster" if kind == "cluster" else "site"
            pool = [h for h in free_hosts if getattr(h, attribute) == element and h.fqdn not in taken
                    and (not allowed or h.cluster in allowed)]
            picks = pool if count == 0 else pool[:count]
        need = max(count, 1)
        asked += need
        met += min(len(picks), need)
        for host in picks:
            taken.add(host.fqdn)
            chosen.setdefault(host.site, {}).setdefault(element, []).append(host.fqdn)
    return chosen, met, asked


def _round_robin(pools, count):
    picks, sites = [], sorted(pools)
    index = {site: 0 for site in sites}
    while (count == 0 or len(picks) < count) and sites:
        for site in list(sites):
            if count and len(picks) >= count:
                break
            if index[site] < len(pools[site]):
                picks.append(pools[site][index[site]])
                index[site] += 1
            else:
                sites.remove(site)
    return picks


def evaluate(planning, wanted, start, walltime):
    """The slot starting at `start`: what is free, what would be chosen, does it fit."""
    end = start + walltime
    free_hosts = [h for h in planning.hosts
                  if not excluded(h, wanted.blacklist) and h.busy.free(start, end)]
    chosen, met, asked = distribute(free_hosts, wanted)
    fits = met == asked
    sites = sorted(chosen)
    free_blocks, subnets = {}, {}
    for block in planning.blocks:
        if block.kind == "slash_22" and block.busy.free(start, end):
            free_blocks[block.site] = free_blocks.get(block.site, 0) + 1
    for site in sites:
        want = wanted.slash_22_for(site, [h for hs in chosen[site].values() for h in hs], len(sites))
        subnets[site] = want
        have = free_blocks.get(site, 0) if planning.blocks_known else want
        asked += want
        met += min(have, want)
        fits = fits and have >= want
    vlan = {}
    if wanted.kavlan:
        asked += 1
        kind = "kavlan" if len(sites) <= 1 else "kavlan-global"
        owners = [b.site for b in planning.blocks
                  if b.kind == kind and b.site in sites and b.busy.free(start, end)]
        if not planning.blocks_known and sites:
            owners = sites
        if owners:  # a global vlan goes with the first site that has one free (execo)
            vlan = {owners[0]: kind}
            met += 1
        else:
            fits = False
    return Slot(start, end, chosen, subnets, vlan, fits, met / asked if asked else 1.0)


def relevant(planning, wanted):
    """Only the hosts the wanted elements can use, and the blocks: fewer edges to try."""
    clusters = {e for e, (k, _) in wanted.elements.items() if k == "cluster"}
    sites = {e for e, (k, _) in wanted.elements.items() if k == "site"}
    anywhere = any(k == "grid5000" for k, _ in wanted.elements.values())
    part = Planning(start=planning.start, end=planning.end, blocks=planning.blocks,
                    blocks_known=planning.blocks_known)
    part.hosts = [h for h in planning.hosts if not excluded(h, wanted.blacklist)
                  and (anywhere or h.cluster in clusters or h.site in sites)]
    return part


def enough_free(hosts, wanted, start, end):
    """A quick necessary condition: enough free hosts in total."""
    need = sum(max(count, 1) for _, count in wanted.elements.values())
    free = 0
    for host in hosts:
        if host.busy.free(start, end):
            free += 1
            if free >= need:
                return True
    return False


def find_slot(planning, wanted, walltime, margin=MARGIN):
    """(first fitting slot or None, best slot seen) between planning.start and planning.end."""
    planning = relevant(planning, wanted)
    best = None
    for start in [planning.start] + [t + margin for t in planning.edges()]:
        if start + walltime > planning.end and start != planning.start:
            break
        if best is not None and not enough_free(planning.hosts, wanted, start, start + walltime):
            continue
        slot = evaluate(planning, wanted, start, walltime)
        if slot.fits:
            return slot, slot
        if best is None or slot.score > best.score:
            best = slot
    return None, best
