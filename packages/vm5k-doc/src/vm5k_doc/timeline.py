"""The boot-storm picture: per VM, its steps from define to SSH-ready on one time axis.

Read from the NDJSON events vm5k-vms writes with `--events FILE`: `vm` events of stage
`vms` whose `step` is defined, started, lease (DHCP), tcp22, ssh (ready), restarted or
KO, each with `seconds` since that vm5k-vms run started. A file can hold several runs
(a rerun appends): each run is placed on the axis by its wall-clock `at`, and a VM
defined again keeps only its last attempt. Destroy and migrate events are left out.
"""
import datetime
import itertools
import json
import statistics

from .errors import InputError
from .plot import DPI, output_format, pyplot, save
from .reference import natural_key

# a bar segment is coloured by the step that ends it
SEGMENTS = {
    "started": ("until started", "#9ecae1"),
    "lease": ("until DHCP lease", "#fdd49e"),
    "tcp22": ("until TCP 22 open", "#fc8d59"),
    "ssh": ("until SSH answers", "#1a9850"),
    "restarted": ("until restarted (not ready in time)", "#bcbddc"),
    "KO": ("until KO", "#d7191c"),
}
STEPS = {"defined", *SEGMENTS}
LABELLED_MAX_VMS = 60   # up to this many VMs, one labelled row each


class Boot:
    """One VM's last attempt: [(seconds, step)] in order, its host, its KO message."""

    def __init__(self, vm_id, host):
        self.id, self.host = vm_id, host
        self.steps = []
        self.error = None

    @property
    def ready_at(self):
        return next((t for t, step in reversed(self.steps) if step == "ssh"), None)

    @property
    def ko(self):
        return bool(self.steps) and self.steps[-1][1] == "KO"

    @property
    def end(self):
        return self.steps[-1][0]


def read_lines(path):
    """The JSON objects of an NDJSON file; one line naming the line number if one is not."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"--events {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"--events {path}: not UTF-8 text") from None
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise InputError(f"--events {path}:{number}: not a JSON object")
        events.append((number, event))
    return events


def wall_clock(event, path, number):
    try:
        return datetime.datetime.fromisoformat(event["at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        raise InputError(f"--events {path}:{number}: at: not an ISO date") from None


def number_field(event, name, path, number):
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"--events {path}:{number}: {name}: not a number")
    return float(value)


def read_boots(path):
    """{vm id: Boot} from an events file; exit 2 when it holds no VM boot step."""
    boots = {}
    origin = run_base = last_t = None
    for number, event in read_lines(path):
        if event.get("stage") != "vms" or event.get("event") != "vm" or event.get("step") not in STEPS:
            continue
        t = number_field(event, "t", path, number)
        if last_t is None or t < last_t:  # `t` restarts with each vm5k-vms run
            run_base = wall_clock(event, path, number) - t
            origin = run_base if origin is None else origin
        last_t = t
        seconds = number_field(event, "seconds", path, number) if "seconds" in event else t
        at = round(run_base - origin + seconds, 3)
        vm_id, step = event.get("id"), event["step"]
        if not isinstance(vm_id, str):
            raise InputError(f"--events {path}:{number}: id: not a string")
        boot = boots.get(vm_id)
        if boot is None or step == "defined":  # a new attempt starts with define
            boot = boots[vm_id] = Boot(vm_id, event.get("host"))
        boot.steps.append((at, step))
        if step == "KO":
            boot.error = event.get("error")
    if not boots:
        raise InputError(f"--events {path}: no VM boot steps (vm5k-vms --events FILE writes them)")
    return boots


def ordered(boots):
    """Ready VMs by ready time, then the others by their last step, KO last."""
    def key(boot):
        rank = 0 if boot.ready_at is not None and not boot.ko else 2 if boot.ko else 1
        return rank, boot.ready_at if rank == 0 else boot.end, natural_key(boot.id)
    return sorted(boots.values(), key=key)


def summary(boots):
    ready = sorted(b.ready_at for b in boots if b.ready_at is not None and not b.ko)
    ko = sum(1 for b in boots if b.ko)
    other = len(boots) - len(ready) - ko
    text = f"{len(boots)} VMs · {len(ready)} ready · {ko} KO"
    if other:
        text += f" · {other} not ready"
    if ready:
        text += (f"\nready from {ready[0]:.1f} s to {ready[-1]:.1f} s"
                 f" (median {statistics.median(ready):.1f} s) after vm5k-vms started")
    return text


def render(events_path, path):
    """Draw the boot timeline of `events_path` to `path` (.png or .svg)."""
    fmt = output_format(path)
    save(figure(read_boots(events_path)), path, fmt)


def figure(boots):
    """The matplotlib figure of {vm id: Boot}."""
    plt = pyplot()
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    boots = ordered(boots)
    n = len(boots)
    labelled = n <= LABELLED_MAX_VMS
    # margins in inches, so that title, labels and legend keep their room at any n
    top, bottom, left, right, width = 0.75, 1.15, 1.7 if labelled else 0.6, 0.3, 10.0
    rows_h = 0.26 * n if labelled else min(max(6.0, 1.1 * n / DPI), 12.0)  # a pixel or more per VM
    height = top + rows_h + bottom
    fig, ax = plt.subplots(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)
    bar_h = 0.7 if labelled else 1.0

    segments = {step: ([], [], []) for step in SEGMENTS}   # y, left, width
    restarts, kos = [], []
    for y, boot in enumerate(boots):
        for (t0, _), (t1, step) in itertools.pairwise(boot.steps):
            ys, lefts, widths = segments[step]
            ys.append(y)
            lefts.append(t0)
            widths.append(t1 - t0)
            if step == "restarted":
                restarts.append((t1, y))
        if boot.ko:
            kos.append((boot.end, y))
    for step, (ys, lefts, widths) in segments.items():
        # one collection per kind: thousands of bars draw in a blink (barh adds them one by one)
        boxes = [((x, y - bar_h / 2), (x + w, y - bar_h / 2), (x + w, y + bar_h / 2), (x, y + bar_h / 2))
                 for y, x, w in zip(ys, lefts, widths, strict=True)]
        ax.add_collection(PolyCollection(boxes, facecolors=SEGMENTS[step][1], linewidths=0, antialiaseds=labelled))
    mark = 7 if labelled else 3
    if restarts:
        ax.scatter([t for t, _ in restarts], [y for _, y in restarts], marker="|", s=mark * 12, color="black", zorder=3)
    if kos:
        ax.scatter([t for t, _ in kos], [y for _, y in kos], marker="X", s=mark * 8, color="#67000d", zorder=3)

    ax.set_ylim(n - 0.5, -0.5)
    if labelled:
        ax.set_yticks(range(n), [f"{b.id} · {b.host}" if b.host else b.id for b in boots], fontsize=8)
        for tick, boot in zip(ax.get_yticklabels(), boots, strict=True):
            if boot.ko:
                tick.set_color("#d7191c")
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n} VMs, sorted by time to SSH (KO last)")
    ax.set_xlim(0, max(b.end for b in boots) * 1.02 or 1)
    ax.set_xlabel("seconds since vm5k-vms started")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(summary(boots), fontsize=10, loc="left")

    handles = [Patch(color=colour, label=label) for step, (label, colour) in SEGMENTS.items() if segments[step][0]]
    if restarts:
        handles.append(Line2D([], [], marker="|", linestyle="none", color="black", markersize=8, label="restarted"))
    if kos:
        handles.append(Line2D([], [], marker="X", linestyle="none", color="#67000d", markersize=7, label="KO"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.5 / rows_h), ncol=4, fontsize=8,
              frameon=False)
    return fig
