"""Hostile input, through the real `vm5k-sweep` command: values and names built to run code in
each shell form, to shadow PATH/LD_PRELOAD/BASH_ENV, to lead out of DIR; crafted sweep.json,
run.json and links in DIR; huge numbers, NaN, inf; bad filters.

Every case checks the exit status, the stderr (one line `vm5k-sweep: error: ...` for an
error, nothing under -q for a run), no traceback, no marker file (what a successful injection
would create), and nothing written outside DIR.
"""
import json
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(__file__)


@pytest.fixture
def box(tmp_path, cli):
    """A working directory, DIR inside it, a marker path, and a check that nothing but DIR changed."""
    class Box:
        root = tmp_path
        cwd = tmp_path / "cwd"
        d = tmp_path / "cwd" / "d"
        mark = tmp_path / "pwned"

        def outside(self):
            return {p: p.stat().st_size if p.is_file() else None
                    for p in tmp_path.rglob("*") if not p.is_relative_to(self.d)}

        def run(self, *args, status, line=None):
            before = self.outside()
            p = cli(*args, cwd=self.cwd)
            assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
            assert "Traceback" not in p.stderr
            if line is None:  # a run under -q: not a word
                assert p.stderr == ""
            else:
                assert p.stderr.count("\n") == 1 and p.stderr.startswith("vm5k-sweep: error: "), p.stderr
                assert line in p.stderr, p.stderr
            assert not self.mark.exists(), "an injection ran"
            assert self.outside() == before, "something was written outside DIR"
            return p

        def grid(self, grid, name="grid.json"):
            f = tmp_path / name
            f.write_text(json.dumps(grid) if not isinstance(grid, str) else grid)
            return f

        def outputs(self):
            return {json.loads((r / "params.json").read_text())["x"]: (r / "stdout").read_text()
                    for r in (self.d / "runs").iterdir()}

    b = Box()
    b.cwd.mkdir()
    return b


def injections(mark):
    return [f"$(touch {mark})", f"`touch {mark}`", f"; touch {mark}", f'"; touch {mark}; "',
            f"'; touch {mark}; '", f"x\n$(touch {mark})", f"a[$(touch {mark})]", "* ?", "$HOME ${IFS} \\t"]


# --- values into every shell form: the value is printed as it is, never run ---------------

SHELL_FORMS = {
    "sh -c": ["sh", "-c", "echo {x}"],
    "sh -o errexit -c": ["sh", "-o", "errexit", "-c", "echo {x}"],
    "bash --norc -c": ["bash", "--norc", "-c", "echo {x}"],
    "env sh -c": ["env", "sh", "-c", "echo {x}"],
    "env VAR=1 /bin/sh -euc": ["env", "VAR=1", "/bin/sh", "-euc", "echo {x}"],
    "timeout 30 bash -c": ["timeout", "30", "bash", "-c", "echo {x}"],
    "busybox sh -c": ["busybox", "sh", "-c", "echo {x}"],
    "dash -xc": ["dash", "-xc", "echo {x}"],
    "env -S": ["env", "-S", "sh -c 'echo {x}'"],
    "sh -c, nested sh -c": ["sh", "-c", "sh -c 'echo {x}'"],
}


@pytest.mark.parametrize("form", SHELL_FORMS)
def test_values_reach_every_shell_form_as_data(box, form):
    values = injections(box.mark)
    box.run("run", "-q", box.d, "--grid", box.grid({"x": values}), "--", *SHELL_FORMS[form], status=0)
    out = box.outputs()
    for v in values:
        if "\\" not in v:  # dash's echo reads backslashes: its business, not ours
            assert out[v] == v + "\n", (v, out[v])


@pytest.mark.parametrize("script", ['echo "{x}"', "echo '{x}'", "echo $(( {x} + 1 ))",
                                    "printf '%s' {x} {x}; {x}"])
def test_values_in_quotes_or_odd_places_of_a_script_do_not_run(box, script):
    # written where the README says not to: maybe the wrong text, never the value run
    p = box.run("run", "-q", box.d, "--grid", box.grid({"x": injections(box.mark)}), "--", "sh", "-c", script,
                status=3 if "$((" in script or "; {x}" in script else 0)
    assert p.stdout == ""


