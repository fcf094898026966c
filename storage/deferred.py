"""Rows a transaction writes and never reads back, written together just before its commit.

The question log row, the asker's context and an answer's outbox row are each one statement
per question; in a group-committed transaction of fifty questions that is a hundred and fifty
statements, each a round trip to PostgreSQL. `defer(session, statement, params)` keeps the
parameters instead, and before the commit each statement runs once with all of its rows
(executemany: psycopg sends them in one pipeline; SQLite in one call), in the order the
statements were first deferred (a statement deferred with `first=True` before the others: a new
ticket's row, which rows deferred earlier may sit beside and later ones refer to). Only for rows nothing in the same transaction reads back;
`guard=True` relaxes that for tables another unit of the same group transaction might touch
(a new ticket's thread and audit rows): any statement or flush that touches such a table
writes what was deferred first, so it sees (and orders after) those rows.
"""

from __future__ import annotations

import weakref
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

DEFERRED = "deferred_rows"  # session.info: statement → its rows, in first-deferred order (first=True: in front)
GUARDED = "deferred_guarded"  # session.info: tables whose deferred rows are written before use


def defer(
    session: OrmSession,
    statement: Any,
    params: dict[str, Any],
    *,
    key: Any = None,
    guard: bool = False,
    first: bool = False,
) -> None:
    """Run `statement` with `params` just before this transaction commits; a later row with
    the same `key` (if given) replaces the earlier one (an upsert cannot touch a row twice).
    `guard`: written sooner if anything in the transaction touches the statement's table.
    `first`: the statement runs before those deferred earlier (rows that others refer to: a new
    ticket, before the audit rows of another unit's older ticket were first deferred)."""
    if guard:
        session.info.setdefault(GUARDED, set()).add(statement.table.name)
    rows: dict[Any, dict[Any, dict[str, Any]]] = session.info.setdefault(DEFERRED, {})
    if first and statement not in rows:
        rows = session.info[DEFERRED] = {statement: {}, **rows}
    of_statement = rows.setdefault(statement, {})
    of_statement[key if key is not None else object()] = params


def write_deferred(session: OrmSession) -> None:
    """Write what was deferred (the commit does this; a caller may do it sooner)."""
    session.info.pop(GUARDED, None)
    rows: dict[Any, dict[Any, dict[str, Any]]] | None = session.info.pop(DEFERRED, None)
    for statement, params in (rows or {}).items():
        session.execute(statement, list(params.values()))


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    write_deferred(session)


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(DEFERRED, None)
    session.info.pop(GUARDED, None)


# The tables a statement touches, by statement: statements are immutable, and walking a large
# one (the sender's head-of-queue query, built once) on every execution cost more than running it.
_TABLES: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def _tables_of(statement: Any) -> frozenset[str]:
    names = _TABLES.get(statement)
    if names is None:
        names = frozenset(t.name for t in find_tables(cast(ClauseElement, statement), include_aliases=True))
        _TABLES[statement] = names
    return names


@event.listens_for(OrmSession, "do_orm_execute")
def _before_touching(state: ORMExecuteState) -> None:
    guarded: set[str] | None = state.session.info.get(GUARDED)
    if guarded and guarded & _tables_of(state.statement):
        write_deferred(state.session)


@event.listens_for(OrmSession, "before_flush")
def _before_flushing(session: OrmSession, _context: Any, _instances: Any) -> None:
    guarded: set[str] | None = session.info.get(GUARDED)
    if guarded and any(
        getattr(getattr(obj, "__table__", None), "name", None) in guarded
        for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        write_deferred(session)
