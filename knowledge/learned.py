"""Knowledge learned from stewards' answers (/learn), stored in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, Session, SQLModel, select

from storage.types import UTCDateTime


class LearnedEntry(SQLModel, table=True):
    __tablename__ = "learned_entry"

    id: int | None = Field(default=None, primary_key=True)
    question: str
    answer: str
    item: str | None = None
    ticket_id: int | None = None
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger))  # a Telegram user id
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    active: bool = True


def add_learned(
    *,
    session: Session,
    question: str,
    answer: str,
    item: str | None,
    at: datetime,
    ticket_id: int | None = None,
    created_by: int | None = None,
) -> LearnedEntry:
    """Store a question/answer pair that the matcher will use from now on."""
    entry = LearnedEntry(
        question=question.strip(), answer=answer.strip(), item=item, ticket_id=ticket_id, created_by=created_by, created_at=at
    )
    session.add(entry)
    session.flush()
    return entry


def list_learned(*, session: Session) -> list[LearnedEntry]:
    """Return every active learned entry, oldest first."""
    return list(session.exec(select(LearnedEntry).where(LearnedEntry.active == True).order_by(LearnedEntry.id)))  # type: ignore[arg-type]  # noqa: E712