def test_arguments_after_the_script_are_script_too(box):
    box.run("run", "-q", box.d, "--grid", box.grid({"x": injections(box.mark)}), "--",
            "sh", "-c", 'echo "$1"', "_", "{x}", status=0)
    assert set(box.outputs().values()) == {'"$VM5K_P_X"\n'}  # a reference, as text


def test_a_value_outside_a_shell_is_one_whole_argument(box):
    values = injections(box.mark)
    box.run("run", "-q", box.d, "--grid", box.grid({"x": values}), "--",
            sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))", "{x}", "--x={x}", status=0)
    for v, out in box.outputs().items():
        assert out == repr([v, f"--x={v}"]) + "\n"


def test_a_script_file_gets_the_value_as_an_argument(box):
    script = box.root / "s.sh"
    script.write_text('printf "%s\\n" "$1"\n')
    box.run("run", "-q", box.d, "--grid", box.grid({"x": injections(box.mark)}), "--", "sh", script, "{x}", status=0)
    assert all(out == v + "\n" for v, out in box.outputs().items())


# --- names: only VM5K_P_<NAME> reaches the environment --------------------------------------

def test_a_parameter_named_path_does_not_change_what_runs(box):
    planted = box.root / "bin"
    planted.mkdir()
    (planted / "ls").write_text(f"#!/bin/sh\ntouch {box.mark}\n")
    (planted / "ls").chmod(0o755)
    box.run("run", "-q", box.d, "-p", f"PATH={planted}", "--", "sh", "-c",
            'command -v ls; echo "$VM5K_P_PATH"', status=0)
    out = next((box.d / "runs").iterdir()) / "stdout"
    assert out.read_text().splitlines() == [shutil.which("ls"), str(planted)]


def test_ld_preload_bash_env_and_ifs_names_stay_vm5k_p(box):
    rc = box.root / "rc.sh"
    rc.write_text(f"touch {box.mark}\n")
    grid = box.grid({"LD_PRELOAD": ["/nonexistent/evil.so"], "BASH_ENV": [str(rc)], "IFS": ["x"],
                     "ENV": [str(rc)], "PS4": ["$(touch " + str(box.mark) + ")"]})
    box.run("run", "-q", box.d, "--grid", grid, "--", "bash", "-xc",
            'echo "${LD_PRELOAD-unset} ${BASH_ENV-unset} $VM5K_P_IFS"; v=axb; set -- $v; echo $#', status=0)
    rd = next((box.d / "runs").iterdir())
    assert (rd / "stdout").read_text() == "unset unset x\n1\n"
    assert "ld.so" not in (rd / "stderr").read_text()


@pytest.mark.parametrize("args, line", [
    (["-p", "../../x=1"], "bad parameter"),
    (["-p", "x[../y=1]=2"], "bad parameter"),
    (["-p", "VM5K_SWEEP_DOC=/etc/passwd"], "VM5K_ is reserved"),
    (["-p", "vm5k_p_x=1"], "VM5K_ is reserved"),
    (["-p", "a" * 65 + "=1"], "at most 64"),
    (["-p", "n=1", "-p", "N=2"], "would both be VM5K_P_N"),
    (["-p", "$(touch MARK)=1"], "bad parameter"),
    (["-p", "x=" + "v" * 5000], "longer than 4096"),
])
def test_bad_names_and_values_on_the_command_line(box, args, line):
    args = [a.replace("MARK", str(box.mark)) for a in args]
    box.run("run", box.d, *args, "--", "sh", "-c", f"touch {box.mark}", status=2, line=line)
    assert not box.d.exists()


