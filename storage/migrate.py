"""Schema migrations with Alembic: `upgrade` brings any database to the models' schema.

New model changes need a revision:
    .venv/bin/python -m storage.migrate revision "what changed"
which autogenerates storage/migrations/versions/NNNN_*.py from the difference between the
models and a database at head; review it before committing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Several instances starting at once on one PostgreSQL database migrate one after the other.
_MIGRATION_LOCK = 0x5374_6577  # "Stew"
# How long a start-up waits for another instance's migration (seconds; a migration takes one or two): past it the
# holder is stuck, and this start-up fails with the lock named instead of waiting for ever.
MIGRATION_LOCK_WAIT = 120


class DatabaseNewer(Exception):
    """The database is at a migration this program does not have: a newer version wrote it."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the database is newer than this program: {detail}")


class NotADatabase(Exception):
    """The SQLite file named by DATABASE_URL is some other file (or a damaged database)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"not a database: {detail}")


def upgrade(engine, revision: str = "head", *, lock_wait: float = MIGRATION_LOCK_WAIT) -> None:  # type: ignore[no-untyped-def]
    """Apply every migration not yet applied (up to `revision`), in one transaction. DatabaseNewer when the
    database's revision is not one of ours, NotADatabase when a SQLite file is not a database."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SET LOCAL lock_timeout = '{int(lock_wait * 1000)}ms'"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except CommandError as exc:
        if "Can't locate revision" in str(exc):
            raise DatabaseNewer(str(exc)) from None
        raise
    except DatabaseError as exc:
        if not_a_database(engine, exc):
            raise NotADatabase(str(exc.orig)) from None
        raise


def not_a_database(engine, exc: DatabaseError) -> bool:  # type: ignore[no-untyped-def]
    """sqlite3 says the file is not a database ("file is not a database", "database disk image is malformed")."""
    return engine.dialect.name == "sqlite" and type(exc.orig).__name__ == "DatabaseError"


def make_revision(url: str, message: str) -> None:
    """Autogenerate a revision against the database at `url` (which must be at head)."""
    config = alembic_config(url)
    count = len(list((MIGRATIONS / "versions").glob("*.py")))
    command.revision(config, message=message, autogenerate=True, rev_id=f"{count + 1:04d}")


if __name__ == "__main__":
    if sys.argv[1:] == ["upgrade"]:  # bring DATABASE_URL's database to head (before rolling out workers)
        from config import load_settings
        from storage.db import Database

        Database(load_settings().database_url).migrate()
        print("database at head")
    elif len(sys.argv) == 3 and sys.argv[1] == "revision":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/head.db"
            from sqlalchemy import create_engine

            upgrade(create_engine(url))
            make_revision(url, sys.argv[2])
    else:
        print('usage: python -m storage.migrate upgrade | revision "message"')
