"""A stage from Python, without click: vm5k_doc.stage.run with vm5k_topo.stage."""
from vm5k_doc import stage
from vm5k_doc.status import ExitStatus
from vm5k_topo import stage as topo


def test_topo_runs_as_a_library_call():
    result = stage.run("topo", topo.run, new_document=topo.new_document, platform="g5k",
                       n_vm=10, resources="lyon", dry_run=True)
    assert result.status == ExitStatus.OK and result.message is None
    assert len(result.doc["vms"]) == 10 and result.doc["reservation"]["wanted"] == {"nova": 1}
    assert result.doc["vm5k"]["stages"] == ["topo"]


def test_a_library_call_reports_bad_input_with_the_document():
    result = stage.run("topo", topo.run, new_document=topo.new_document, platform="g5k",
                       n_vm=10, resources="atlantis", dry_run=True)
    assert result.status == ExitStatus.BAD_INPUT and "atlantis" in result.message
    assert result.doc["events"][-1]["ok"] is False
