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
