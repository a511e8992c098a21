"""`vm5k-doc plot` and `vm5k-doc timeline`: real PNG and SVG files from real recorded runs
(fixtures/: the demo's 6 VMs, all ready, and 9 VMs with a 13 s timeout, 5 of them KO),
from a 1 000-VM document that vm5k-topo and vm5k-oar --dry-run plan for Grid'5000, and
from a 1 000-VM boot storm of events; text never overlaps; bad input is one line, exit 2."""
import datetime
import json
import pathlib
import random
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")
from matplotlib.text import Text  # noqa: E402
from vm5k_doc import io, plot, timeline  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
BIN = pathlib.Path(sys.executable).parent
SVG = "{http://www.w3.org/2000/svg}"


def vm5k_doc(*args, stdin=None):
    return subprocess.run([BIN / "vm5k-doc", *map(str, args)], capture_output=True, text=True, input=stdin)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def overlapping_texts(fig):
    """Pairs of visible texts whose boxes intersect, and texts out of the figure."""
    fig.canvas.draw()  # lays the ticks and the legend out
    renderer = fig.canvas.get_renderer()
    hidden = set()  # labels of ticks out of the axis' range are not drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            hidden.update(id(tick.label1) for tick in axis.get_major_ticks() if not low <= tick.get_loc() <= high)
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    page = fig.bbox
    bad = [(a, "outside") for a, box in boxes
           if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if box_a.overlaps(box_b) and box_a.intersection(box_a, box_b).width > 0.5:
                bad.append((a, b))
    return bad


def pixels_of(path, colour):
    """How many pixels of the PNG have this '#rrggbb' colour."""
    import matplotlib.image
    import numpy
    image = matplotlib.image.imread(path)[:, :, :3]
    rgb = numpy.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((numpy.abs(image - rgb).max(axis=2) < 0.01).sum())


@pytest.fixture(scope="module")
def planned_1000(tmp_path_factory):
    """1 000 VMs planned for lyon by vm5k-topo, then placed on hosts by vm5k-oar --dry-run."""
    topo = subprocess.run([BIN / "vm5k-topo", "--platform", "g5k", "--dry-run", "-n", "1000", "-r", "lyon",
                           "-t", '{"mem": 256}', "--cpu-ratio", "12"], capture_output=True, text=True, check=True)
    oar = subprocess.run([BIN / "vm5k-oar", "--dry-run"], input=topo.stdout, capture_output=True, text=True, check=True)
    folder = tmp_path_factory.mktemp("planned")
    (folder / "topo.json").write_text(topo.stdout)
    (folder / "placed.json").write_text(oar.stdout)
    return folder


def boot_storm(path, n_vms=1000, n_hosts=20, seed=1):
    """Events shaped like vm5k-vms's for a boot storm: per host, VMs defined one after the
    other, DHCP later under load, 3% restarted after the timeout and some of those KO."""
    rng = random.Random(seed)
    origin = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()
    events = []

    def emit(seconds, vm, host, step, state, **extra):
        at = datetime.datetime.fromtimestamp(origin + seconds, datetime.UTC).isoformat(timespec="seconds")
        events.append({"at": at, "t": round(seconds + 0.2, 3), "stage": "vms", "event": "vm", "id": vm,
                       "host": host, "step": step, "state": state, "seconds": round(seconds, 2), **extra})

    for i in range(n_vms):
        vm, host, rank = f"vm-{i + 1}", f"host-{i % n_hosts + 1}", i // n_hosts
        defined = 0.5 + 0.15 * rank + rng.random() * 0.1
        emit(defined, vm, host, "defined", "defined")
        emit(defined + 0.3, vm, host, "started", "started")
        booting = defined + 0.3
        if rng.random() < 0.03:
            booting += 120
            emit(booting, vm, host, "restarted", "started")
            if rng.random() < 0.4:
                emit(booting + 120, vm, host, "KO", "KO", error="not ready after 120 s (restarted once)")
                continue
        lease = booting + 20 + 0.05 * rank + rng.gauss(0, 3)
        tcp22 = lease + rng.uniform(1, 4)
        emit(lease, vm, host, "lease", "started")
        emit(tcp22, vm, host, "tcp22", "started")
        emit(tcp22 + rng.uniform(0.5, 2), vm, host, "ssh", "ready")
    events.sort(key=lambda e: e["t"])
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


# --- plot ---

def test_plot_of_the_recorded_demo_png_and_svg(tmp_path):
    done = vm5k_doc("plot", "-i", FIXTURES / "deployed-6.json", "-o", tmp_path / "topo.png")
    assert done.returncode == 0, done.stderr
    width, height = png_size(tmp_path / "topo.png")
    assert 600 < width < 3000 and 300 < height < 2000
    assert pixels_of(tmp_path / "topo.png", plot.VM_COLOURS["ready"]) > 1000
    assert pixels_of(tmp_path / "topo.png", plot.VM_COLOURS["KO"]) == 0

    done = vm5k_doc("plot", "-o", tmp_path / "topo.svg", stdin=(FIXTURES / "deployed-6.json").read_text())
    assert done.returncode == 0, done.stderr
    texts = svg_texts(tmp_path / "topo.svg")
    for name in ("host1", "host2", "host3", "vm-1  10.77.4.1", "vm-6  10.77.4.6", "ready 6", "ready 3"):
        assert name in texts, name
    assert any(t.startswith("site lab") for t in texts) and any(t.startswith("cluster lab") for t in texts)


def test_plot_marks_the_ko_vms_of_a_real_partial_run(tmp_path):
    doc, _, _ = io.read(FIXTURES / "deployed-9-ko.json")
    assert [v["state"] for v in doc["vms"]].count("KO") == 5
    plot.render(doc, tmp_path / "ko.png")
    assert pixels_of(tmp_path / "ko.png", plot.VM_COLOURS["KO"]) > 1000
    assert overlapping_texts(plot.figure(doc)) == []


def test_plot_of_1000_planned_vms_is_a_grid_per_host(planned_1000, tmp_path):
    placed = planned_1000 / "placed.json"
    doc, _, _ = io.read(placed)
    assert len(doc["vms"]) == 1000 and doc["hosts"]
    assert vm5k_doc("plot", "-i", placed, "-o", tmp_path / "placed.png").returncode == 0
    width, height = png_size(tmp_path / "placed.png")
    assert 1000 < width < 4000 and 400 < height < 4000
    assert vm5k_doc("plot", "-i", placed, "-o", tmp_path / "placed.svg").returncode == 0
    texts = svg_texts(tmp_path / "placed.svg")
    assert not [t for t in texts if t.startswith("vm-")]             # cells, no per-VM labels
    for host in doc["hosts"]:
        n = sum(1 for vm in doc["vms"] if vm["host"] == host["id"])
        assert f"{host['id'].split('.')[0]} ({n})" in texts
    assert "placed 1000" in texts
    assert overlapping_texts(plot.figure(doc)) == []


def test_plot_of_vms_not_placed_yet(planned_1000, tmp_path):
    doc, _, _ = io.read(planned_1000 / "topo.json")
    assert "hosts" not in doc
    plot.render(doc, tmp_path / "topo.svg")
    texts = svg_texts(tmp_path / "topo.svg")
    wanted = ", ".join(f"{n} {name}" for name, n in doc["reservation"]["wanted"].items())
    assert f"not placed on a host · 1000 VMs · wanted: {wanted}" in texts
    assert overlapping_texts(plot.figure(doc)) == []


# --- timeline ---

def test_timeline_of_the_recorded_demo(tmp_path):
    done = vm5k_doc("timeline", "--events", FIXTURES / "events-6.ndjson", "-o", tmp_path / "boot.png")
    assert done.returncode == 0, done.stderr
    width, height = png_size(tmp_path / "boot.png")
    assert 1000 < width < 2000 and 300 < height < 1500
    assert vm5k_doc("timeline", "--events", FIXTURES / "events-6.ndjson", "-o", tmp_path / "boot.svg").returncode == 0
    texts = svg_texts(tmp_path / "boot.svg")
    labels = [t for t in texts if t.startswith("vm-")]
    assert labels[0] == "vm-3 · host3.lab"             # the first ready, on top
    assert len(labels) == 6
    assert any(t.startswith("6 VMs · 6 ready · 0 KO") for t in texts)


def test_timeline_orders_by_ready_time_and_marks_ko():
    boots = timeline.read_boots(FIXTURES / "events-9-ko.ndjson")
    order = timeline.ordered(boots)
    ready, ko = order[:4], order[4:]
    assert all(b.ready_at and not b.ko for b in ready) and all(b.ko for b in ko) and len(ko) == 5
    assert [b.ready_at for b in ready] == sorted(b.ready_at for b in ready)
    assert [b.end for b in ko] == sorted(b.end for b in ko)
    assert all("restarted" in [step for _, step in b.steps] for b in order)
    fig = timeline.figure(boots)
    ko_labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_color() == "#d7191c"]
    assert [label.split(" ")[0] for label in ko_labels] == [b.id for b in ko]
    assert overlapping_texts(fig) == []


