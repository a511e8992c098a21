"""`-r` and `-b`: Grid'5000 elements (grid5000, sites, clusters, hosts), each with an
optional `:N` host count (`taurus:4,nancy:10`; no count means "as many as needed")."""
from vm5k_doc.checks import check_id
from vm5k_doc.errors import InputError

MAX_HOSTS = 100000


def parse_resources(text):
    """'grid5000,taurus:4' -> [{'element': 'grid5000', 'hosts': 0}, {'element': 'taurus', 'hosts': 4}]"""
    elements = []
    for item in _items(text, "-r"):
        name, _, count = item.partition(":")
        check_id(name, "-r element")
        try:
            hosts = int(count) if count else 0
        except ValueError:
            raise InputError(f"-r {item!r}: host count {count!r} is not an integer") from None
        if not 0 <= hosts <= MAX_HOSTS:
            raise InputError(f"-r {item!r}: host count must be between 0 and {MAX_HOSTS}")
        if any(e["element"] == name for e in elements):
            raise InputError(f"-r: element {name!r} is given twice")
        elements.append({"element": name, "hosts": hosts})
    return elements


def parse_blacklist(text):
    return [check_id(item, "-b element") for item in _items(text, "-b")] if text else []


def _items(text, flag):
    items = [part.strip() for part in (text or "").split(",")]
    if not items or any(not part for part in items):
        raise InputError(f"{flag} {text!r}: empty element in the list")
    return items


def classify(elements, reference):
    """Add `kind` (grid5000/site/cluster) to each element; unknown names are errors."""
    for element in elements:
        name = element["element"]
        if name == "grid5000":
            element["kind"] = "grid5000"
        elif name in reference.sites:
            element["kind"] = "site"
        elif name in reference.clusters:
            element["kind"] = "cluster"
        else:
            raise InputError(f"-r: unknown site or cluster {name!r} (sites: {', '.join(sorted(reference.sites))})")
    return elements
