"""The grid: parameters, conditional sub-parameters, filters and combination keys.

A grid is execo's `sweep()` shape, kept as plain JSON so it can be stored and diffed:

    {"n_vm": ["1", "2"], "policy": {"one_core": {}, "one_by_core": {"cores": ["1", "2"]}}}

A parameter maps to a list of values, or to {value: sub-grid} when some values bring
their own sub-parameters. The combinations are the cartesian product, where a dict
parameter contributes, for each value, that value combined with its sub-grid's product.

On the command line:

    -p n_vm=1,2,4                  a parameter and its values (comma-separated)
    -p 'cores[policy=one_by_core]=1,2'
                                   a sub-parameter, present only when policy=one_by_core
    --filter 'n_vm * mem <= 2048'  keep the combinations where the expression is true

Values are strings (they go into the environment and argv). In filters, values that look
like numbers are compared as numbers, and a sub-parameter that a combination lacks is None.

Everything here is checked the same way whether it comes from flags or from a stored
sweep.json (`check`): names are identifiers of at most 64 characters, values are text
without NUL of at most 4096 characters, numbers are finite and at most 1e15 in size,
grids at most 16 levels deep and filters at most 1000 characters.
"""
import ast
import hashlib
import itertools
import math
import operator
import re

from vm5k_doc.checks import check_number
from vm5k_doc.errors import InputError

# \Z, not $: Python's $ also matches before a trailing newline
NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
MAX_PARAMETERS = 100
MAX_VALUE = 4096  # characters: a value goes into argv and the environment
MAX_NUMBER = 10**15  # numbers in a grid, a filter or a value compared as a number
MAX_DEPTH = 16  # sub-grids in sub-grids
MAX_FILTER = 1000  # characters
NUMBER_RE = re.compile(r"\A[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z", re.ASCII)
SPEC_RE = re.compile(r"^(?P<name>[^=\[\]]+)(?:\[(?P<parent>[^=\]]+)=(?P<pvalue>[^\]]*)\])?=(?P<values>.*)$")
MAX_COMBINATIONS = 100_000  # a typo like 1..1000000 must not fill a disk with directories


def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"bad parameter name {name!r}: use letters, digits and _ (at most 64), not starting with a digit")
    if name.upper().startswith("VM5K_"):
        raise InputError(f"bad parameter name {name!r}: VM5K_ is reserved for vm5k-sweep's variables")
    return name


def check_value(v):
    """A value as it reaches argv, the environment and a key: text, no NUL, bounded."""
    if len(v) > MAX_VALUE:
        raise InputError(f"bad value {v[:20]!r}...: longer than {MAX_VALUE} characters")
    if "\0" in v:
        raise InputError(f"bad value {v!r}: a NUL character cannot be passed to a command")
    try:
        v.encode()
    except UnicodeEncodeError:
        raise InputError(f"bad value {v!r}: not UTF-8 text") from None
    return v


def _as_value(v):
    """Values are strings everywhere; JSON numbers from a grid file become their JSON text."""
    if isinstance(v, str):
        return check_value(v)
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "null"}[v]
    if isinstance(v, (int, float)):
        return str(check_number(v, "value", -MAX_NUMBER, MAX_NUMBER))
    raise InputError(f"bad value {v!r}: values are strings or numbers")


def _find(grid, name):
    """Every (grid, name) place where a parameter is defined, at any depth."""
    places = []
    for k, v in grid.items():
        if k == name:
            places.append(grid)
        if isinstance(v, dict):
            for sub in v.values():
                places.extend(_find(sub, name))
    return places


