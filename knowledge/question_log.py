"""Every question the matcher sees, kept for the analytics (auto-answer rate, top hand-offs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, insert
from sqlmodel import Field, Session, SQLModel

from knowledge.matcher import MatchResult
from storage.deferred import defer
from storage.types import UTCDateTime


class QuestionLog(SQLModel, table=True):
    __tablename__ = "question_log"
    __table_args__ = (Index("ix_question_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # Telegram ids are 64-bit
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    text: str
    normalized: str
    item: str | None = None
    intent: str
    confidence: float
    action: str
    reason: str = ""


TEXT_LIMIT = 4096  # what Telegram allows in one message


def _values(result: MatchResult, at: datetime, chat_id: int | None, user_id: int | None) -> dict[str, Any]:
    return {
        "at": at,
        "chat_id": chat_id,
        "user_id": user_id,
        "text": result.question[:TEXT_LIMIT],
        "normalized": result.normalized[:1000],
        "item": result.item,
        "intent": result.intent,
        "confidence": result.confidence,
        "action": result.action,
        "reason": result.reason,
    }


def log_question(
    *, session: Session, result: MatchResult, at: datetime, chat_id: int | None = None, user_id: int | None = None
) -> QuestionLog:
    """Record one matched question."""
    row = QuestionLog(**_values(result, at, chat_id, user_id))
    session.add(row)
    session.flush()
    return row


def write_question(
    *, session: Session, result: MatchResult, at: datetime, chat_id: int | None = None, user_id: int | None = None
) -> None:
    """Record one matched question, as log_question, without an ORM object and without a
    statement of its own: the transaction writes all of its log rows in one INSERT before it
    commits (storage.deferred; nothing reads the row back)."""
    defer(session, _INSERT, _values(result, at, chat_id, user_id))


_INSERT = insert(QuestionLog.__table__)  # type: ignore[attr-defined]  # built once, compiled once


def log_unmatched(
    *,
    session: Session,
    text: str,
    at: datetime,
    action: str,
    reason: str = "",
    chat_id: int | None = None,
    user_id: int | None = None,
) -> QuestionLog:
    """Record a question that never reached the matcher, with what became of it (e.g. a
    throttled one: action "throttled")."""
    row = QuestionLog(
        at=at,
        chat_id=chat_id,
        user_id=user_id,
        text=text[:TEXT_LIMIT],
        normalized="",
        item=None,
        intent="other",
        confidence=0.0,
        action=action,
        reason=reason,
    )
    session.add(row)
    session.flush()
    return row
