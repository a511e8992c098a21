"""vm5k-sweep: the command line, a thin layer over params, store, runner and results."""
import json
import sys

import click
from vm5k_doc import progress
from vm5k_doc.cli import run_command
from vm5k_doc.errors import InputError
from vm5k_doc.status import ExitStatus

from . import __version__, runner
from . import params as P
from . import results as R
from .store import MAX_FILE, STATES, Sweep, loads

PROG = "vm5k-sweep"
_opts = {"verbose": False, "quiet": False}

EXIT_HELP = """Exit status: 0 every combination done (or skipped); 2 bad usage, bad parameter
syntax, empty grid, or DIR holding another sweep; 3 some combinations failed;
130 interrupted (running combinations go back to todo)."""


def common(f):
    """-v/-q on every subcommand, where users type them."""
    f = click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")(f)
    f = click.option("-v", "--verbose", is_flag=True, help="More progress; tracebacks on errors.")(f)
    return f


def _set(verbose, quiet):
    _opts.update(verbose=verbose or _opts["verbose"], quiet=quiet)


def log(msg, verbose=False):
    """Summary lines by default, per-combination lines with -v; above the live line if any."""
    if not _opts["quiet"] and (_opts["verbose"] or not verbose):
        progress.say(f"{PROG}: {msg}")


def _keep(sweep, filters):
    fs = [P.Filter(f, sweep.names) for f in filters]
    return (lambda c: all(f(c) for f in fs)) if fs else None


def _select(sweep, keys, filters, states):
    unknown = [k for k in keys if k not in sweep.combos]
    if unknown:
        raise InputError(f"no combination {unknown[0]!r} in {sweep.dir} (see `{PROG} status`)")
    keep = _keep(sweep, filters)
    return [k for k, c, rec, st in sweep.records()
            if (not keys or k in keys) and (not keep or keep(c)) and (not states or st in states)]


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_HELP)
@click.version_option(__version__, prog_name=PROG)
def cli():
    """Run a command once per combination of parameters, persistently and resumably.

    \b
      vm5k-sweep run exp -p n_vm=1,2,4 -p mem=256,512 -j 2 -- \\
          sh -c 'vm5k-topo -n {n_vm} --platform lab | vm5k-oar -w 0:30:00 | vm5k-net | vm5k-hosts | vm5k-vms'
      vm5k-sweep status exp
      vm5k-sweep results exp --field boot=max(vms[].timings.ssh) > boot.csv

    State lives in DIR (sweep.json, runs/<key>/): run it again to resume after a crash.
    """


@cli.command(epilog=EXIT_HELP)
@click.argument("dir", type=click.Path(file_okay=False))
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
@click.option("-p", "--param", "specs", multiple=True, metavar="NAME=V1,V2",
              help="A parameter and its values; NAME[PARENT=VALUE]=V1,V2 exists only when PARENT=VALUE. Repeatable.")
@click.option("--grid", "grid_file", type=click.File("r"), help="The grid as JSON, execo's sweep() shape ({name: [values] | {value: {sub-grid}}}).")
@click.option("--filter", "filters", multiple=True, metavar="EXPR", help="Keep combinations where EXPR holds, e.g. 'n_vm * mem <= 2048'. Repeatable (and).")
@click.option("-j", "--jobs", type=click.IntRange(1, 1024), default=1, show_default=True, help="Combinations run at once.")
@click.option("--retry-failed", is_flag=True, help="Run failed combinations again (once per invocation).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Stop a combination's command after this long (it fails).")
@click.option("--dry-run", is_flag=True, help="Print each combination and its argv as JSON lines; run nothing, write nothing.")
@common
def run(dir, cmd, specs, grid_file, filters, jobs, retry_failed, timeout, dry_run, verbose, quiet):
    """Run CMD for every combination not done yet.

    \b
    CMD runs as argv (no shell: write `sh -c '...'` for pipelines), with
      VM5K_P_<NAME>     each value in its environment (NAME upper-cased), and no
                        other variable from a parameter
      {name}            replaced by the value, as text of that argument; in a
                        shell's script (from the -c of sh, bash, dash, zsh...
                        with any options, also after env or timeout, on) by
                        "$VM5K_P_<NAME>" instead: a value never is shell code.
                        Write {name} outside quotes there.
      VM5K_SWEEP_DOC    a path where it may write its deployment document
                        (a JSON object on its stdout is kept as the document too)
      VM5K_SWEEP_RUN    the combination's directory (stdout, stderr, run.json)
    Names: letters, digits and _ (at most 64, not starting with a digit or VM5K_);
    numbers: finite, at most 1e15 in size; values: at most 4096 characters.
    Without -p/--grid and CMD, `run DIR` resumes the sweep stored in DIR.
    Concurrent `run`s on one DIR share the work; a combination left running by a
    dead runner is run again.

    \b
      vm5k-sweep run out -p n=1,2,3 -p 'k[n=3]=a,b' --filter 'n != 2' -- echo {n} {k}
    """
    _set(verbose, quiet)
    grid = None
    if grid_file is not None:
        where = f"--grid {grid_file.name}"
        try:
            text = grid_file.read(MAX_FILE + 1)
        except (OSError, ValueError) as e:  # a directory, not UTF-8
            raise InputError(f"{where}: unreadable ({e})") from None
        grid = P.normalize(loads(text, where), where)
    if specs:
        grid = grid or {}
        for s in specs:
            P.add_spec(grid, s)
    if grid is None and filters:
        raise InputError("--filter needs the grid (-p or --grid) it applies to")
    if grid is not None and not grid:
        raise InputError("empty grid: no parameter")
    sweep = Sweep.open(dir, grid, filters, cmd, create=not dry_run)
    if dry_run:
        for item in runner.plan(sweep):
            click.echo(json.dumps(item))
        return ExitStatus.OK
    log(f"{len(sweep.combos)} combinations in {sweep.dir}", verbose=True)
    c = sweep.counts()
    with progress.Progress(PROG, "combinations", len(sweep.combos), live=progress.enabled(quiet)) as bar:
        bar.update(step="running", done=c["done"], failed=c["failed"], running=0)
        status = runner.run(sweep, jobs, retry_failed, timeout, log, progress=bar)
    c = sweep.counts()
    log(", ".join(f"{n} {s}" for s, n in c.items() if n) + f" ({len(sweep.combos)} combinations)")
    return status