def test_timeline_of_a_1000_vm_boot_storm(tmp_path):
    events = boot_storm(tmp_path / "storm.ndjson")
    assert vm5k_doc("timeline", "--events", events, "-o", tmp_path / "storm.png").returncode == 0
    width, height = png_size(tmp_path / "storm.png")
    assert 1000 < width < 2000 and 800 < height < 2000
    assert vm5k_doc("timeline", "--events", events, "-o", tmp_path / "storm.svg").returncode == 0
    texts = svg_texts(tmp_path / "storm.svg")
    assert not [t for t in texts if t.startswith("vm-")]             # thin bars, no per-VM labels
    boots = timeline.read_boots(events)
    n_ko = sum(b.ko for b in boots.values())
    assert any(t.startswith(f"1000 VMs · {1000 - n_ko} ready · {n_ko} KO") for t in texts)
    assert overlapping_texts(timeline.figure(boots)) == []


def test_a_rerun_appended_to_the_file_keeps_each_vms_last_attempt(tmp_path):
    first = (FIXTURES / "events-9-ko.ndjson").read_text()
    later = [json.loads(line) for line in first.splitlines()]
    rerun = []
    for event in later:  # the same VMs deployed again one hour later, by a new vm5k-vms run
        moved = dict(event, at=(datetime.datetime.fromisoformat(event["at"]) + datetime.timedelta(hours=1)).isoformat())
        rerun.append(json.dumps(moved) + "\n")
    path = tmp_path / "two-runs.ndjson"
    path.write_text(first + "".join(rerun))
    once = timeline.read_boots(FIXTURES / "events-9-ko.ndjson")
    twice = timeline.read_boots(path)
    assert once.keys() == twice.keys()
    for vm_id, boot in once.items():
        assert [step for _, step in twice[vm_id].steps] == [step for _, step in boot.steps]
        assert twice[vm_id].end == pytest.approx(boot.end + 3600, abs=1.5)   # `at` has whole seconds


