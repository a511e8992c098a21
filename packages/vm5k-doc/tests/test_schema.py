import copy
import json
import pathlib

import pytest
from vm5k_doc.errors import InputError
from vm5k_doc.schema import validate

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "deployment-lab.json"


def minimal():
    return {"vm5k": {"version": 1, "platform": "lab", "stages": []},
            "vms": [{"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1}],
            "hosts": [{"id": "host1.lab", "cores": 2, "mem_mb": 4096}]}


def test_the_example_document_validates():
    validate(json.loads(EXAMPLE.read_text()))


def test_user_keys_survive_at_top_level_and_as_x_fields():
    doc = minimal()
    doc["my_experiment"] = {"anything": 1}
    doc["vms"][0]["x-note"] = "mine"
    validate(doc)


@pytest.mark.parametrize("change, path, rule", [
    (lambda d: d["vms"][0].update(id="vm;rm -rf /"), "$.vms[0].id", "is not a valid id"),
    (lambda d: d["vms"][0].update(mem=-5), "$.vms[0].mem", "less than the minimum"),
    (lambda d: d["vms"][0].update(mem=10**9), "$.vms[0].mem", "greater than the maximum"),
    (lambda d: d["vms"][0].update(color="red"), "$.vms[0]", "unknown key(s) 'color'"),
    (lambda d: d["vms"][0].update(mac="52:54:00:ZZ:00:01"), "$.vms[0].mac", ""),
    (lambda d: d["vms"][0].pop("mem"), "$.vms[0]", "'mem' is a required property"),
    (lambda d: d["vm5k"].update(version=2), "$.vm5k.version", "1 was expected"),
    (lambda d: d["vm5k"].update(platform="aws"), "$.vm5k.platform", "is not one of"),
    (lambda d: d["hosts"][0].update(state="weird"), "$.hosts[0].state", "is not one of"),
    (lambda d: d.update(request={"walltime": "2 hours"}), "$.request.walltime", "does not match"),
])
def test_rejections_name_the_path_and_the_rule(change, path, rule):
    doc = copy.deepcopy(minimal())
    change(doc)
    with pytest.raises(InputError) as info:
        validate(doc)
    message = str(info.value)
    assert f"{path}:" in message and rule in message
    assert "\n" not in message
