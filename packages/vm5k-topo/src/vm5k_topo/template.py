"""The VM template (`-t`): vm5k's one-line XML `<vm mem=.. hdd=.. .../>` or a JSON object."""
import json

import jsonschema
from vm5k_doc import xmlio
from vm5k_doc.errors import InputError
from vm5k_doc.schema import error_message, schema

TEMPLATE_KEYS = ("mem", "hdd", "n_cpu", "cpuset", "backing_file", "real_file")


def parse(text):
    if text is None:
        return {}
    text = text.strip()
    if text.startswith("<"):
        template = xmlio.template_from_xml(text)
    else:
        try:
            template = json.loads(text)
        except ValueError:
            raise InputError(f"-t {text!r}: neither a <vm .../> element nor a JSON object") from None
        if not isinstance(template, dict):
            raise InputError("-t: the JSON template must be an object")
        if "cpu" in template and "n_cpu" not in template:
            template["n_cpu"] = template.pop("cpu")
    validator = jsonschema.Draft202012Validator({**schema()["$defs"]["template"], "$defs": schema()["$defs"]})
    error = jsonschema.exceptions.best_match(validator.iter_errors(template))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "template"
        raise InputError(f"-t: {where}: {error_message(error)}")
    return template


def complete(template, platform):
    """The template with every key, the platform's defaults filling the gaps."""
    full = {"mem": platform.default_mem, "hdd": platform.default_hdd, "n_cpu": 1, "cpuset": "auto",
            "backing_file": platform.default_backing_file, "real_file": False}
    full.update(template)
    return full