def add_spec(grid, spec):
    """Add one `-p` spec to the grid (in place)."""
    m = SPEC_RE.match(spec.strip())
    if not m:
        raise InputError(f"bad parameter {spec!r}: expected NAME=V1,V2 or NAME[PARENT=VALUE]=V1,V2")
    name = check_name(m["name"].strip())
    values = [check_value(v.strip()) for v in m["values"].split(",")]
    if m["values"].strip() == "" or "" in values:
        raise InputError(f"bad parameter {spec!r}: empty value")
    values = list(dict.fromkeys(values))  # duplicates would run twice under one key
    if m["parent"] is None:
        if name in names(grid):
            raise InputError(f"bad parameter {spec!r}: {name} is already defined")
        grid[name] = values
        return grid
    parent, pvalue = check_name(m["parent"].strip()), m["pvalue"].strip()
    places = _find(grid, parent)
    if not places:
        raise InputError(f"bad parameter {spec!r}: no parameter {parent} defined before it")
    places = [g for g in places if pvalue in g[parent]]  # b may have other values elsewhere
    if not places:
        raise InputError(f"bad parameter {spec!r}: {parent} has no value {pvalue!r}")
    for g in places:
        if isinstance(g[parent], list):
            g[parent] = {v: {} for v in g[parent]}
        if name in grid or name in names(g[parent][pvalue]):
            raise InputError(f"bad parameter {spec!r}: {name} is already defined")
        g[parent][pvalue][name] = values
    return grid


def from_specs(specs):
    grid = {}
    for s in specs:
        add_spec(grid, s)
    return grid


def normalize(grid, where="grid", depth=0):
    """Check a grid read from JSON (execo's shape) and make every value a string."""
    if not isinstance(grid, dict):
        raise InputError(f"{where}: expected an object of parameters")
    if depth > MAX_DEPTH:
        raise InputError(f"{where}: sub-parameters nested more than {MAX_DEPTH} deep")
    out = {}
    for name, v in grid.items():
        check_name(name)
        if isinstance(v, list):
            if not v:
                continue  # execo ignores empty lists
            out[name] = list(dict.fromkeys(_as_value(x) for x in v))
        elif isinstance(v, dict):
            out[name] = {_as_value(k): normalize(sub or {}, f"{where}.{name}.{k}", depth + 1) for k, sub in v.items()}
        else:
            out[name] = [_as_value(v)]
    return out


def check(grid, filters):
    """The one check of a sweep's definition, new (flags, --grid) or stored (sweep.json):
    returns the grid (normalized), the filters and the combinations."""
    grid = normalize(grid)
    if not grid:
        raise InputError("empty grid: no parameter")
    known = names(grid)
    if len(known) > MAX_PARAMETERS:
        raise InputError(f"more than {MAX_PARAMETERS} parameters")
    env_names = {}
    for n in known:  # each is exported as VM5K_P_<NAME>: n and N would be one variable
        other = env_names.setdefault(n.upper(), n)
        if other != n:
            raise InputError(f"parameters {other} and {n} would both be VM5K_P_{n.upper()}: rename one")
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise InputError("filters: expected a list of expressions")
    combos = combinations(grid, filters)
    if not combos:
        raise InputError("empty grid: no combination to run (check -p and --filter)")
    return grid, filters, combos


def names(grid):
    """Parameter names in order of first appearance (the results' columns)."""
    out = []
    for k, v in grid.items():
        if k not in out:
            out.append(k)
        if isinstance(v, dict):
            for sub in v.values():
                out.extend(n for n in names(sub) if n not in out)
    return out


def expand(grid):
    """The combinations, in a stable order: a list of {name: value} dicts."""
    axes = []
    for name, v in grid.items():
        if isinstance(v, list):
            axes.append([{name: x} for x in v])
        else:
            axes.append([{name: x, **sub} for x, g in v.items() for sub in expand(g)])
    combos = []
    for parts in itertools.product(*axes):
        c = {}
        for p in parts:
            if c.keys() & p.keys():  # alternatives may share a name, one product may not
                raise InputError(f"parameter {sorted(c.keys() & p.keys())[0]} is defined twice in one combination")
            c.update(p)
        combos.append(c)
        if len(combos) > MAX_COMBINATIONS:
            raise InputError(f"grid too large: more than {MAX_COMBINATIONS} combinations")
    return combos


# --- filters: a small, safe subset of Python expressions -------------------------------

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
        ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


def bounded(x):
    """Finite and at most MAX_NUMBER in size (a huge int is never turned into a float)."""
    return abs(x) <= MAX_NUMBER if isinstance(x, int) else math.isfinite(x) and abs(x) <= MAX_NUMBER


