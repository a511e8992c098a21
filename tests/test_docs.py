"""Docs that cannot drift: every command answers --help with examples and is in the README."""
import pathlib
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


def test_every_package_has_one_command():
    packages = sorted(p.name for p in ROOT.glob("packages/vm5k-*") if (p / "pyproject.toml").exists())
    assert sorted(SCRIPTS) == packages


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_and_readme(script):
    done = subprocess.run([str(BIN / script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert f"`{script}`" in (ROOT / "README.md").read_text(), f"{script} is not in the README's command table"
    readme = ROOT / "packages" / script / "README.md"
    assert readme.exists(), f"packages/{script}/README.md is missing"
