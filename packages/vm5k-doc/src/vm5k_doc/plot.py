"""The picture of a deployment document: sites > clusters > hosts > VMs, coloured by state.

What vm5k's `--plot` was meant to show. Everything is laid out in inches (one data unit
is one inch, fonts in points), so text never depends on the number of VMs: few VMs get a
labelled row each (id and IP), many get a grid of small cells per host. matplotlib is an
optional dependency (`pip install vm5k-doc[plot]`), imported only here, with Agg.
"""
import math
import pathlib

from .errors import InputError, PlatformError
from .reference import natural_key, node_uid

FORMATS = (".png", ".svg")
DPI = 150

# light to dark along the pipeline; KO is the one red
VM_COLOURS = {
    "planned": "#e0e0e0", "placed": "#c2c2c2", "addressed": "#a6cee3", "defined": "#6baed6",
    "started": "#fdae61", "ready": "#1a9850", "KO": "#d7191c", "destroyed": "#636363", None: "#ffffff",
}
HOST_COLOURS = {
    "planned": "#f0f0f0", "reserved": "#deebf7", "deployed": "#c6dbef", "ready": "#e5f5e0",
    "KO": "#fcbba1", "released": "#d9d9d9", None: "#ffffff",
}
HOST_EDGES = {"KO": "#d7191c", "ready": "#41ab5d"}

DETAILED_MAX_VMS = 48   # up to this many VMs, each one is a labelled row
CHAR_WIDTH = 0.6 / 72   # inches per character per point of font size (DejaVu Sans, about)
VM_FONT = 7             # points, monospace: the labelled rows of few VMs


def text_width(text, size):
    return len(text) * size * CHAR_WIDTH


def output_format(path):
    """'.png' or '.svg' from -o; anything else is bad usage."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"-o {path}: the name must end in .png or .svg")
    return suffix[1:]


def pyplot():
    """matplotlib's pyplot on the Agg backend, or one line saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise PlatformError("matplotlib is not installed: pip install 'vm5k-doc[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, fmt):
    import matplotlib
    try:
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG keeps its text as text
            fig.savefig(path, format=fmt, dpi=DPI)
    except OSError as exc:
        raise InputError(f"-o {path}: {exc.strerror or exc}") from None
    finally:
        matplotlib.pyplot.close(fig)


def counts(items, colours):
    """[(state, n)] in the colour table's order (the pipeline's), present states only."""
    n = {}
    for item in items:
        n[item.get("state")] = n.get(item.get("state"), 0) + 1
    return [(state, n[state]) for state in colours if state in n]


class Sizes:
    """Every length of the picture, in inches, for one of the two modes."""

    def __init__(self, detailed):
        self.detailed = detailed
        self.cell_w, self.cell_h = (1.45, 0.22) if detailed else (0.1, 0.1)
        self.gap = 0.04 if detailed else 0.02
        self.host_font = 7.5 if detailed else 6
        self.host_header = 0.42 if detailed else 0.17
        self.pad = 0.06
        self.host_gap = 0.1
        self.group_header = 0.3
        self.group_pad = 0.1
        self.max_width = 14.0


def grid_columns(n_vms, detailed):
    """VM cells per row inside one host box: one column of labelled rows when detailed,
    else a grid about twice as wide as high."""
    if detailed:
        return 1
    return max(2, math.ceil(math.sqrt(2 * max(n_vms, 1))))


class HostBox:
    def __init__(self, host, vms, label, cols):
        self.host, self.vms, self.label = host, vms, label
        self.rows = max(1, math.ceil(len(vms) / cols))


def group_hosts(doc):
    """[(site, [(cluster, [(host or None, label, [vm])])])], natural order; VMs on no host
    (or on a host the document does not list) form their own group."""
    hosts = doc.get("hosts") or []
    by_host = {h["id"]: [] for h in hosts}
    unplaced = []
    for vm in doc.get("vms") or []:
        by_host.get(vm.get("host"), unplaced).append(vm)
    sites = {}
    for host in sorted(hosts, key=lambda h: natural_key(h["id"])):
        clusters = sites.setdefault(host.get("site") or "-", {})
        clusters.setdefault(host.get("cluster") or "-", []).append((host, host_label(host["id"]), by_host[host["id"]]))
    groups = [(site, sorted(clusters.items(), key=lambda kv: natural_key(kv[0])))
              for site, clusters in sorted(sites.items(), key=lambda kv: natural_key(kv[0]))]
    if unplaced:  # one box, no cluster frame
        groups.append((None, [(None, [(None, "VMs on no host", unplaced)])]))
    return groups


