"""Versions of the facts every process keeps a copy of (bindings, staff, learned answers, the
ledger's projects), bumped in the transaction that changes them.

Several processes share one database (webhook workers on PostgreSQL; several Applications in
one process on SQLite). Each caches the facts it consults for every message (bot.shared_facts);
a change made through one must be seen by the others on their next update. Any write through a
Session to a watched table — ORM objects (a /bind) or Core statements (the staff upsert, a
ledger import) — bumps its family's row here in the same transaction, so the change and its
version commit together. A process reads the few rows once per transaction (one indexed
statement) and reloads only the families that moved.

Why a version row and not LISTEN/NOTIFY: a notification arrives a moment after the commit on
another connection, so an update reaching worker B right after a /bind through worker A could
still be handled with the old copy; the version row is read inside B's own transaction, so it
cannot be missed, and it works alike on SQLite (which has no notifications).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String, event, select, update
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel

# table name → family
WATCHED: dict[str, str] = {
    "desk_chat_binding": "bindings",
    "desk_chat_move": "bindings",  # a group upgraded to a supergroup: the steward and lead chats are followed there
    "desk_staff_member": "staff",
    "learned_entry": "learned",
    "ledger_project": "ledger",
    "ledger_procedure": "ledger",  # a status answer reads the procedures from the copy
}
FAMILIES = ("bindings", "staff", "learned", "ledger")


class FactsVersion(SQLModel, table=True):
    __tablename__ = "facts_version"

    family: str = Field(sa_column=Column(String(32), primary_key=True))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))


def read_versions(*, session: Session) -> tuple[tuple[str, int], ...]:
    """Every family's version (one statement)."""
    table = FactsVersion.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(select(table.c.family, table.c.version)).all()
    return tuple(sorted((str(f), int(v)) for f, v in rows))


def _bump(session: OrmSession, families: set[str]) -> None:
    table = FactsVersion.__table__  # type: ignore[attr-defined]
    for family in sorted(families):
        session.connection().execute(update(table).where(table.c.family == family).values(version=table.c.version + 1))


def watch_changes() -> None:
    """Bump the versions in every ORM session from now on (idempotent; called by Database)."""
    if not event.contains(OrmSession, "before_flush", _on_flush):
        event.listen(OrmSession, "before_flush", _on_flush)
        event.listen(OrmSession, "do_orm_execute", _on_execute)


def _on_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    families: set[str] = set()
    for obj in (*session.new, *session.deleted, *session.dirty):
        table = getattr(type(obj), "__tablename__", None)
        if table in WATCHED and (obj not in session.dirty or session.is_modified(obj)):
            families.add(WATCHED[table])
    if families:
        _bump(session, families)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    family = WATCHED.get(getattr(table, "name", ""))
    if family is not None:
        _bump(state.session, {family})
