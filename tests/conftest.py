"""Shared fixtures: settings, a fake clock, databases, and built Telegram updates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from config import Settings
from storage import Database
from tests.databases import (
    Databases,
    ResettableSchema,
    postgres_resettable_schema,
    postgres_schema_database,
    sqlite_database,
)


class FakeClock:
    """A clock tests move by hand; nothing ever sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    # Tuesday 2026-03-10 10:00 in Shanghai, a working day.
    return FakeClock(datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token="123456:TEST",
        database_url=f"sqlite:///{tmp_path / 'steward.db'}",
    )


@pytest.fixture
def postgres_db() -> Iterator[Database]:
    with postgres_schema_database("t_conftest") as db:
        yield db


@pytest.fixture(scope="session", autouse=True)
def model_file_outside_the_checkout(tmp_path_factory) -> Iterator[None]:
    """Keep the trained model's file (MODEL_PATH) in a temporary folder: on PostgreSQL its default is the working
    directory, which for the in-process flow tests is the checkout. The bot processes inherit it
    (`tests/bot_process.bot_env`), so they share the file. A test about the default unsets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_PATH", str(tmp_path_factory.mktemp("model") / "steward-model.npz"))
        yield


@pytest.fixture(scope="session")
def flow_schema() -> Iterator[ResettableSchema]:
    """One PostgreSQL schema for the flow tests and the `database` fixtures, emptied before each."""
    with postgres_resettable_schema("t_flow") as schema:
        yield schema


@pytest.fixture(params=["sqlite", "postgres"])
def flow_database_url(request, tmp_path) -> Iterator[str]:
    """The database of an in-process flow test's Application, on SQLite and on PostgreSQL (a
    module uses it by overriding `settings`). SQLite: a new file the bot migrates at start-up;
    PostgreSQL: the shared flow schema, emptied (skipped when the server is unreachable outside CI)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steward.db'}"
        return
    schema: ResettableSchema = request.getfixturevalue("flow_schema")
    schema.reset()
    yield schema.url
    schema.close_clients()


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request, tmp_path_factory) -> Iterator[Databases]:
    """Empty migrated databases on SQLite and on PostgreSQL (the shared schema of `flow_schema`,
    emptied; skipped when the server is unreachable outside CI, failed in CI)."""
    schema = request.getfixturevalue("flow_schema") if request.param == "postgres" else None
    made = Databases(request.param, lambda: tmp_path_factory.mktemp("db"), schema)
    yield made
    made.close()


@pytest.fixture
def database(databases: Databases) -> Database:
    """One empty migrated database, on SQLite and on PostgreSQL: every test that touches a
    database takes this one (or `databases`, `env`) unless it is about SQLite itself."""
    return databases.new()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_database(request, tmp_path_factory) -> Iterator[Database]:
    """One database for a module's tests, on SQLite and on PostgreSQL. PostgreSQL: a schema of
    its own (not the shared one, which the function-scoped fixtures empty before each test)."""
    if request.param == "sqlite":
        db = sqlite_database(tmp_path_factory.mktemp("module"))
        yield db
        db.dispose()
        return
    with postgres_schema_database("t_module") as db:
        yield db


# --- running in parallel (pytest-xdist, `make test`) -------------------------------------------

# The modules whose tests start real processes (`python bot.py`, webhook workers, kill -9 drills):
# tens of seconds each, mostly waiting on real timers and child processes. Under xdist they are
# handed out first, so the many short tests fill the workers around them instead of one drill
# starting last and running alone.
_DRILL_MODULES = (
    "test_webhook_workers.py",
    "test_delivery_e2e.py",
    "test_runtime.py",
    "test_postgres_e2e.py",
    "test_tickets_e2e.py",
    "test_bot_process.py",
    "test_ledger_bench.py",
    "test_matcher_accuracy.py",
)


# The modules whose tests all run on one worker: a module fixture too costly to compute once per
# worker (test_matcher_accuracy: the 5-fold cross-validation, ~20 s of CPU).
_ONE_WORKER_MODULES = ("test_matcher_accuracy.py",)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: the order of the files
    rank = {name: i for i, name in enumerate(_DRILL_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order otherwise


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`, done here: each test is a unit of work of its own, handed to the next
    idle worker, except the modules of `_ONE_WORKER_MODULES`, one unit each. (xdist's own
    loadgroup reads `xdist_group` marks by rewriting `item._nodeid`, which pytest 9.2 no longer
    reads: its groups were silently split.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.rsplit("/", 1)[-1] in _ONE_WORKER_MODULES else nodeid

    return Scheduling(config, log)


_ids = count(1)


def next_id() -> int:
    return next(_ids)


# --- issue 11: a CLI working folder, a knowledge base with regional overrides ---------------


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch):
    """A working folder of its own (no stray .env) with the SQLite database file in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path, monkeypatch):
    """A working folder of its own (no stray .env) for the CLI, whose `DATABASE_URL` is a SQLite
    file in it (not made yet: the CLI makes and migrates it) or the shared PostgreSQL schema,
    emptied (migrated; the CLI's own migration finds nothing to do)."""
    monkeypatch.chdir(tmp_path)
    if request.param == "sqlite":
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
        yield tmp_path
        return
    schema: ResettableSchema = request.getfixturevalue("flow_schema")
    schema.reset()
    monkeypatch.setenv("DATABASE_URL", schema.url)
    yield tmp_path
    schema.close_clients()


@pytest.fixture
def regional_kb(tmp_path):
    """The bundled knowledge in tmp_path/kb, 节能审查 overridden for 赛罕区 and 武川县."""
    import shutil

    from tests.knowledge_support import BUNDLED, REGIONAL

    folder = tmp_path / "kb"
    shutil.copytree(BUNDLED, folder)
    energy = folder / "items" / "energy_review.yaml"
    energy.write_text(energy.read_text(encoding="utf-8") + REGIONAL, encoding="utf-8")
    return folder