class Canvas:
    """Rectangles and texts in inches, y downwards; drawn in one go."""

    def __init__(self):
        self.rects, self.texts = [], []

    def rect(self, x, y, w, h, face, edge="none", width=0.0):
        self.rects.append((x, y, w, h, face, edge, width))

    def text(self, x, y, s, size, **style):
        self.texts.append((x, y, s, size, style))

    def draw(self, width, height):
        plt = pyplot()
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
        patches = [Rectangle((x, y), w, h) for x, y, w, h, *_ in self.rects]
        ax.add_collection(PatchCollection(patches, facecolors=[r[4] for r in self.rects],
                                          edgecolors=[r[5] for r in self.rects],
                                          linewidths=[r[6] for r in self.rects]))
        for x, y, s, size, style in self.texts:
            ax.text(x, y, s, fontsize=size, va=style.pop("va", "top"), ha=style.pop("ha", "left"), **style)
        return fig


def draw_hosts(canvas, x0, y0, hosts, sizes):
    """One cluster's host boxes in rows from (x0, y0); returns (width, height) used."""
    s = sizes
    cols = grid_columns(max(len(vms) for _, _, vms in hosts), s.detailed)
    boxes = [HostBox(h, vms, label, cols) for h, label, vms in hosts]
    rows = max(b.rows for b in boxes)
    cell_w = s.cell_w
    if s.detailed:  # wide enough for the longest 'id  ip' of this cluster
        cell_w = max([cell_w] + [text_width(vm_label(vm), VM_FONT) + 0.2 for _, _, vms in hosts for vm in vms])
    grid_w = cols * (cell_w + s.gap) - s.gap
    label_w = max(text_width(host_title(b, s), s.host_font) for b in boxes)
    box_w = max(grid_w, label_w) + 2 * s.pad
    box_h = s.host_header + rows * (s.cell_h + s.gap) - s.gap + s.pad
    per_row = max(1, int((s.max_width + s.host_gap) // (box_w + s.host_gap)))
    for i, box in enumerate(boxes):
        x = x0 + (i % per_row) * (box_w + s.host_gap)
        y = y0 + (i // per_row) * (box_h + s.host_gap)
        state = box.host.get("state") if box.host else None
        canvas.rect(x, y, box_w, box_h, HOST_COLOURS.get(state, "#ffffff"), HOST_EDGES.get(state, "#969696"), 0.8)
        canvas.text(x + s.pad, y + 0.04, host_title(box, s), s.host_font, fontweight="bold")
        if s.detailed:
            canvas.text(x + s.pad, y + 0.04 + s.host_font * 1.4 / 72, host_subtitle(box), s.host_font - 1,
                        color="#444444")
        for j, vm in enumerate(box.vms):
            cx = x + s.pad + (j % cols) * (cell_w + s.gap)
            cy = y + s.host_header + (j // cols) * (s.cell_h + s.gap)
            face = VM_COLOURS.get(vm.get("state"), "#ffffff")
            canvas.rect(cx, cy, cell_w, s.cell_h, face, "#ffffff" if not s.detailed else "#555555",
                        0.3 if not s.detailed else 0.5)
            if s.detailed:
                dark = vm.get("state") in ("ready", "KO", "destroyed", "defined")
                canvas.text(cx + 0.05, cy + s.cell_h / 2, vm_label(vm), VM_FONT, va="center",
                            color="white" if dark else "black", family="monospace")
    n_rows = math.ceil(len(boxes) / per_row)
    used_w = min(len(boxes), per_row) * (box_w + s.host_gap) - s.host_gap
    return used_w, n_rows * (box_h + s.host_gap) - s.host_gap


def vm_label(vm):
    return f"{vm['id']}  {vm.get('ip') or ''}".strip()


def host_label(host_id):
    """'nova-1' for nova-1.lyon.grid5000.fr, an address as it is (static hosts)."""
    if ":" in host_id or host_id.replace(".", "").isdigit():
        return host_id
    return node_uid(host_id)


def host_title(box, sizes):
    if sizes.detailed:
        return box.label
    return f"{box.label} ({len(box.vms)})"


def host_subtitle(box):
    state = box.host.get("state") if box.host else None
    return f"{state or 'no state'} · {plural(len(box.vms), 'VM')}"


def plural(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def draw_legend(canvas, x, y, title, items, colours, size=8):
    """One line: TITLE  [swatch] state n  ...; returns its width."""
    canvas.text(x, y, title, size, fontweight="bold")
    cx = x + text_width(title, size) + 0.15
    for state, n in items:
        canvas.rect(cx, y + 0.01, 0.13, 0.13, colours.get(state, "#ffffff"), "#555555", 0.5)
        label = f"{state or 'no state'} {n}"
        canvas.text(cx + 0.18, y, label, size)
        cx += 0.18 + text_width(label, size) + 0.2
    return cx - x


def render(doc, path):
    """Draw `doc` to `path` (.png or .svg)."""
    fmt = output_format(path)
    save(figure(doc), path, fmt)


def figure(doc):
    """The matplotlib figure of `doc`."""
    pyplot()  # fail early, before any layout, when matplotlib is missing
    vms, hosts = doc.get("vms") or [], doc.get("hosts") or []
    groups = group_hosts(doc)
    sizes = Sizes(detailed=len(vms) <= DETAILED_MAX_VMS)
    s, margin = sizes, 0.25
    canvas = Canvas()
    platform = (doc.get("vm5k") or {}).get("platform", "?")
    stages = ",".join((doc.get("vm5k") or {}).get("stages") or []) or "none"
    title = f"{plural(len(vms), 'VM')} on {plural(len(hosts), 'host')} · platform {platform} · stages {stages}"
    canvas.text(margin, margin, title, 11, fontweight="bold")
    y = margin + 0.32
    width = text_width(title, 11)
    width = max(width, draw_legend(canvas, margin, y, "VMs", counts(vms, VM_COLOURS), VM_COLOURS))
    y += 0.24
    if hosts:
        width = max(width, draw_legend(canvas, margin, y, "hosts", counts(hosts, HOST_COLOURS), HOST_COLOURS))
        y += 0.24
    y += 0.12
    for site, clusters in groups:
        site_y = y
        y += s.group_header
        site_w = 0.0
        for cluster, cluster_hosts in clusters:
            cx = margin + s.group_pad
            if cluster is None:  # VMs on no host: their box right in the site frame
                w, h = draw_hosts(canvas, cx, y, cluster_hosts, s)
                site_w = max(site_w, w)
                y += h + s.group_pad
                continue
            n_vms = sum(len(v) for _, _, v in cluster_hosts)
            header = f"cluster {cluster} · {plural(len(cluster_hosts), 'host')} · {plural(n_vms, 'VM')}"
            canvas.text(cx + s.group_pad, y + 0.06, header, 8.5, color="#333333")
            w, h = draw_hosts(canvas, cx + s.group_pad, y + s.group_header, cluster_hosts, s)
            w = max(w, text_width(header, 8.5)) + 2 * s.group_pad
            # frames go first so that what they hold is drawn on top of them
            canvas.rects.insert(0, (cx, y, w, s.group_header + h + s.group_pad, "#fafafa", "#bdbdbd", 0.6))
            site_w = max(site_w, w)
            y += s.group_header + h + 2 * s.group_pad
        n_hosts = sum(len(h) for _, h in clusters)
        n_vms = sum(len(v) for _, h in clusters for _, _, v in h)
        if site is None:
            header = f"not placed on a host · {plural(n_vms, 'VM')}"
            wanted = (doc.get("reservation") or {}).get("wanted") or {}
            if wanted:  # what vm5k-oar will ask for
                header += " · wanted: " + ", ".join(f"{n} {name}" for name, n in wanted.items())
        else:
            header = (f"site {site} · {plural(len(clusters), 'cluster')} · {plural(n_hosts, 'host')}"
                      f" · {plural(n_vms, 'VM')}")
        canvas.text(margin + s.group_pad, site_y + 0.07, header, 10, fontweight="bold")
        site_w = max(site_w, text_width(header, 10)) + 2 * s.group_pad
        canvas.rects.insert(0, (margin, site_y, site_w, y - site_y, "#ffffff", "#737373", 1.0))
        width = max(width, site_w)
        y += 0.15
    return canvas.draw(width + 2 * margin, y + margin)