def number(v):
    """'4' -> 4, '0.5' -> 0.5, anything else unchanged (also 'nan', 'inf' and numbers
    beyond MAX_NUMBER: they compare as text)."""
    if isinstance(v, str) and NUMBER_RE.match(v):
        x = float(v) if any(c in v for c in ".eE") else int(v)
        if bounded(x):
            return x
    return v


class Filter:
    """`--filter EXPR`: parsed once, evaluated per combination, no eval() anywhere."""

    def __init__(self, expr, known):
        self.expr = expr
        if len(expr) > MAX_FILTER:
            raise InputError(f"bad filter {expr[:20]!r}...: longer than {MAX_FILTER} characters")
        try:
            self.tree = ast.parse(expr.strip(), mode="eval").body
        except SyntaxError as e:
            raise InputError(f"bad filter {expr!r}: {e.msg}") from None
        except (ValueError, RecursionError, MemoryError) as e:  # NUL, nesting, digits
            raise InputError(f"bad filter {expr!r}: {type(e).__name__}") from None
        self._check(self.tree, set(known))

    def _check(self, node, known):
        ok = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
              ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, *_BIN, *_CMP)
        for n in ast.walk(node):
            if not isinstance(n, ok):
                raise InputError(f"bad filter {self.expr!r}: {type(n).__name__} not allowed")
            if isinstance(n, ast.Name) and n.id not in known and n.id not in ("None", "True", "False"):
                raise InputError(f"bad filter {self.expr!r}: no parameter {n.id}")
            if isinstance(n, ast.Constant):
                self._check_constant(n.value)

    def _check_constant(self, v):
        if v is None or isinstance(v, bool) or (isinstance(v, str) and len(v) <= MAX_VALUE):
            return
        if isinstance(v, (int, float)):
            if bounded(v):
                return
            raise InputError(f"bad filter {self.expr!r}: numbers must be finite and at most {MAX_NUMBER:.0e} in size")
        raise InputError(f"bad filter {self.expr!r}: constant {type(v).__name__} not allowed")

    def __call__(self, combo):
        try:
            return bool(self._eval(self.tree, combo))
        except (TypeError, ZeroDivisionError, OverflowError, ValueError, RecursionError) as e:
            raise InputError(f"filter {self.expr!r} on {key(combo)}: {e}") from None

    def _eval(self, n, c):
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            return {"None": None, "True": True, "False": False}.get(n.id, number(c.get(n.id)))
        if isinstance(n, (ast.Tuple, ast.List)):
            return tuple(self._eval(e, c) for e in n.elts)
        if isinstance(n, ast.BoolOp):
            vals = (self._eval(e, c) for e in n.values)
            return all(vals) if isinstance(n.op, ast.And) else any(vals)
        if isinstance(n, ast.UnaryOp):
            v = self._eval(n.operand, c)
            return (not v) if isinstance(n.op, ast.Not) else (-v if isinstance(n.op, ast.USub) else +v)
        if isinstance(n, ast.BinOp):
            a, b = self._eval(n.left, c), self._eval(n.right, c)
            # numbers only: 'x' * 10**9 would be a memory bomb
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
                raise TypeError(f"arithmetic on non-numbers {a!r}, {b!r}")
            return _BIN[type(n.op)](a, b)
        left = self._eval(n.left, c)
        for op, right in zip(n.ops, n.comparators, strict=True):
            right = self._eval(right, c)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True


def combinations(grid, filters=()):
    """The grid's combinations that pass every filter (filters are ANDed)."""
    known = names(grid)
    fs = [Filter(f, known) for f in filters]
    return [c for c in expand(grid) if all(f(c) for f in fs)]


# --- keys: one directory name per combination -------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._+:@-]")


def key(combo):
    """`n_vm=2,mem=256`: readable, unique (unsafe characters are %-escaped), a valid file name."""
    k = ",".join(f"{n}={_SAFE.sub(lambda m: ''.join(f'%{b:02X}' for b in m[0].encode()), v)}"
                 for n, v in combo.items())
    if len(k) > 200 or k.startswith("."):
        k = k[:180] + "~" + hashlib.sha1(k.encode()).hexdigest()[:12]
    return k or "_"
