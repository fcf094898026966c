"""The inbox: every update Telegram delivers is stored before it is acknowledged (polling:
before the next getUpdates offset; webhook: before the 200), then processed; what was
stored and not processed when the process died is processed at the next start-up.

An update counts as processed when the first transaction that owes a message for it commits
(the outbox marks it in that transaction, see delivery.outbox.current_update), or, for an
update that owed nothing, when the processor has run its handlers (marked in batches).

Several instances may share the database (webhook workers; an old and a new instance during a
deploy). Each stored update names the instance run that took it (`claimed_by`), and each run
keeps a lease of its own alive in the `lease` table (storage.lease, named `inbox:<run>`, renewed
by its owner; a clean stop releases it). What was stored and not processed is taken over
(`take_orphans`, at start-up and then periodically) only when its run's lease is gone or ran
out, or its process is known to have ended (`gone`: a process of this machine's boot and pid
namespace that exists no more — a restart on the same host replays at once): an update another
live instance is in the middle of is never processed a second time. The
claim costs nothing per update (the column is written by the insert that stores it), and the
lease is one row per run, not a renewal per update."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, delete, event, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel, col, select

from storage.lease import Lease
from storage.types import UTCDateTime

LEASE_PREFIX = "inbox:"  # the lease of one run of an instance: inbox:<random hex>


class InboxUpdate(SQLModel, table=True):
    __tablename__ = "inbox_update"
    __table_args__ = (Index("ix_inbox_update_done_at", "done_at"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # the run that took it (its lease's name); NULL: stored before runs claimed what they stored
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))


def _chat_id(update: dict[str, Any]) -> int | None:
    for key in (
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "message_reaction",
    ):
        chat = (update.get(key) or {}).get("chat")
        if chat and "id" in chat:
            return int(chat["id"])
    query = update.get("callback_query")
    if query and (query.get("message") or {}).get("chat"):
        return int(query["message"]["chat"]["id"])
    return None


def store_updates(
    *, session: Session, updates: Sequence[dict[str, Any]], now: datetime, owner: str | None = None
) -> int:
    """Store raw updates (Bot API JSON), claimed by the run `owner`; one seen before is left as it
    is (and with whoever took it). Returns how many were new."""
    if not updates:
        return 0
    ids = [int(u["update_id"]) for u in updates]
    known = set(session.exec(select(InboxUpdate.update_id).where(col(InboxUpdate.update_id).in_(ids))).all())
    new = 0
    for raw in updates:
        update_id = int(raw["update_id"])
        if update_id in known:
            continue
        known.add(update_id)
        session.add(
            InboxUpdate(update_id=update_id, chat_id=_chat_id(raw), payload=raw, received_at=now, claimed_by=owner)
        )
        new += 1
    session.flush()
    return new


DONE_AT_COMMIT = "inbox_done_at_commit"  # session.info: update ids to mark in one statement


def mark_done_at_commit(session: Session, update_id: int) -> None:
    """Mark the update processed in this transaction: with the others of the same (group)
    transaction, in one statement just before the commit."""
    session.info.setdefault(DONE_AT_COMMIT, []).append(update_id)


@event.listens_for(OrmSession, "before_commit")
def _mark_before_commit(session: OrmSession) -> None:
    ids = session.info.pop(DONE_AT_COMMIT, None)
    if ids:
        mark_done(session=session, update_ids=ids, now=datetime.now(timezone.utc))  # type: ignore[arg-type]


@event.listens_for(OrmSession, "after_rollback")
def _forget_marks(session: OrmSession) -> None:
    session.info.pop(DONE_AT_COMMIT, None)


def mark_done(*, session: Session, update_ids: Sequence[int], now: datetime) -> None:
    if update_ids:
        session.execute(
            update(InboxUpdate)
            .where(col(InboxUpdate.update_id).in_(list(update_ids)), col(InboxUpdate.done_at).is_(None))
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )


def pending_updates(*, session: Session, limit: int = 10_000) -> list[dict[str, Any]]:
    """Stored and not processed, oldest first (replayed at start-up)."""
    rows = session.exec(
        select(InboxUpdate).where(col(InboxUpdate.done_at).is_(None)).order_by(col(InboxUpdate.update_id)).limit(limit)
    ).all()
    return [dict(r.payload) for r in rows]


def _never_gone(_holder: str) -> bool:
    return False


def take_orphans(
    *,
    session: Session,
    owner: str,
    now: datetime,
    gone: Callable[[str], bool] = _never_gone,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Claim for the run `owner` what was stored and not processed by a run whose lease is gone or
    ran out, or whose lease's holder `gone` says has ended (or by nobody); returns those updates,
    oldest first. Updates of a live run are left to it.

    A compare-and-set: the runs found dead are named in the UPDATE, so of two instances taking the
    same orphans at once (PostgreSQL re-checks the WHERE of a row another transaction changed) the
    second finds each row's owner changed and takes none of them twice."""
    table = InboxUpdate.__table__  # type: ignore[attr-defined]
    leases = Lease.__table__  # type: ignore[attr-defined]
    owners = session.execute(
        sa_select(table.c.claimed_by, leases.c.holder, leases.c.expires_at)
        .distinct()
        .select_from(table.outerjoin(leases, leases.c.name == table.c.claimed_by))
        .where(table.c.done_at.is_(None))
    ).all()
    dead = {
        run
        for run, holder, expires_at in owners
        if run != owner and (holder is None or expires_at < now or gone(holder))
    }
    names = sorted(o for o in dead if o is not None)
    # the leases of runs that ended without a clean stop: one row per such run, nothing to keep
    session.execute(
        delete(leases).where(
            leases.c.name.startswith(LEASE_PREFIX), or_(leases.c.expires_at < now, leases.c.name.in_(names))
        )
    )
    if not dead:
        return []
    of_dead = table.c.claimed_by.in_(names)
    if None in dead:
        of_dead = or_(of_dead, table.c.claimed_by.is_(None))
    oldest = (
        sa_select(table.c.update_id).where(table.c.done_at.is_(None), of_dead).order_by(table.c.update_id).limit(limit)
    )
    taken = session.execute(
        update(table)
        .where(table.c.update_id.in_(oldest), table.c.done_at.is_(None), of_dead)
        .values(claimed_by=owner)
        .returning(table.c.update_id, table.c.payload)
    ).all()
    return [dict(payload) for _, payload in sorted(taken, key=lambda row: int(row[0]))]


def prune_done(*, session: Session, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
    """Forget processed updates older than `keep` (Telegram never resends those)."""
    result = session.execute(
        delete(InboxUpdate).where(col(InboxUpdate.done_at).is_not(None), col(InboxUpdate.done_at) < now - keep)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
