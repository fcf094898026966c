"""The tests' databases, migrated to the latest schema: a SQLite file, or a PostgreSQL schema.

SQLite: a fresh file per test, copied from one migrated once per run (migrating a file costs
more than most tests). PostgreSQL: several suites share the `test` database, so each test gets
a schema of its own on the local server, dropped afterwards; when the server is unreachable the
test is skipped, except in CI, where it fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

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
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    db = Database(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        upgrade(db.engine, revision)
        yield db
    finally:
        db.dispose()
        with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
