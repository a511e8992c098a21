"""Reference data: what the hosts are (cores, threads, RAM, address), per site.

The files have the per-site layout of shared/g5k-reference/<site>.json (`site`, `clusters`,
`nodes` with `architecture` and `main_memory`); the lab publishes the same shape.
`vm5k.reference` names one such file or a directory of them.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from vm5k_doc.errors import InputError


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

    def host_record(self):
        record = {"id": self.fqdn, "site": self.site, "cluster": self.cluster}
        for key in ("cores", "threads", "mem_mb", "address"):
            value = getattr(self, key)
            if value:
                record[key] = value
        return record


def natural_key(name):
    """'taurus-10' after 'taurus-9'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass
class Reference:
    sites: list = field(default_factory=list)       # site uids, in file order
    clusters: dict = field(default_factory=dict)    # cluster uid -> site uid
    nodes: list = field(default_factory=list)       # Node, in cluster then node order
    paths: list = field(default_factory=list)

    def __post_init__(self):
        self._by_name = {}

    def add_site(self, data, path=None):
        site = data["site"]["uid"]
        if site in self.sites:
            return
        self.sites.append(site)
        self.paths.append(str(path) if path else None)
        for cluster in data.get("clusters", []):
            self.clusters[cluster["uid"]] = site
        nodes = [node_from_json(n, site) for n in data.get("nodes", [])]
        nodes.sort(key=lambda n: (n.cluster, natural_key(n.uid)))
        for node in nodes:
            self.clusters.setdefault(node.cluster, site)
            self.nodes.append(node)
            self._by_name[node.fqdn] = node
            self._by_name.setdefault(node.uid, node)

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
            return self.clusters[element]
        if element in self.sites:
            return element
        node = self.node(element)
        return node.site if node else None


def node_from_json(data, site):
    arch = data.get("architecture") or {}
    ram = (data.get("main_memory") or {}).get("ram_size")
    address = (data.get("main_interface") or {}).get("ip")
    if not address:
        for adapter in data.get("network_adapters") or []:
            if adapter.get("mounted") and adapter.get("ip"):
                address = adapter["ip"]
                break
    jobs = data.get("supported_job_types") or {}
    uid = data["uid"]
    fqdn = data.get("network_address") or f"{uid}.{site}.grid5000.fr"
    return Node(uid=uid, fqdn=fqdn, site=data.get("site") or site,
                cluster=data.get("cluster") or uid.rsplit("-", 1)[0],
                cores=arch.get("nb_cores"), threads=arch.get("nb_threads"),
                mem_mb=int(ram // 2**20) if ram else None, address=address,
                virtual=jobs.get("virtual"), deploy=jobs.get("deploy", True))


def load(path):
    """A Reference from one per-site file or a directory of them."""
    path = Path(path)
    reference = Reference()
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json"))
    elif path.exists():
        files = [path]
    else:
        raise InputError(f"reference data {path} not found (vm5k.reference or --reference)")
    for file in files:
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"reference data {file}: {exc}") from None
        if isinstance(data, dict) and "site" in data and "nodes" in data:
            reference.add_site(data, file)
    if not reference.sites:
        raise InputError(f"reference data {path}: no site document (expected keys site, clusters, nodes)")
    return reference
