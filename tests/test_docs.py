"""Docs that cannot drift: every command answers --help with examples and is in the README."""
import functools
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
SCRIPTS = sorted(
    name
    for pyproject in ROOT.glob("packages/*/pyproject.toml")
    for name in tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {})
)


PACKAGE_OF = {"vm5k": "vm5k-main"}   # the one command whose package has another name


def package_of(script):
    return PACKAGE_OF.get(script, script)


def test_every_package_has_one_command():
    packages = sorted(p.name for p in ROOT.glob("packages/vm5k-*") if (p / "pyproject.toml").exists())
    assert sorted(package_of(s) for s in SCRIPTS) == packages


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_and_readme(script):
    done = subprocess.run([str(BIN / script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert f"`{script}`" in (ROOT / "README.md").read_text(), f"{script} is not in the README's command table"
    readme = ROOT / "packages" / package_of(script) / "README.md"
    assert readme.exists(), f"packages/{package_of(script)}/README.md is missing"


# ---------------------------------------------------------------- flags named in the docs

DOCS = sorted(ROOT.glob("docs/*.md")) + [ROOT / "README.md"]
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")
SEGMENT_END = re.compile(r"\|\||&&|[|;()]|\$\(")


@functools.cache
def help_text(*argv):
    done = subprocess.run([str(BIN / argv[0]), *argv[1:], "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(argv)} --help: {done.stderr}"
    return done.stdout


def subcommands(script):
    """The subcommands a group command lists under 'Commands:' (none for a stage)."""
    text = help_text(script)
    if "\nCommands:\n" not in text:
        return []
    listed = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def all_help():
    return "\n".join(help_text(s) + "".join(help_text(s, sub) for sub in subcommands(s)) for s in SCRIPTS)


def has_flag(text, flag):
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def code_snippets(markdown):
    """Fenced and indented code lines, then inline code spans (which may wrap lines)."""
    snippets, prose, fenced = [], [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            snippets.append(line)
        else:
            prose.append(line)
    inline = re.findall(r"`([^`]+)`", "\n".join(prose))
    return snippets + [span.replace("\n", " ").replace("\\|", "|") for span in inline]


def flags_used(snippet):
    """(argv of the help to ask, flag) for each flag after a vm5k command, ([], flag) for a
    lone flag (`--events FILE`); a sweep's CMD after `--` is not vm5k's."""
    for segment in SEGMENT_END.split(snippet):
        words = [w.strip("'\"[]") for w in segment.split()]
        if not words:
            continue
        command = pathlib.Path(words[0]).name
        if command in SCRIPTS:
            rest = words[1:]
            argv = [command]
            if rest and rest[0] in subcommands(command):
                argv.append(rest.pop(0))
        elif words[0].startswith("-"):
            argv, rest = [], words
        else:
            continue
        for word in rest:
            if word == "--":
                break
            for flag in FLAG.findall(word):
                yield argv, flag


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_flags_in_docs_exist(path):
    """Every flag a doc names after a vm5k command is in that command's --help; a lone
    flag is in some command's --help."""
    missing = []
    for snippet in code_snippets(path.read_text()):
        for argv, flag in flags_used(snippet):
            text = help_text(*argv) if argv else all_help()
            if not has_flag(text, flag):
                missing.append(f"{' '.join(argv) or '(any command)'} {flag}   in `{snippet.strip()[:70]}`")
    assert not missing, f"{path.name}: flags not in --help:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_stand_alone(path):
    """The repo's docs name nothing outside the repo (no reading material beside it)."""
    text = path.read_text()
    # the reading material beside the repo, written so that this file does not name it
    for outside in ("../" + "shared", "/" + "work/", "DESIGN.md"):
        assert outside not in text, f"{path.name} names {outside}"
