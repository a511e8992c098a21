from vm5k_doc.document import failed_status


def events(*pairs):
    return {"events": [{"stage": s, "at": "t", "ok": status in (0, None), **({"status": status} if status else {})}
                       for s, status in pairs]}


def test_a_failed_stage_fails_the_document_for_later_stages():
    doc = events(("hosts", 0), ("vms", 130))
    assert failed_status(doc) == 130
    assert failed_status(doc, "sweep") == 130


def test_the_stage_that_failed_may_run_again_on_its_output():
    doc = events(("hosts", 0), ("vms", 130), ("vms", 5))
    assert failed_status(doc, "vms") is None
    assert failed_status(events(("hosts", 5), ("vms", 130)), "vms") == 5


def test_partial_does_not_fail_the_document():
    assert failed_status(events(("hosts", 3))) is None
