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
from sqlalchemy import text

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


def upgrade(engine, revision: str = "head", *, lock_wait: float = MIGRATION_LOCK_WAIT) -> None:  # type: ignore[no-untyped-def]
    """Apply every migration not yet applied (up to `revision`), in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL lock_timeout = '{int(lock_wait * 1000)}ms'"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


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
