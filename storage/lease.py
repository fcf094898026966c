"""A named lease in the database: at most one instance holds it until it expires.

Several bot instances share one database; exactly one of them runs the scheduled work (SLA
sweep, reminders, reports). The holder renews the lease well before it expires; when the holder
dies, the lease runs out and another instance takes it. The same two statements work on SQLite
and PostgreSQL: a conditional UPDATE (PostgreSQL re-checks its WHERE after a concurrent update
commits, so two contenders cannot both win) and, for the very first holder, an INSERT that the
primary key lets only one contender make.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, String, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from storage.types import UTCDateTime

SCHEDULER_LEASE = "scheduler"


class Lease(SQLModel, table=True):
    __tablename__ = "lease"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    holder: str = Field(sa_column=Column(String(200), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def acquire_lease(*, session: Session, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease for `seconds`; True when `holder` holds it afterwards."""
    until = now + timedelta(seconds=seconds)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))  # type: ignore[arg-type]
        .values(holder=holder, expires_at=until)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # another instance inserted it first
        return False


def release_lease(*, session: Session, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so the next instance need not wait."""
    lease = session.get(Lease, name)
    if lease is not None and lease.holder == holder:
        session.delete(lease)


def lease_holder(*, session: Session, name: str, now: datetime) -> str | None:
    """Who holds the lease now (None when nobody does)."""
    lease = session.get(Lease, name)
    return lease.holder if lease is not None and lease.expires_at >= now else None
