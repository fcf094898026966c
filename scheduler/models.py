"""The reminder log: one row per reminder key, so nothing is sent twice.

A send is three units of work: `claim_reminder` (commit), the send, then `mark_sent` or
`mark_failed`. The claim is an insert-if-absent on the unique key, atomic on SQLite and
PostgreSQL alike, so a restart, a second scheduler run, or two processes racing each send a
reminder at most once. A failed send may be claimed again (a retry). A claim that was never
marked — the process died between claim and send — may be claimed again after
`stale_after`; if it died after sending but before marking, that one reminder is sent twice,
the price of never losing one.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, String, Table, and_, or_, update
from sqlmodel import Field, Session, SQLModel, select

from storage.types import UTCDateTime

DEFAULT_STALE_AFTER = timedelta(minutes=15)


class ReminderState(str, enum.Enum):
    claimed = "claimed"  # a sender holds it
    sent = "sent"
    failed = "failed"


class ReminderLog(SQLModel, table=True):
    __tablename__ = "reminder_log"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    day: date | None = None  # the reminder's day, for housekeeping queries
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    attempts: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    error: str | None = Field(default=None, sa_column=Column(String(1000)))


REMINDER_TABLE: Table = ReminderLog.__table__  # type: ignore[attr-defined]


def _insert_ignore(session: Session) -> Any:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING on both supported databases."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover


def claim_reminder(
    *, session: Session, key: str, now: datetime, day: date | None = None, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> bool:
    """True if the caller now holds `key` and must send it: it was never claimed, its last
    send failed, or an earlier claim went stale unmarked."""
    insert = _insert_ignore(session)
    statement = (
        insert(REMINDER_TABLE)
        .values(key=key, status=ReminderState.claimed.value, day=day, claimed_at=now, attempts=1)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(REMINDER_TABLE.c.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for a row count SQLAlchemy did not ask for.
    if session.execute(statement).first() is not None:
        return True
    table = REMINDER_TABLE.c
    retry = (
        update(REMINDER_TABLE)
        .where(
            table.key == key,
            or_(
                table.status == ReminderState.failed.value,
                and_(table.status == ReminderState.claimed.value, table.claimed_at < now - stale_after),
            ),
        )
        .values(status=ReminderState.claimed.value, claimed_at=now, attempts=table.attempts + 1, error=None)
        .returning(table.id)
    )
    return session.execute(retry).first() is not None


def mark_sent(*, session: Session, key: str, now: datetime) -> None:
    session.execute(
        update(REMINDER_TABLE)
        .where(REMINDER_TABLE.c.key == key)
        .values(status=ReminderState.sent.value, sent_at=now, error=None)
    )


def mark_failed(*, session: Session, key: str, now: datetime, error: str) -> None:
    """Record a failed send; the next claim of the key retries it."""
    session.execute(
        update(REMINDER_TABLE)
        .where(REMINDER_TABLE.c.key == key)
        .values(status=ReminderState.failed.value, failed_at=now, error=error[:1000])
    )


def reminder_log(*, session: Session, key: str) -> ReminderLog | None:
    return session.exec(select(ReminderLog).where(ReminderLog.key == key)).first()


def record_failure(*, session: Session, key: str, now: datetime, error: str, day: date | None = None) -> None:
    """Record that the reminder (or the planning) under `key` failed before any send: the
    failure is in the log for that one group, and a later run that plans it tries again.
    A key already sent is left alone."""
    if claim_reminder(session=session, key=key, now=now, day=day, stale_after=timedelta(0)):
        mark_failed(session=session, key=key, now=now, error=error[:1000])
