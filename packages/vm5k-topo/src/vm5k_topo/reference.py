"""Reference data in the Grid'5000 API shape: sites, clusters and their nodes.

The files use the per-site layout of shared/g5k-reference (`site`, `clusters`, `nodes`);
the Grid'5000 snapshot ships with this package, the lab publishes its own.
"""
import json
import os
from dataclasses import dataclass, field
from importlib import resources

from vm5k_doc.errors import InputError

# virtualization that runs x86 guests: Intel VT, AMD-V, and the lab's software emulation
# (its hosts say `tcg` when KVM is unusable); arm64 nodes need arm images (left out)
HW_VIRT = ("ivt", "amd-v", "tcg", "kvm")
LAB_REFERENCE = "/var/lib/vm5k-lab/reference/lab.json"


@dataclass
class Cluster:
    uid: str
    site: str
    nodes: list            # node uids, in reference order
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
    source: str
    sites: dict            # site uid -> site document
    clusters: dict         # cluster uid -> Cluster
    node_addresses: dict   # node uid -> network_address (FQDN)

    def site_clusters(self, site):
        return [c for c in self.clusters.values() if c.site == site]


def _natural(uid):
    """taurus-2 before taurus-10."""
    head, _, tail = uid.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (uid, 0)


def snapshot_path():
    return str(resources.files(__package__).joinpath("reference"))


def _site_files(path):
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.endswith(".json") and f != "kavlan-and-subnets.json")
        if not files:
            raise InputError(f"reference {path}: no site JSON files")
        return files
    if os.path.isfile(path):
        return [path]
    raise InputError(f"reference {path}: no such file or directory")


def load(path=None):
    """Load reference data from a site file or a directory of them (default: the snapshot)."""
    path = path or snapshot_path()
    sites, clusters, addresses = {}, {}, {}
    for filename in _site_files(path):
        try:
            with open(filename, encoding="utf-8") as handle:
                data = json.load(handle)
            site = data["site"]
            site_uid = site["uid"]
            cluster_docs = {c["uid"]: c for c in data.get("clusters", [])}
            first_nodes = {}
            node_lists = {}
            for node in data["nodes"]:
                node_lists.setdefault(node["cluster"], []).append(node["uid"])
                first_nodes.setdefault(node["cluster"], node)
                addresses[node["uid"]] = node.get("network_address") or f"{node['uid']}.{site_uid}.grid5000.fr"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"reference {filename}: not in the Grid'5000 site layout ({exc})") from None
        sites[site_uid] = site
        for uids in node_lists.values():
            uids.sort(key=_natural)
        for uid, node in first_nodes.items():
            arch = node.get("architecture", {})
            doc = cluster_docs.get(uid, {})
            clusters[uid] = Cluster(
                uid=uid, site=site_uid, nodes=node_lists[uid],
                cores=int(arch.get("nb_cores") or 1),
                threads=int(arch.get("nb_threads") or arch.get("nb_cores") or 1),
                mem_mb=int(node.get("main_memory", {}).get("ram_size", 0)) // 2**20,
                virtual=node.get("supported_job_types", {}).get("virtual", False),
                queues=doc.get("queues", []), exotic=bool(doc.get("exotic", False)))
    return Reference(source=os.path.abspath(path), sites=sites, clusters=clusters, node_addresses=addresses)