@cli.command()
@click.argument("dir", type=click.Path(file_okay=False))
@click.option("--brief", is_flag=True, help="Counts only, no per-combination list.")
@common
def status(dir, brief, verbose, quiet):
    """Print the sweep's state as JSON: counts and one entry per combination.

    States: todo, running, stale (its runner died: the next run retries it), done,
    failed, skipped.
    """
    _set(verbose, quiet)
    sweep = Sweep.open(dir)
    out = {"dir": str(sweep.dir), "command": sweep.command, "total": len(sweep.combos), "counts": sweep.counts()}
    if not brief:
        out["combinations"] = [
            {"key": k, "params": c, "state": st, **{f: rec[f] for f in ("attempts", "exit", "duration", "start", "end") if f in rec}}
            for k, c, rec, st in sweep.records()]
    click.echo(json.dumps(out, indent=2))
    return ExitStatus.OK


@cli.command()
@click.argument("dir", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--field", "fields", multiple=True, metavar="NAME=PATH",
              help="A column from each combination's document: NAME=vms[0].ip, NAME=max(vms[].timings.ssh) "
                   "(count, sum, min, max, mean, median). Repeatable.")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only combinations in this state. Repeatable.")
@click.option("--filter", "filters", multiple=True, metavar="EXPR", help="Only combinations where EXPR holds.")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here instead of stdout.")
@common
def results(dir, fmt, fields, states, filters, output, verbose, quiet):
    """One row per combination: key, parameters, state, exit, attempts, start, end,
    duration (seconds), then the --field columns.

    \b
      vm5k-sweep results exp --field boot_max=max(vms[].timings.ssh) --field boot=vms[].timings.ssh
    """
    _set(verbose, quiet)
    sweep = Sweep.open(dir)
    fs = [R.Field(f) for f in fields]
    cols = R.columns(sweep, fs)
    rs = R.rows(sweep, fs, set(states), _keep(sweep, filters))
    R.write_csv(rs, cols, output) if fmt == "csv" else R.write_jsonl(rs, output)
    return ExitStatus.OK


def _change(dir, keys, filters, states, everything, state, force):
    sweep = Sweep.open(dir)
    if not (keys or filters or states or everything):
        raise InputError("say which combinations: KEY..., --filter, --state or --all")
    changed = sweep.set_state(_select(sweep, keys, filters, states), state, force)
    log(f"{len(changed)} combinations set to {state}")
    return ExitStatus.OK


def _selection(f):
    f = click.option("--all", "everything", is_flag=True, help="Every combination.")(f)
    f = click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Those in this state. Repeatable.")(f)
    f = click.option("--filter", "filters", multiple=True, metavar="EXPR", help="Those whose parameters satisfy EXPR.")(f)
    f = click.argument("keys", nargs=-1)(f)
    return click.argument("dir", type=click.Path(file_okay=False))(f)


@cli.command()
@_selection
@click.option("--force", is_flag=True, help="Also reset combinations a live runner is running (it will record its result anyway).")
@common
def reset(dir, keys, filters, states, everything, force, verbose, quiet):
    """Put combinations back to todo, so that the next run does them again.

    \b
      vm5k-sweep reset exp --state failed
      vm5k-sweep reset exp 'n_vm=4,mem=512'
    """
    _set(verbose, quiet)
    return _change(dir, keys, filters, states, everything, "todo", force)


@cli.command()
@_selection
@common
def skip(dir, keys, filters, states, everything, verbose, quiet):
    """Mark combinations skipped: run leaves them alone until they are reset.

    \b
      vm5k-sweep skip exp --filter 'n_vm >= 64'
    """
    _set(verbose, quiet)
    return _change(dir, keys, filters, states, everything, "skipped", False)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    _opts["verbose"] = any(a in ("-v", "--verbose") for a in args[: args.index("--") if "--" in args else None])
    run_command(PROG, cli, args, verbose=_opts["verbose"])
