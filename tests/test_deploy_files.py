"""The deployment files agree with the code: .env.example lists every setting with its default,
compose.yaml runs the bot with PostgreSQL (polling by default, webhook by a profile), and the
Dockerfile runs as an unprivileged user. `docker compose config` checks the compose file when
the compose plugin is installed (it is not on the test machine: then the YAML checks stand)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    assert {name.upper() for name in Settings.model_fields} <= named
    from_file = Settings(_env_file=str(ROOT / ".env.example"))
    defaults = Settings(_env_file=None)
    assert from_file.model_dump() == defaults.model_dump()


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_bot_on_postgresql_polling_by_default_and_webhook_by_profile() -> None:
    services = _compose()["services"]
    assert "profiles" not in services["db"] and services["db"]["image"].startswith("postgres:")
    assert services["bot"]["profiles"] == ["polling"] and services["webhook"]["profiles"] == ["webhook"]
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^COMPOSE_PROFILES=polling$", env_example, flags=re.M)
    for name in ("bot", "webhook"):
        service = services[name]
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["build"] == "." and service["stop_signal"] == "SIGTERM"
    webhook = services["webhook"]
    assert webhook["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0:8080"
    assert "/healthz" in " ".join(webhook["healthcheck"]["test"])


def test_the_image_runs_unprivileged_and_starts_the_bot() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines[-1] == 'CMD ["python", "/app/bot.py"]'
    assert [line for line in lines if line.startswith("FROM ")][-1] == "FROM python:3.11-slim"


def test_the_image_copies_every_package_and_module_the_project_installs() -> None:
    """The image runs /app/bot.py from the copied sources: a package left out of the COPY lines
    fails at start-up with "No module named ..." (delivery/ was, once)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = setuptools["packages"]["find"]["include"]
    packages = sorted(
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns)
    )
    assert "delivery" in packages and "bot" in packages
    lines = {line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()}
    missing = [name for name in packages if f"COPY {name} ./{name}" not in lines]
    assert missing == [], f"the Dockerfile does not copy {missing}"
    copied = " ".join(line for line in lines if line.startswith("COPY ") and "--from" not in line).split()
    assert {f"{module}.py" for module in setuptools["py-modules"]} <= set(copied)


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_docker_compose_config_accepts_the_file() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
