"""The installed `steward` command imports every package of the project: each package with an
`__init__.py` at the top of the repository is one setuptools installs (a package left out of
`pyproject.toml` works in the tests, which run from the checkout, and breaks the installed CLI)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_INSTALLED = {"benchmarks", "tests"}  # run from the checkout only


def test_every_package_is_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_INSTALLED
    missing = sorted(p for p in packages if not any(fnmatch(p, pattern) for pattern in patterns))
    assert missing == []


def test_the_cli_starts_outside_the_checkout(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import cli.main, sys; sys.argv = ['steward', '--help']; cli.main.main()"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "kb" in result.stdout
