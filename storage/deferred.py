"""Rows a transaction writes and never reads back, written together just before its commit.

The question log row, the asker's context and an answer's outbox row are each one statement
per question; in a group-committed transaction of fifty questions that is a hundred and fifty
statements, each a round trip to PostgreSQL. `defer(session, statement, params)` keeps the
parameters instead, and before the commit each statement runs once with all of its rows
(executemany: psycopg sends them in one pipeline; SQLite in one call), in the order the
statements were first deferred. Only for rows nothing in the same transaction reads back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

DEFERRED = "deferred_rows"  # session.info: statement → its rows, in first-deferred order


def defer(session: OrmSession, statement: Any, params: dict[str, Any], *, key: Any = None) -> None:
    """Run `statement` with `params` just before this transaction commits; a later row with
    the same `key` (if given) replaces the earlier one (an upsert cannot touch a row twice)."""
    rows: dict[Any, dict[Any, dict[str, Any]]] = session.info.setdefault(DEFERRED, {})
    of_statement = rows.setdefault(statement, {})
    of_statement[key if key is not None else object()] = params


def write_deferred(session: OrmSession) -> None:
    """Write what was deferred (the commit does this; a caller may do it sooner)."""
    rows: dict[Any, dict[Any, dict[str, Any]]] | None = session.info.pop(DEFERRED, None)
    for statement, params in (rows or {}).items():
        session.execute(statement, list(params.values()))


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    write_deferred(session)


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(DEFERRED, None)
