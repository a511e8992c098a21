"""One row per combination: parameters, outcome, durations and fields of its document.

A field is `NAME=PATH` or `NAME=AGG(PATH)`, where PATH walks the combination's
deployment.json: `reservation.jobs[0].id`, `vms[].timings.ssh` (`[]` spreads a list, so the
value is a list), and AGG is one of count, sum, min, max, mean, median. A missing key gives
an empty value, not an error: a failed combination may have no document at all.
"""
import csv
import json
import re
import statistics

from vm5k_doc.errors import InputError

from .params import NAME_RE
from .store import read_json

BASE = ("key", "state", "exit", "attempts", "start", "end", "duration")
AGGS = {"count": len, "sum": sum, "min": min, "max": max,
        "mean": statistics.fmean, "median": statistics.median}
FIELD_RE = re.compile(r"^(?P<name>[^=]+)=(?:(?P<agg>[a-z]+)\((?P<inner>.*)\)|(?P<path>.*))$")
SEG_RE = re.compile(r"([^.\[\]]+)?((?:\[\d*\])*)")


class Field:
    def __init__(self, spec):
        m = FIELD_RE.match(spec.strip())
        if not m or not NAME_RE.match(m["name"]):
            raise InputError(f"bad field {spec!r}: expected NAME=PATH or NAME=AGG(PATH), e.g. boot=max(vms[].timings.ssh)")
        self.name, self.agg = m["name"], m["agg"]
        if self.agg and self.agg not in AGGS:
            raise InputError(f"bad field {spec!r}: unknown function {self.agg} (use {', '.join(AGGS)})")
        path = (m["inner"] if self.agg else m["path"]).strip().removeprefix("$").removeprefix(".")
        self.steps = []
        for seg in path.split("."):
            sm = SEG_RE.fullmatch(seg)
            if not seg or not sm:
                raise InputError(f"bad field {spec!r}: bad path segment {seg!r}")
            if sm[1]:
                self.steps.append(sm[1])
            self.steps += [int(i[1:-1]) if i != "[]" else None for i in re.findall(r"\[\d*\]", sm[2])]

    def value(self, doc):
        vals, spread = [doc], False
        for s in self.steps:
            if s is None:  # [] : every element
                vals, spread = [x for v in vals if isinstance(v, list) for x in v], True
            elif isinstance(s, int):
                vals = [v[s] if isinstance(v, list) and -len(v) <= s < len(v) else None for v in vals]
            else:
                vals = [v.get(s) if isinstance(v, dict) else None for v in vals]
        if not spread:
            vals = vals[0] if vals else None
        if self.agg:
            xs = [x for x in (vals if isinstance(vals, list) else [vals]) if x is not None]
            if self.agg != "count":
                xs = [x for x in xs if isinstance(x, (int, float)) and not isinstance(x, bool)]
            return AGGS[self.agg](xs) if xs or self.agg in ("count", "sum") else None
        return vals


def rows(sweep, fields=(), states=None, keep=None):
    """Dicts in column order; `states` and `keep` (a params filter) select combinations."""
    for k, c, rec, st in sweep.records():
        if (states and st not in states) or (keep and not keep(c)):
            continue
        doc = _document(sweep.run_dir(k)) if fields else None
        row = {"key": k}
        row.update({n: c.get(n) for n in sweep.names})
        row.update({b: (st if b == "state" else rec.get(b)) for b in BASE[1:]})
        row.update({f.name: f.value(doc) if doc is not None else None for f in fields})
        yield row


def _document(rd):
    try:
        return read_json(rd / "deployment.json")
    except InputError:  # a command killed while writing it: no document, not a failed report
        return None


def columns(sweep, fields=()):
    cols = ["key", *sweep.names, *BASE[1:], *(f.name for f in fields)]
    if len(set(cols)) != len(cols):
        raise InputError("a --field name or parameter name repeats a column name: rename it")
    return cols


def write_csv(rs, cols, out):
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)
    for r in rs:
        w.writerow(["" if r[c] is None else json.dumps(r[c]) if isinstance(r[c], (list, dict)) else r[c] for c in cols])


def write_jsonl(rs, out):
    for r in rs:
        out.write(json.dumps(r) + "\n")
