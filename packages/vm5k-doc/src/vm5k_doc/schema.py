"""The versioned JSON Schema of the document, and validation with one-line errors.

fastjsonschema compiles the schema to Python and checks 10 000 VMs in milliseconds; when
it says no, jsonschema is asked again for the most precise error and its JSON path.
"""
import functools
import json
from importlib import resources

import jsonschema

from . import checks
from .errors import InputError

VERSION = 1
_PATTERN_WORDS = {
    checks.ID_PATTERN: "a valid id (letters, digits, '.', '_', '-'; starting with a letter or digit)",
    checks.ADDRESS_PATTERN: "a host name or an IP address",
    checks.DOMAIN_PATTERN: "a DNS domain name (letters, digits, '-' and dots)",
    checks.BACKING_FILE_PATTERN: "an image name nor an absolute path",
}


@functools.cache
def schema():
    return json.loads(resources.files(__package__).joinpath(f"schema/document-v{VERSION}.json").read_text())


@functools.cache
def _lab_status_validator():
    text = resources.files(__package__).joinpath("schema/lab-status-v1.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def lab_status_problem(status):
    """None if `vm5k-lab status` printed the shape the lab adapter reads, else one line."""
    error = jsonschema.exceptions.best_match(_lab_status_validator().iter_errors(status))
    return None if error is None else f"{json_path(error.absolute_path)}: {error.message[:200]}"


@functools.cache
def _fast():
    try:
        import fastjsonschema
    except ImportError:  # optional speed-up
        return None
    return fastjsonschema.compile(schema())


@functools.cache
def _precise():
    return jsonschema.Draft202012Validator(schema())


def json_path(parts):
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def error_line(doc):
    """The first schema violation as one line 'PATH: rule broken', or None if valid."""
    error = jsonschema.exceptions.best_match(_precise().iter_errors(doc))
    if error is None:
        return None
    return f"{json_path(error.absolute_path)}: {error_message(error)}"


def error_message(error):
    """A jsonschema error in a user's words: no regex, the keys that are not allowed."""
    message = error.message
    if error.validator == "pattern" and error.validator_value in _PATTERN_WORDS:  # words, not a regex
        words = _PATTERN_WORDS[error.validator_value]
        message = f"{error.instance!r} is {'neither' if ' nor ' in words else 'not'} {words}"
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        own_keys = "^x-" in error.schema.get("patternProperties", {})  # where x- keys are allowed
        extra = sorted(k for k in error.instance if k not in known and not (own_keys and k.startswith("x-")))
        hint = " (add 'x-' to keep your own keys)" if own_keys else ""
        message = f"unknown key(s) {', '.join(map(repr, extra))}{hint}"
    return message if len(message) <= 200 else message[:200] + "..."


def problem(doc):
    """None if doc is valid, else one line naming the path and the rule broken."""
    fast = _fast()
    if fast is not None:
        try:
            fast(doc)
            return consistency_problem(doc)
        except Exception:  # fastjsonschema's JsonSchemaException: get the precise message below
            pass
    return error_line(doc) or consistency_problem(doc)


def consistency_problem(doc):
    """What a schema cannot say: ids are unique, and a VM's host is one of the hosts."""
    host_ids = {}
    for path, records, seen in (("hosts", doc.get("hosts") or [], host_ids), ("vms", doc.get("vms") or [], {})):
        for index, record in enumerate(records):
            first = seen.setdefault(record["id"], index)
            if first != index:
                return f"$.{path}[{index}].id: duplicate id {record['id']!r} (also $.{path}[{first}])"
    if host_ids:
        for index, vm in enumerate(doc.get("vms") or []):
            if vm.get("host") is not None and vm["host"] not in host_ids:
                return f"$.vms[{index}].host: {vm['host']!r} is not one of the document's hosts"
    return None


def validate(doc, where="document"):
    """Raise InputError naming the JSON path and the rule, if doc does not match the schema."""
    line = problem(doc)
    if line:
        raise InputError(f"invalid {where}: {line}")
    return doc
