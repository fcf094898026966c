"""The inbox: every update Telegram delivers is stored before it is acknowledged (polling:
before the next getUpdates offset; webhook: before the 200), then processed; what was
stored and not processed when the process died is processed at the next start-up.

An update counts as processed when the first transaction that owes a message for it commits
(the outbox marks it in that transaction, see delivery.outbox.current_update), or, for an
update that owed nothing, when the processor has run its handlers (marked in batches)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, delete, event, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime


class InboxUpdate(SQLModel, table=True):
    __tablename__ = "inbox_update"
    __table_args__ = (Index("ix_inbox_update_done_at", "done_at"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


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


def store_updates(*, session: Session, updates: Sequence[dict[str, Any]], now: datetime) -> int:
    """Store raw updates (Bot API JSON); one seen before is left as it is. Returns how many
    were new."""
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
        session.add(InboxUpdate(update_id=update_id, chat_id=_chat_id(raw), payload=raw, received_at=now))
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


def prune_done(*, session: Session, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
    """Forget processed updates older than `keep` (Telegram never resends those)."""
    result = session.execute(
        delete(InboxUpdate).where(col(InboxUpdate.done_at).is_not(None), col(InboxUpdate.done_at) < now - keep)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
