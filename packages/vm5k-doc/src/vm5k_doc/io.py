"""Read a document (JSON or XML, auto-detected) and write it (JSON, or vm5k's state XML)."""
import json
import sys

from . import document, platforms, xmlio
from .errors import InputError
from .schema import validate

# a document of 100 000 VMs is about 35 MB after every stage and under 1 GB of memory;
# a bigger input is refused before it is parsed
MAX_INPUT_BYTES = 64 * 2**20


def read_bytes(source):
    """Bytes from a path, '-' (stdin) or a binary stream."""
    if source in (None, "-"):
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "stdin"
    elif hasattr(source, "read"):
        data = source.read(MAX_INPUT_BYTES + 1)
        name = getattr(source, "name", "input")
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}") from None
        name = source
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: input larger than {MAX_INPUT_BYTES // 2**20} MB (refused before parsing)")
    if not data.strip():
        raise InputError(f"{name}: empty input (expected a vm5k JSON document or XML topology)")
    return data, name


def is_xml(data):
    return data.lstrip()[:1] == b"<"


def parse_json(data, name="input"):
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(f"{name}: a vm5k document is a JSON object, not {type(doc).__name__}")
    if b"\\ud" in data.lower():  # an escaped surrogate: only a pair makes a character
        _refuse_lone_surrogates(doc, name)
    return doc


def _refuse_lone_surrogates(value, name, path="$"):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{name}: {path}: a lone UTF-16 surrogate (\\ud800-\\udfff) is not text") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, name, path)
            _refuse_lone_surrogates(item, name, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_lone_surrogates(item, name, f"{path}[{index}]")


def document_from_topology(topology, platform=None):
    """A topology XML as a document after the topo stage: VMs placed as written."""
    doc = document.new(platform or platforms.of_sites({host.get("site") for host in topology["hosts"]}))
    counts = {}
    for host in topology["hosts"]:
        counts[host["cluster"]] = counts.get(host["cluster"], 0) + 1
    doc["request"] = {
        "n_vm": len(topology["vms"]),
        "resources": [{"element": c, "kind": "cluster", "hosts": n} for c, n in counts.items()],
        "blacklist": [],
        "distribution": "explicit",
    }
    doc["hosts"] = topology["hosts"]
    doc["vms"] = topology["vms"]
    document.mark_stage(doc, "topo")
    return doc


def read(source=None):
    """Read one document from a path, '-' or a stream; XML topologies are converted.

    Returns (doc, kind, lines): kind is 'json' or 'xml'; lines maps "host:<id>" and
    "cluster:<id>" to XML lines for later errors. The document is validated.
    """
    data, name = read_bytes(source)
    if is_xml(data):
        topology = xmlio.read_topology(data)
        return validate(document_from_topology(topology), name), "xml", topology["lines"]
    return validate(parse_json(data, name), name), "json", {}


def dumps(doc, xml=False):
    if xml:
        return xmlio.write_state(doc)
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()


def write(doc, target=None, xml=False):
    """Write the document. A document XML cannot carry (control characters in a value) is
    written as JSON, which every stage reads, and InputError says so: nothing is lost."""
    try:
        data = dumps(doc, xml)
    except ValueError as exc:
        if not xml:
            raise
        write(doc, target)
        raise InputError(f"--xml: {exc}; the document was written as JSON") from None
    if target in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(target, "wb") as handle:
            handle.write(data)
