"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from storage import Database
from storage.schema import register_models


def _differences(db: Database) -> list[object]:
    register_models()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrations_match_the_models_on_sqlite(tmp_path) -> None:
    # A new file migrated from nothing (the PostgreSQL twin below: a new schema).
    db = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    db.migrate()
    assert _differences(db) == [], "a model changed without a migration: python -m storage.migrate revision '...'"
    assert "alembic_version" in inspect(db.engine).get_table_names()


def test_upgrading_twice_changes_nothing(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())  # migrated once already
    database.migrate()
    database.migrate()
    assert set(inspect(database.engine).get_table_names()) == tables


def test_migrations_match_the_models_on_postgresql(postgres_db: Database) -> None:
    assert _differences(postgres_db) == []


def test_a_start_up_waits_a_bounded_time_for_another_instances_migration(postgres_db: Database) -> None:
    # a stuck holder of the migration lock makes the next start-up fail with the lock named, not wait for ever
    import psycopg
    import pytest
    from sqlalchemy.exc import OperationalError

    from storage.migrate import _MIGRATION_LOCK, upgrade
    from tests.databases import _ADMIN_URL

    with psycopg.connect(_ADMIN_URL) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))  # held until this transaction ends
        with pytest.raises(OperationalError, match="lock timeout"):
            upgrade(postgres_db.engine, lock_wait=0.2)
    upgrade(postgres_db.engine)  # released: it goes through (nothing left to do)