# --- bad input: one line, exit 2; no matplotlib: one line, exit 5 ---

@pytest.mark.parametrize("args, message", [
    (["plot", "-i", FIXTURES / "deployed-6.json", "-o", "topo.pdf"], "-o topo.pdf: the name must end in .png or .svg"),
    (["plot", "-i", FIXTURES / "events-6.ndjson", "-o", "topo.png"], "invalid JSON"),
    (["plot", "-i", FIXTURES / "deployed-6.json"], "Missing option '-o'"),
    (["timeline", "--events", FIXTURES / "events-6.ndjson", "-o", "boot.jpg"], "must end in .png or .svg"),
    (["timeline", "--events", FIXTURES / "deployed-6.json", "-o", "boot.png"], "deployed-6.json:1: not a JSON object"),
    (["timeline", "--events", "/nonexistent/events.ndjson", "-o", "boot.png"], "No such file or directory"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = subprocess.run([BIN / "vm5k-doc", *map(str, args)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("vm5k-doc: error: ") and message in done.stderr
    assert not list(tmp_path.iterdir())


def test_events_without_boot_steps_or_unwritable_output(tmp_path):
    only_net = tmp_path / "net.ndjson"
    only_net.write_text(json.dumps({"at": "2026-01-01T00:00:00+00:00", "t": 0.1, "stage": "net", "event": "vm",
                                    "id": "vm-1", "state": "addressed"}) + "\n")
    done = vm5k_doc("timeline", "--events", only_net, "-o", tmp_path / "boot.png")
    assert done.returncode == 2 and "no VM boot steps" in done.stderr and done.stderr.count("\n") == 1
    done = vm5k_doc("timeline", "--events", FIXTURES / "events-6.ndjson", "-o", tmp_path / "no" / "boot.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "No such file or directory" in done.stderr


def test_without_matplotlib_one_line_and_exit_5(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"   # as if it were not installed
            "from vm5k_doc.cli import main; main(sys.argv[1:])")
    for args in (["plot", "-i", FIXTURES / "deployed-6.json", "-o", "topo.png"],
                 ["timeline", "--events", FIXTURES / "events-6.ndjson", "-o", "boot.svg"]):
        done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                              cwd=tmp_path)
        assert done.returncode == 5
        assert done.stderr == "vm5k-doc: error: matplotlib is not installed: pip install 'vm5k-doc[plot]'\n"
        assert not list(tmp_path.iterdir())
