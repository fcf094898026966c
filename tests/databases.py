"""The tests' databases, migrated to the latest schema: a SQLite file, or a PostgreSQL schema.

SQLite: a fresh file per test, copied from one migrated once per run (migrating a file costs
more than most tests). PostgreSQL: several suites share the `test` database, so each test gets
a schema of its own on the local server, dropped afterwards; when the server is unreachable the
test is skipped, except in CI, where it fails. The flow tests, many and each short, share one
schema emptied between them (`postgres_resettable_schema`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import MetaData, text

from storage import Database
from storage.migrate import upgrade

_SQLITE_TEMPLATE: list[Path] = []


def sqlite_database(folder: Path, name: str = "test.db") -> Database:
    """A migrated SQLite database in a new file `folder/name`."""
    if not _SQLITE_TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="steward-template-")) / "template.db"
        database = Database(f"sqlite:///{template}")
        database.migrate()
        database.dispose()  # last connection closed: the WAL is checkpointed into the file
        _SQLITE_TEMPLATE.append(template)
    target = folder / name
    shutil.copyfile(_SQLITE_TEMPLATE[0], target)
    return Database(f"sqlite:///{target}")


# The pytest-xdist worker (gw0, gw1 …; "main" without xdist), in the name of each schema a test
# makes, and so in the application_name of the shared resettable schema's connections: each
# worker has a flow schema of its own and ends only its own tests' connections.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_ADMIN_URL = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def postgres_schema_database(prefix: str = "t", *, revision: str = "head") -> Iterator[Database]:
    """Yield a Database migrated to `revision` whose tables live in a new schema, dropped on exit."""
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL} and CI is set")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"{prefix}_{WORKER}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    db = Database(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        upgrade(db.engine, revision)
        yield db
    finally:
        db.dispose()
        drop_schema(schema)


def drop_schema(schema: str, *, attempts: int = 3) -> None:
    """DROP SCHEMA, which waits for every lock on its tables: a connection a test leaked (checked out, not yet
    collected) would hold it forever. Such holders are ended first, and the DROP waits a bounded time."""
    with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        for attempt in range(attempts):
            conn.execute(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND l.pid <> pg_backend_pid()",
                (schema,),
            )
            try:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                return
            except psycopg.errors.LockNotAvailable:
                if attempt == attempts - 1:
                    raise


class ResettableSchema:
    """A PostgreSQL schema migrated once and emptied before each test that uses it (ids restart
    at 1) instead of a migration per test (~0.7 s each here). Rows a migration seeded are put
    back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        metadata = MetaData()
        metadata.reflect(bind=db.engine)
        self._tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
        with db.engine.connect() as connection:
            self._seeded = [
                (table, [dict(row._mapping) for row in connection.execute(table.select())]) for table in self._tables
            ]
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        # Named after the schema: several suites share the server, and ending every test
        # connection by one common name cut other runs' connections mid-test.
        self.clients = f"steward_test_{schema}"

    @property
    def url(self) -> str:
        """For the application under test: its connections are named, so `close_clients` finds them."""
        return f"{self.db.url}&application_name={self.clients}"

    def close_clients(self) -> None:
        """End the connections the tests' applications left open (their engines are not disposed)."""
        with self.db.engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.clients},
            )

    def reset(self) -> None:
        self.close_clients()
        # DELETE, children first, and the sequences restarted: for tables this small it is
        # several times faster than TRUNCATE (which makes new files for every table).
        with self.db.engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))  # a leaked transaction fails, not hangs
            for table in reversed(self._tables):
                connection.execute(table.delete())
            for (sequence,) in connection.execute(
                text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")
            ):
                connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            for table, rows in self._seeded:
                if rows:
                    connection.execute(table.insert(), rows)


@contextmanager
def postgres_resettable_schema(prefix: str = "t_reset") -> Iterator[ResettableSchema]:
    """A schema (skipped or failed like postgres_schema_database) for many tests in turn."""
    with postgres_schema_database(prefix) as db:
        yield ResettableSchema(db)


class Databases:
    """Empty migrated databases of one backend for one test, by `new()`. SQLite: a new file in a
    new folder each time. PostgreSQL: the shared resettable schema, emptied again, so one at a
    time (a Database handed out before sees the emptied tables); its connections are named so
    the next reset ends any the code under test left open."""

    def __init__(self, backend: str, folder: Callable[[], Path], schema: ResettableSchema | None) -> None:
        self.backend = backend
        self._folder = folder
        self._schema = schema
        self._made: list[Database] = []

    def new(self) -> Database:
        if self._schema is None:
            database = sqlite_database(self._folder())
        else:
            for earlier in self._made:
                earlier.dispose()
            self._schema.reset()
            database = Database(self._schema.url)
        self._made.append(database)
        return database

    def close(self) -> None:
        for database in self._made:
            database.dispose()
        if self._schema is not None:
            self._schema.close_clients()
