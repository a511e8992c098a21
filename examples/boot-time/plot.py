"""Plot boot time vs VMs per host: `plot.py boot-time.csv boot-time.png`.

With matplotlib (`pip install matplotlib`, optional) the plot has axes, labels and a
legend. Without it, a plain PNG is written by hand (zlib): every combination's mean boot
time as a dot, the mean per x as a line, no text; install matplotlib for a readable figure.
"""
import csv
import statistics
import struct
import sys
import zlib


def load(path):
    pts = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("boot_mean"):
                pts.append((float(r["vms_per_host"]), float(r["boot_mean"]), float(r["boot_max"] or r["boot_mean"])))
    if not pts:
        sys.exit(f"plot.py: error: {path}: no combination with a boot time")
    return pts


def by_x(pts, i):
    xs = sorted({p[0] for p in pts})
    return xs, [statistics.fmean(p[i] for p in pts if p[0] == x) for x in xs]


def with_matplotlib(pts, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, color="grey", zorder=3,
               label="one run (mean over its VMs)")
    ax.plot(*by_x(pts, 1), marker="o", label="mean boot time")
    ax.plot(*by_x(pts, 2), marker="^", linestyle="--", label="slowest VM")
    ax.set_xticks(by_x(pts, 1)[0])  # the values swept, not fractions of a VM
    ax.set_xlabel("VMs per host")
    ax.set_ylabel("boot time, start to SSH (s)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def plain_png(pts, out, w=480, h=320, m=30):
    px = [[(255, 255, 255)] * w for _ in range(h)]
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y1 = max(p[2] for p in pts) * 1.1 or 1
    sx = lambda x: m + int((x - x0) / ((x1 - x0) or 1) * (w - 2 * m))  # noqa: E731
    sy = lambda y: h - m - int(y / y1 * (h - 2 * m))  # noqa: E731

    def dot(x, y, c, r=2):
        for j in range(max(0, y - r), min(h, y + r + 1)):
            for i in range(max(0, x - r), min(w, x + r + 1)):
                px[j][i] = c

    def line(a, b, c):
        n = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
        for t in range(n + 1):
            dot(a[0] + (b[0] - a[0]) * t // n, a[1] + (b[1] - a[1]) * t // n, c, 1)

    line((m, h - m), (w - m, h - m), (0, 0, 0))
    line((m, h - m), (m, m), (0, 0, 0))
    for i, c in ((2, (220, 120, 0)), (1, (0, 90, 200))):
        xs, ys = by_x(pts, i)
        pts_px = [(sx(x), sy(y)) for x, y in zip(xs, ys, strict=True)]
        for a, b in zip(pts_px, pts_px[1:], strict=False):
            line(a, b, c)
    for x, y, _ in pts:
        dot(sx(x), sy(y), (90, 90, 90))
    raw = b"".join(b"\0" + bytes(v for rgb in row for v in rgb) for row in px)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(out, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    src, out = sys.argv[1:3]
    pts = load(src)
    try:
        with_matplotlib(pts, out)
    except ImportError:
        plain_png(pts, out)


if __name__ == "__main__":
    main()