@pytest.mark.parametrize("grid, line", [
    ({"x\n": [1]}, "bad parameter name"),
    ({"../../x": [1]}, "bad parameter name"),
    ({"n": [1], "N": [2]}, "would both be"),
    ({"x": ["a\u0000b"]}, "NUL"),
    ('{"x": ["\\ud800"]}', "not UTF-8"),
    ('{"x": [NaN]}', "NaN is not a JSON number"),
    ('{"x": [Infinity]}', "Infinity is not a JSON number"),
    ('{"x": [1e999]}', "finite"),
    ('{"x": [' + "9" * 400 + "]}", "between"),
    ('{"x": {"a": ' * 20 + "{}" + "}" * 40, "nested more than 16"),
    ("[" * 100000, "nested too deeply"),
    ("\xff\xfe", "unreadable"),
    ({"x": [[1]]}, "values are strings or numbers"),
    ([1, 2], "expected an object of parameters"),
])
def test_bad_grid_files(box, grid, line):
    f = box.grid(grid) if not isinstance(grid, str) or not grid.startswith("\xff") else box.root / "bin.json"
    if f.name == "bin.json":
        f.write_bytes(b"\xff\xfe{}")
    box.run("run", box.d, "--grid", f, "--", "sh", "-c", f"touch {box.mark}", status=2, line=line)
    assert not box.d.exists()


def test_a_grid_from_dev_zero_is_refused_before_parsing(box):
    box.run("run", box.d, "--grid", "/dev/zero", "--", "true", status=2, line="larger than 64 MB")


def test_dotted_values_stay_in_dir(box):
    box.run("run", "-q", box.d, "-p", "x=../../escape,..,.,/etc/passwd,~", "--", "sh", "-c",
            'echo {x} > "$VM5K_SWEEP_RUN/out"', status=0)
    runs = sorted(p.name for p in (box.d / "runs").iterdir())
    assert runs == ["x=%2Fetc%2Fpasswd", "x=%7E", "x=.", "x=..", "x=..%2F..%2Fescape"]
    box.run("skip", "-q", box.d, "--all", status=0)


# --- filters and numbers ------------------------------------------------------------------

@pytest.mark.parametrize("flt, line", [
    ("n < " + "9" * 400, "numbers must be finite and at most"),
    ("n < 1e999", "numbers must be finite"),
    ("n > -" + "1" * 30, "numbers must be finite"),
    ("n / 0 > 1", "division by zero"),
    ("n * 1.5 > " + "1" * 15 + " * 1e308", "numbers must be finite"),
    ("not " * 1000 + "n", "longer than 1000"),
    ("(" * 450 + "n" + ")" * 450, "too many nested parentheses"),
    ("n == b'x'", "constant bytes not allowed"),
    ("n == ...", "constant ellipsis not allowed"),
    ("__import__('os').system('touch MARK')", "Call not allowed"),
    ("n.__class__", "Attribute not allowed"),
    ("[x for x in (1,)]", "not allowed"),
    ("lambda: 1", "Lambda not allowed"),
    ("n == 1j", "constant complex not allowed"),
])
def test_bad_filters(box, flt, line):
    flt = flt.replace("MARK", str(box.mark))
    box.run("run", box.d, "-p", "n=1,2", "--filter", flt, "--", "sh", "-c", f"touch {box.mark}", status=2, line=line)
    assert not box.d.exists()


@pytest.mark.parametrize("value", ["9" * 400, "nan", "inf", "1e999", "1_000"])
def test_values_that_are_no_bounded_number_compare_as_text(box, value):
    # text against a number: one line, exit 2 (not a NaN quietly false, not a traceback)
    box.run("run", box.d, "-p", f"n=1,{value}", "--filter", "n < 5", "--", "true", status=2, line="not supported")


def test_a_huge_filter_on_results_and_skip(box):
    box.run("run", "-q", box.d, "-p", "n=1,2", "--", "true", status=0)
    for cmd in ("results", "skip", "reset"):
        box.run(cmd, box.d, "--filter", "n > " + "9" * 400, status=2, line="numbers must be finite")
    box.run("reset", box.d, "../../x", status=2, line="no combination")


# --- a crafted DIR --------------------------------------------------------------------------

def spec(**changes):
    s = {"format": "vm5k-sweep/1", "grid": {"n": ["1", "2"]}, "filters": [], "command": ["true"]}
    return {**s, **changes}


