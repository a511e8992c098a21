"""vm5k-topo -i on vm5k's real topology and state files (vm5k-doc/tests/fixtures/vm5k-xml):
clusters retired since are one line naming --reference, or sized from the host cpu/mem the
file carries."""
import pathlib

REAL = pathlib.Path(__file__).parents[2] / "vm5k-doc" / "tests" / "fixtures" / "vm5k-xml"
G5K = ("--platform", "g5k", "--dry-run")


def snapshot_2018():
    from vm5k_doc.reference import snapshot_path
    return str(pathlib.Path(snapshot_path()) / "2018-03")


def test_a_retired_cluster_names_reference_and_the_snapshot_that_has_it(topo):
    status, doc, err = topo(*G5K, "-i", str(REAL / "infile.xml"))
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("vm5k-topo: error: XML line 3: unknown cluster 'granduc' (not in the reference data ")
    assert f"give --reference with data that has it ({snapshot_2018()} has it)" in err
    assert doc["events"][-1]["status"] == 2  # the document is written all the same


def test_the_docs_topology_runs_on_the_2018_snapshot(topo):
    status, doc, err = topo(*G5K, "-i", str(REAL / "infile.xml"), "--reference", snapshot_2018())
    assert status == 0, err
    assert doc["reservation"]["wanted"] == {"granduc": 4, "hercule": 1, "orion": 2}
    assert len(doc["vms"]) == 18 and {vm["n_cpu"] for vm in doc["vms"]} == {1}


def test_a_cluster_no_snapshot_has_and_no_host_data(topo):
    status, _, err = topo(*G5K, "-i", str(REAL / "lyon_nancy_stremi.xml"), "--reference", snapshot_2018())
    assert status == 2 and err.count("\n") == 1
    assert "unknown cluster 'stremi'" in err
    assert err.endswith("give --reference with data that has it, or cpu and mem on its <host> elements\n")


def test_host_data_of_a_state_file_sizes_a_retired_cluster(topo):
    """vm5k's final_topo.xml carries each host's cpu (cores x 100) and mem (MB): enough to
    size adonis; but vm5k ran 24 VMs of 1 GiB on its 24157 MiB (memory overcommitted),
    which vm5k-doc's placement rule (RAM minus the host's reserve) does not allow."""
    status, _, err = topo(*G5K, "-i", str(REAL / "challenge-final_topo.xml"))
    assert status == 2 and err.count("\n") == 1
    assert "XML line 4: the 24 VMs of host 'adonis-1-kavlan-13.grenoble.grid5000.fr' do not fit " \
           "on a adonis node (24157 MB, 8 cores)" in err


def test_host_data_is_enough(topo, tmp_path):
    (tmp_path / "stremi.xml").write_text(
        '<deployment><site id="reims"><cluster id="stremi">\n'
        '<host id="stremi-1" cpu="2400" mem="50755"><vm id="vm-0" ip="X.X.X.X" mem="256"/><vm id="vm-1"/></host>\n'
        '</cluster></site></deployment>')
    status, doc, err = topo(*G5K, "-i", str(tmp_path / "stremi.xml"))
    assert status == 0, err
    assert "stremi not in the reference data: sized from the file's host cpu and mem" in err
    assert doc["reservation"]["wanted"] == {"stremi": 1}
    assert doc["hosts"][0]["cores"] == 24 and doc["hosts"][0]["mem_mb"] == 48404
    assert doc["vms"][0]["ip"] is None
