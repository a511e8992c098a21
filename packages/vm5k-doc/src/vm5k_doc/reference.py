"""Reference data: what the sites, clusters and nodes are, and the sites' address plan.

One model for every stage. The files are in the Grid'5000 reference API's per-site layout
(`site`, `clusters`, `nodes` with `architecture`, `main_memory`, `supported_job_types`,
`kavlan`, `performance`), one file per site, with `kavlan-and-subnets.json` (the sites'
KaVLAN and subnet plan) beside them. `vm5k.reference` names a site file or a directory
of them: the Grid'5000 snapshot shipped here (`g5k-reference/`, see its README), the
lab's own (`vm5k-lab status` names it), or the user's.
"""
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources

from .checks import check_address, check_id
from .errors import InputError

PLAN_FILE = "kavlan-and-subnets.json"
MAX_FILE_BYTES = 64 * 2**20   # the biggest real site file is ~2 MB; /dev/zero is not a site
# virtualization that runs x86 guests: Intel VT, AMD-V, and the lab's software emulation
# (its hosts say `tcg` when KVM is unusable); arm64 nodes need arm images (left out)
HW_VIRT = ("ivt", "amd-v", "tcg", "kvm")


def natural_key(name):
    """'taurus-10' after 'taurus-9'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def node_uid(host_id):
    """'nova-1.lyon.grid5000.fr' or 'nova-1-kavlan-4.lyon...' -> 'nova-1'."""
    short = host_id.split(".", 1)[0]
    head, sep, tail = short.rpartition("-kavlan-")
    return head if sep and tail.isdigit() else short


def snapshot_path():
    """The Grid'5000 reference snapshot shipped with vm5k."""
    return str(resources.files(__package__).joinpath("g5k-reference"))


@dataclass
class Node:
    uid: str            # 'taurus-3'
    fqdn: str           # 'taurus-3.lyon.grid5000.fr'
    site: str
    cluster: str
    cores: int = None
    threads: int = None
    mem_mb: int = None
    address: str = None
    virtual: object = None  # supported_job_types.virtual: 'ivt', 'amd-v', False, None
    deploy: bool = True
    flops: float = 0        # performance.node_flops: the KaVLAN service node is the fastest
    kavlan: dict = field(default_factory=dict)   # interface -> {'kavlan-N': address}
    main_device: str = None

    def host_record(self):
        record = {"id": self.fqdn, "site": self.site, "cluster": self.cluster}
        for key in ("cores", "threads", "mem_mb", "address"):
            value = getattr(self, key)
            if value:
                record[key] = value
        return record

    def vlan_address(self, vlan):
        """The node's address in kavlan-<vlan>, main interface first, or None."""
        main = [self.main_device] if self.main_device in self.kavlan else []
        for iface in main + sorted(self.kavlan):
            address = (self.kavlan[iface] or {}).get(f"kavlan-{vlan}")
            if address:
                return address
        return None


@dataclass
class Cluster:
    uid: str
    site: str
    nodes: list            # node uids, in natural order
    cores: int             # per node, all sockets
    threads: int
    mem_mb: int
    virtual: object        # supported_job_types.virtual of the first node
    queues: list = field(default_factory=list)
    exotic: bool = False

    @property
    def virtualizable(self):
        return self.virtual in HW_VIRT

    @property
    def default_queue(self):
        return not self.queues or "default" in self.queues

    def node_record(self, uid, fqdn=None):
        return {"id": fqdn or uid, "site": self.site, "cluster": self.uid,
                "cores": self.cores, "threads": self.threads, "mem_mb": self.mem_mb}


