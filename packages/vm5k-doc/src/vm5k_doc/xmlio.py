"""vm5k's XML: the topology file in (`<vm5k>`/`<deployment>` > site > cluster > host > vm)
and the state file out (the `final_topo.xml` shape: host FQDNs, VM ip/mac/state).

Parsing is hostile-input safe: no DTD, no entities, no network; errors name the line.

vm5k's files in the wild are looser than its README: its engines added attributes (`load`,
...), ips may be the placeholder `X.X.X.X`, vm5k 2014-2015 wrote a host's `cpu` as cores
x 100, and a host's `mem` is in MB of 10^6 bytes (ram_size / 10**6; mem_mb is MiB). An
attribute this module does not know, NAME, becomes the key `x-NAME` of its host or VM record
(one warning per file) and `write_state` writes it back as NAME; the raw spelling of a known
attribute (`x-ip`, `x-cpu`, `x-mem`) is written back while the record still says the same.
"""
import json
import logging

from lxml import etree

from .checks import check_id
from .errors import InputError

# vm5k's default_vm for a bare <vm/> in a topology file (vm5k-behaviour.md §1.2)
XML_VM_DEFAULTS = {"mem": 512, "n_cpu": 1, "cpuset": "auto", "hdd": 10, "real_file": False}
VM_ATTRIBUTES = ("id", "mem", "n_cpu", "cpu", "hdd", "cpuset", "backing_file", "real_file",
                 "host", "ip", "mac", "hostname", "state")