@pytest.mark.parametrize("content, line", [
    (spec(grid={"../../x": ["1"]}), "bad parameter name"),
    (spec(grid={"n": ["1"], "PATH\n": ["/tmp"]}), "bad parameter name"),
    (spec(grid={"n": [1e999]}), "Infinity is not a JSON number"),
    (json.dumps(spec()).replace('"1"', "1e999"), "finite"),
    (json.dumps(spec()).replace('"1"', "NaN"), "NaN is not a JSON number"),
    (json.dumps(spec()).replace('"1"', "9" * 400), "between"),
    (spec(grid={"n": [{"a": 1}]}), "values are strings or numbers"),
    (spec(grid=[]), "expected an object of parameters"),
    (spec(grid={}), "empty grid"),
    (spec(filters=["__import__('os').system('touch MARK')"]), "Call not allowed"),
    (spec(filters="n > 1"), "filters: expected a list"),
    (spec(filters=["n > 5"]), "empty grid"),
    (spec(command="touch MARK"), "command: expected a list"),
    (spec(command=["sh", "-c", "a\u0000b"]), "command: expected a list"),
    (spec(command=[]), "no command"),
    (spec(format="vm5k-sweep/0"), "not a vm5k-sweep/1 sweep"),
    ([spec()], "not a vm5k-sweep/1 sweep"),
    ("null", "not a vm5k-sweep/1 sweep"),
    ("[" * 100000, "nested too deeply"),
    ("{", "unreadable"),
])
def test_a_crafted_sweep_json_is_one_line_naming_it(box, content, line):
    box.d.mkdir()
    text = content if isinstance(content, str) else json.dumps(content)
    (box.d / "sweep.json").write_text(text.replace("MARK", str(box.mark)))
    for cmd in (["status"], ["skip", "--all"], ["run"]):
        p = box.run(*cmd, box.d, status=2, line=line)
        assert f"{box.d}/sweep.json: " in p.stderr
    assert not (box.d / "runs").exists()


def test_a_stored_sweep_with_numbers_is_read_like_a_grid(box):
    box.d.mkdir()
    (box.d / "sweep.json").write_text(json.dumps(spec(grid={"n": [1, 2.5]})))
    box.run("skip", "-q", box.d, "--all", status=0)
    assert sorted(p.name for p in (box.d / "runs").iterdir()) == ["n=1", "n=2.5"]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_sweep_json_that_is_no_regular_file(box, target):
    box.d.mkdir()
    if target == "fifo":
        os.mkfifo(box.d / "sweep.json")
    else:
        (box.d / "sweep.json").symlink_to(target)
    box.run("status", box.d, status=2, line="not a regular file")


def test_runs_linked_out_of_dir_is_refused(box):
    box.run("run", "-q", box.d, "-p", "n=1,2", "--dry-run", "--", "true", status=0)
    box.d.mkdir()
    (box.d / "sweep.json").write_text(json.dumps(spec()))
    elsewhere = box.root / "elsewhere"
    elsewhere.mkdir()
    (box.d / "runs").symlink_to(elsewhere)
    for cmd in (["skip", "--all"], ["run"], ["status"]):
        box.run(*cmd, box.d, status=2, line="leads out of")
    assert list(elsewhere.iterdir()) == []


def test_a_lock_linked_out_of_dir_is_refused(box):
    box.d.mkdir()
    (box.d / "sweep.json").write_text(json.dumps(spec()))
    (box.d / "lock").symlink_to(box.root / "created-by-lock")
    box.run("skip", box.d, "--all", status=2, line="cannot lock")
    assert not (box.root / "created-by-lock").exists()


@pytest.mark.parametrize("record", [
    {"state": "bogus"}, ["done"], {"state": "running", "pgid": 1},
    {"state": "running", "pgid": -1}, {"state": "running", "claimed_by": {"pid": "1"}},
    {"state": "done", "attempts": "many"}, {"state": "done", "duration": "NaN"},
])
def test_a_crafted_run_json_is_one_line_naming_it(box, record):
    box.run("run", "-q", box.d, "-p", "n=1,2", "--", "true", status=0)
    (box.d / "runs/n=1/run.json").write_text(json.dumps(record))
    for cmd in (["status"], ["run"], ["skip", "--all"]):
        box.run(*cmd, box.d, status=2, line=f"{box.d}/runs/n=1/run.json: not a vm5k-sweep record")