@dataclass
class Reference:
    source: str = None
    directory: str = None                        # where kavlan-and-subnets.json is looked for
    sites: dict = field(default_factory=dict)    # site uid -> site document, in file order
    clusters: dict = field(default_factory=dict)  # cluster uid -> Cluster
    nodes: list = field(default_factory=list)    # Node, by site, cluster, natural order
    node_addresses: dict = field(default_factory=dict)  # node uid -> FQDN
    _by_name: dict = field(default_factory=dict, repr=False)
    _plan: dict = field(default=None, repr=False)

    def add_site(self, data):
        site = check_id(data["site"]["uid"], "site uid")
        if site in self.sites:
            return
        self.sites[site] = data["site"]
        cluster_docs = {c["uid"]: c for c in data.get("clusters", [])}
        nodes = sorted((node_from_json(n, site) for n in data.get("nodes", [])),
                       key=lambda n: (n.cluster, natural_key(n.uid)))
        first = {}
        for node in nodes:
            self.nodes.append(node)
            self._by_name[node.fqdn] = node
            self._by_name.setdefault(node.uid, node)
            self.node_addresses[node.uid] = node.fqdn
            first.setdefault(node.cluster, node)
        for uid, node in first.items():
            doc = cluster_docs.get(uid, {})
            self.clusters[uid] = Cluster(
                uid=uid, site=site, nodes=[n.uid for n in nodes if n.cluster == uid],
                cores=int(node.cores or 1), threads=int(node.threads or node.cores or 1),
                mem_mb=int(node.mem_mb or 0), virtual=node.virtual,
                queues=doc.get("queues", []), exotic=bool(doc.get("exotic", False)))

    def site_clusters(self, site):
        return [c for c in self.clusters.values() if c.site == site]

    def site_nodes(self, site):
        """{uid: Node} of one site ({} for a site the reference does not describe)."""
        return {n.uid: n for n in self.nodes if n.site == site}

    def node(self, name):
        """The node for an FQDN or a short name (None if unknown)."""
        node = self._by_name.get(name)
        if node is None and "." in name:
            node = self._by_name.get(name.split(".", 1)[0])
        return node

    def kind(self, element):
        """'grid5000', 'cluster' or 'site' (a cluster wins when both have the name, as on the lab)."""
        if element == "grid5000":
            return "grid5000"
        if element in self.clusters:
            return "cluster"
        if element in self.sites:
            return "site"
        return None

    def site_of(self, element):
        if element in self.clusters:
            return self.clusters[element].site
        if element in self.sites:
            return element
        node = self.node(element)
        return node.site if node else None

    def address_plan(self):
        """kavlan-and-subnets.json: {'sites': {site: {virt_ip_range, g5ksubnet, kavlans...}}, 'ipv6': ...}."""
        if self._plan is None:
            path = os.path.join(self.directory or "", PLAN_FILE)
            if not os.path.isfile(path):
                raise InputError(f"reference {self.source}: no {PLAN_FILE} beside it")
            try:
                self._plan = json.loads(_read_capped(path))
            except (OSError, ValueError, RecursionError) as exc:
                raise InputError(f"reference {path}: {exc}") from None
        return self._plan

    def site_plan(self, site):
        sites = self.address_plan().get("sites") or {}
        if not sites.get(site):
            raise InputError(f"site {site!r}: not in {PLAN_FILE} (have {', '.join(sorted(sites))})")
        return sites[site]


def node_from_json(data, site):
    arch = data.get("architecture") or {}
    ram = (data.get("main_memory") or {}).get("ram_size")
    main = data.get("main_interface") or {}
    address = main.get("ip")
    if not address:
        for adapter in data.get("network_adapters") or []:
            if adapter.get("mounted") and adapter.get("ip"):
                address = adapter["ip"]
                break
    jobs = data.get("supported_job_types") or {}
    # names from a reference file reach OAR's SQL, ssh and dnsmasq: ids and addresses only
    uid = check_id(data["uid"], "node uid")
    fqdn = check_id(data.get("network_address") or f"{uid}.{site}.grid5000.fr", f"{uid}: network_address")
    if address:
        check_address(address, f"{uid}: address")
    return Node(uid=uid, fqdn=fqdn, site=check_id(data.get("site") or site, f"{uid}: site"),
                cluster=check_id(data.get("cluster") or uid.rsplit("-", 1)[0], f"{uid}: cluster"),
                cores=arch.get("nb_cores"), threads=arch.get("nb_threads"),
                mem_mb=int(ram // 2**20) if ram else None, address=address,
                virtual=jobs.get("virtual", False), deploy=jobs.get("deploy", True),
                flops=(data.get("performance") or {}).get("node_flops") or 0,
                kavlan=data.get("kavlan") or {}, main_device=main.get("device"))


def _read_capped(path):
    """The text of a regular file of at most MAX_FILE_BYTES."""
    with open(path, "rb") as handle:
        if not os.path.isfile(path):
            raise InputError("not a regular file")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"bigger than {MAX_FILE_BYTES // 2**20} MB")
    return data.decode("utf-8")


def _site_files(path):
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".json") and f != PLAN_FILE)
    if os.path.isfile(path):
        return [path]
    if os.path.exists(path):
        raise InputError(f"reference {path}: neither a regular file nor a directory")
    raise InputError(f"reference {path}: no such file or directory (vm5k.reference or --reference)")


def load(path=None, sites_required=True):
    """A Reference from one per-site file or a directory of them (default: the snapshot).
    sites_required=False: a directory with only the address plan will do (vm5k-net)."""
    path = os.path.abspath(path or snapshot_path())
    reference = Reference(source=path, directory=path if os.path.isdir(path) else os.path.dirname(path))
    for filename in _site_files(path):
        try:
            data = json.loads(_read_capped(filename))
            if isinstance(data, dict) and "site" in data and "nodes" in data:
                reference.add_site(data)
        except InputError as exc:
            raise InputError(f"reference {filename}: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise InputError(f"reference {filename}: not in the Grid'5000 site layout ({exc})") from None
    if not reference.sites and sites_required:
        raise InputError(f"reference {path}: no site document (expected keys site, clusters, nodes)")
    return reference