INT_ATTRIBUTES = {"mem": (16, 4194304), "n_cpu": (1, 1024), "hdd": (1, 65536)}
# vm5k wrote OK/KO; our states are richer: OK <-> ready, others verbatim.
VM_STATE_OUT = {"ready": "OK"}
VM_STATE_IN = {"OK": "ready"}
HOST_STATE_OUT = {"ready": "OK", "planned": "Undeployed"}
HOST_STATE_IN = {"OK": "ready", "Undeployed": "planned"}
MAX_XML_BYTES = 256 * 1024 * 1024
HOST_ATTRIBUTES = ("id", "state", "cpu", "mem")
NO_ADDRESS = "X.X.X.X"   # vm5k's placeholder before addresses are given
CPU_PERCENT = 100        # vm5k 2014-2015: <host cpu="800"> is 8 cores
OWN_PREFIX = "x-"
SITE_PREFIX, CLUSTER_PREFIX = "x-site-", "x-cluster-"   # site/cluster attributes, kept on their hosts
log = logging.getLogger("vm5k")


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def parse(data):
    """Parse XML bytes/str into an element tree root, refusing DTDs and entities."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_XML_BYTES:
        raise InputError(f"XML input larger than {MAX_XML_BYTES} bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"XML line {exc.lineno}: {exc.msg}") from None
    doctype = root.getroottree().docinfo.doctype
    if doctype or b"<!ENTITY" in data[:65536]:
        raise InputError("XML line 1: DOCTYPE and entities are not accepted")
    return root


def _where(el):
    return f"XML line {el.sourceline}"


def _int(el, name, value):
    lo, hi = INT_ATTRIBUTES[name]
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"{_where(el)}: <vm> {name}={value!r} is not an integer") from None
    if not lo <= number <= hi:
        raise InputError(f"{_where(el)}: <vm> {name}={number} is out of range [{lo}, {hi}]")
    return number


def own_key(name):
    """The record key of an XML attribute this module does not know."""
    return OWN_PREFIX + name


def vm_from_element(el, defaults=XML_VM_DEFAULTS, unknown=None):
    """One <vm .../> element as a VM record (vm5k's `cpu` is read as `n_cpu`).

    unknown: a dict counting attributes kept as `x-NAME` keys; None refuses them."""
    vm = dict(defaults)
    for name, value in el.attrib.items():
        if name not in VM_ATTRIBUTES:
            if unknown is None:
                raise InputError(f"{_where(el)}: <vm> has unknown attribute {name!r}")
            vm[own_key(name)] = value
            unknown[("vm", name)] = unknown.get(("vm", name), 0) + 1
        elif name in ("cpu", "n_cpu"):
            vm["n_cpu"] = _int(el, "n_cpu", value)
        elif name in INT_ATTRIBUTES:
            vm[name] = _int(el, name, value)
        elif name == "real_file":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise InputError(f"{_where(el)}: <vm> real_file={value!r} is not a boolean")
            vm[name] = value.lower() in ("true", "1", "yes")
        elif name == "state":
            vm[name] = VM_STATE_IN.get(value, value)
        elif name in ("ip", "mac", "hostname", "host") and value in ("", "None"):
            vm[name] = None
        elif name == "ip" and value == NO_ADDRESS:
            vm[name], vm[own_key(name)] = None, value
        else:
            vm[name] = value
    if "mac" in vm and vm["mac"]:
        vm["mac"] = vm["mac"].lower()
    if "cpuset" in vm and vm["cpuset"] != "auto":
        if not all(part.replace("-", "").isdigit() for part in vm["cpuset"].split(",")):
            raise InputError(f"{_where(el)}: <vm> cpuset={vm['cpuset']!r} is not 'auto' or a CPU list")
    return vm


def template_from_xml(text):
    """vm5k's one-line template `<vm mem=.. hdd=.. n_cpu=.. cpuset=.. backing_file=../>`."""
    root = parse(text)
    if root.tag != "vm":
        raise InputError(f"template: expected a <vm .../> element, got <{root.tag}>")
    template = vm_from_element(root, defaults={})
    for key in ("id", "host", "ip", "mac", "hostname", "state"):
        if key in template:
            raise InputError(f"template: attribute {key!r} is per VM, not for a template")
    return template


def _count(unknown, tag, name):
    unknown[(tag, name)] = unknown.get((tag, name), 0) + 1


def _kept(el, known, prefix, unknown):
    """{prefix + NAME: value} for the attributes of `el` not in `known`."""
    kept = {}
    for name, value in el.attrib.items():
        if name not in known:
            kept[prefix + name] = value
            _count(unknown, el.tag, name)
    return kept


def _positive_int(host, name):
    value = host.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{_where(host)}: <host> {name}={value!r} is not an integer") from None
    if number < 1:
        raise InputError(f"{_where(host)}: <host> {name}={number} is not a positive integer")
    return number


def _host_cpu(host, record):
    """vm5k's host `cpu`: cores, or (vm5k 2014-2015) cores x 100, kept raw as `x-cpu`."""
    value = host.get("cpu")
    cpu = _positive_int(host, "cpu")
    if cpu >= CPU_PERCENT and cpu % CPU_PERCENT == 0:
        record["cores"], record[own_key("cpu")] = cpu // CPU_PERCENT, value
    else:
        record["cores"] = cpu


def mib_of_mb(mb):
    return round(int(mb) * 10**6 / 2**20)


def mb_of_mib(mib):
    return round(int(mib) * 2**20 / 10**6)


def _host_mem(host, record):
    """vm5k's host `mem`: MB of 10^6 bytes (ram_size / 10**6) as mem_mb (MiB); the raw value is
    kept as `x-mem` when writing mem_mb back in MB would not give it again."""
    value = host.get("mem")
    mb = _positive_int(host, "mem")
    record["mem_mb"] = max(mib_of_mb(mb), 1)
    if str(mb_of_mib(record["mem_mb"])) != value:
        record[own_key("mem")] = value


def _warn_unknown(unknown, dropped):
    if unknown:
        names = ", ".join(f"{name} on <{tag}>" for tag, name in sorted(unknown))
        count = sum(unknown.values())
        log.warning("XML: kept %d attribute%s vm5k does not define as x- keys (%s); --xml writes them back",
                    count, "" if count == 1 else "s", names)
    if dropped:
        log.warning("XML: attributes of the root element ignored: %s", ", ".join(sorted(dropped)))


def read_topology(data):
    """A topology or state XML as {"hosts": [...], "vms": [...]} with VMs placed as written.

    Hosts keep the ids of the file (short `cluster-N` names or FQDNs); a vm5k-oar run later
    maps them to the reserved hosts. VMs directly under the root are not placed yet.
    Attributes vm5k-doc does not know are kept as `x-NAME` keys, with one warning.
    """
    root = parse(data)
    if root.tag not in ("vm5k", "deployment"):
        raise InputError(f"XML line {root.sourceline}: root element must be <vm5k> or <deployment>, not <{root.tag}>")
    hosts, vms, seen_vms, seen_hosts = [], [], set(), set()
    lines = {}  # "cluster:<id>" / "host:<id>" -> XML line, for later checks that name the line
    unknown = {}  # (tag, attribute) -> count, for the one warning

    def add_vm(el, host_id):
        vm = vm_from_element(el, unknown=unknown)
        if "id" not in vm:
            raise InputError(f"{_where(el)}: <vm> has no id")
        check_id(vm["id"], f"{_where(el)}: VM id")
        if vm["id"] in seen_vms:
            raise InputError(f"{_where(el)}: duplicate VM id {vm['id']!r}")
        seen_vms.add(vm["id"])
        vm["host"] = host_id
        vm.setdefault("state", "placed" if host_id else "planned")
        vms.append(vm)

    def unexpected(el, parent):
        raise InputError(f"{_where(el)}: unexpected <{el.tag}> in <{parent}>")

    for site in root:
        if site.tag == "vm":
            add_vm(site, None)
            continue
        if site.tag != "site":
            unexpected(site, root.tag)
        site_id = check_id(site.get("id", ""), f"{_where(site)}: site id")
        site_kept = _kept(site, ("id",), SITE_PREFIX, unknown)
        for cluster in site:
            if cluster.tag != "cluster":
                unexpected(cluster, "site")
            cluster_id = check_id(cluster.get("id", ""), f"{_where(cluster)}: cluster id")
            cluster_kept = _kept(cluster, ("id",), CLUSTER_PREFIX, unknown)
            lines.setdefault(f"cluster:{cluster_id}", cluster.sourceline)
            for host in cluster:
                if host.tag != "host":
                    unexpected(host, "cluster")
                host_id = check_id(host.get("id", ""), f"{_where(host)}: host id")
                if host_id in seen_hosts:
                    raise InputError(f"{_where(host)}: duplicate host id {host_id!r}")
                seen_hosts.add(host_id)
                lines[f"host:{host_id}"] = host.sourceline
                record = {"id": host_id, "site": site_id, "cluster": cluster_id,
                          "state": HOST_STATE_IN.get(host.get("state"), host.get("state") or "planned")}
                if record["state"] not in ("planned", "reserved", "deployed", "ready", "KO", "released"):
                    raise InputError(f"{_where(host)}: <host> state={host.get('state')!r} is unknown")
                if host.get("cpu"):
                    _host_cpu(host, record)
                if host.get("mem"):
                    _host_mem(host, record)
                record.update(_kept(host, HOST_ATTRIBUTES, OWN_PREFIX, unknown))
                record.update(site_kept)
                record.update(cluster_kept)
                hosts.append(record)
                for vm in host:
                    if vm.tag != "vm":
                        unexpected(vm, "host")
                    add_vm(vm, host_id)
    _warn_unknown(unknown, root.attrib.keys())
    return {"hosts": hosts, "vms": vms, "lines": lines}


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _own_text(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else _text(value)


def _add_own(attrs, record, known, prefix=OWN_PREFIX):
    """Write a record's `x-NAME` keys back as NAME. The raw spelling of a known attribute
    (`x-ip="X.X.X.X"`) is written only where the record has no value of its own."""
    for key, value in record.items():
        if not key.startswith(prefix) or (prefix == OWN_PREFIX and key.startswith((SITE_PREFIX, CLUSTER_PREFIX))):
            continue
        name = key[len(prefix):]
        if name in known and name in attrs:
            continue
        attrs[name] = _own_text(value)


def _host_attributes(host):
    attrs = {"id": host["id"], "state": HOST_STATE_OUT.get(host.get("state"), host.get("state") or "Undeployed")}
    cores = host.get("cores")
    if cores is not None:
        raw = str(host.get(own_key("cpu"), ""))
        attrs["cpu"] = raw if raw.isdigit() and int(raw) == cores * CPU_PERCENT else str(cores)
    if host.get("mem_mb") is not None:
        raw = str(host.get(own_key("mem"), ""))
        attrs["mem"] = raw if raw.isdigit() and mib_of_mb(raw) == host["mem_mb"] else str(mb_of_mib(host["mem_mb"]))
    _add_own(attrs, host, HOST_ATTRIBUTES)
    return attrs


def _vm_attributes(vm):
    attrs = {}
    for key in ("id", "ip", "mac", "hostname", "mem", "n_cpu", "cpuset", "hdd", "backing_file", "real_file", "state"):
        if key in vm and vm[key] is not None:
            value = VM_STATE_OUT.get(vm[key], vm[key]) if key == "state" else vm[key]
            attrs[key] = _text(value)
    _add_own(attrs, vm, VM_ATTRIBUTES)
    return attrs


def write_state(doc):
    """The document as vm5k's state XML (bytes): sites > clusters > hosts (FQDN) > VMs.

    Raises ValueError when a value or an `x-` key cannot be XML (io.write then writes JSON)."""
    root = etree.Element("vm5k")
    sites = {}
    host_elements = {}
    for host in doc.get("hosts", []):
        site_id = host.get("site") or "unknown"
        cluster_id = host.get("cluster") or "unknown"
        site_el = sites.get(site_id)
        if site_el is None:
            attrs = {"id": site_id}
            _add_own(attrs, host, ("id",), SITE_PREFIX)
            site_el = sites[site_id] = (etree.SubElement(root, "site", attrs), {})
        clusters = site_el[1]
        if cluster_id not in clusters:
            attrs = {"id": cluster_id}
            _add_own(attrs, host, ("id",), CLUSTER_PREFIX)
            clusters[cluster_id] = etree.SubElement(site_el[0], "cluster", attrs)
        host_elements[host["id"]] = etree.SubElement(clusters[cluster_id], "host", _host_attributes(host))
    for vm in doc.get("vms", []):
        parent = host_elements.get(vm.get("host"), root)
        attrs = _vm_attributes(vm)
        if parent is root and vm.get("host"):
            attrs["host"] = vm["host"]  # placed on a host the document does not list
        etree.SubElement(parent, "vm", attrs)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
