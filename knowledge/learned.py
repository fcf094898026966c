"""Knowledge learned from stewards' answers (/learn), stored in the database, with its scope:
an answer holds for every project (project_code None) or only for one project's help group.

The lookup is here, not in the matcher: `LearnedIndex.find` takes the question and the
project of the chat it was asked in, and only an entry whose scope covers that project can
answer it. Plain values; the service feeds the index and asks it before the matcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from rapidfuzz import fuzz, process
from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, Session, SQLModel, col, select

from knowledge.normalize import compact as compact_text
from storage.types import UTCDateTime

MIN_RATIO = 85.0  # how close a question must be to a learned one to get its answer
ALL_PROJECTS = None


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
    # The scope: None for every project, else the one project whose help group it answers.
    project_code: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, index=True))


def add_learned(
    *,
    session: Session,
    question: str,
    answer: str,
    item: str | None,
    at: datetime,
    ticket_id: int | None = None,
    created_by: int | None = None,
    project_code: str | None = ALL_PROJECTS,
) -> LearnedEntry:
    """Store a question/answer pair that the matcher will use from now on. Learning the same
    ticket's question again replaces the earlier entry (its answer and scope)."""
    question, answer = question.strip(), answer.strip()
    entry = None
    if ticket_id is not None:
        entry = session.exec(
            select(LearnedEntry).where(
                LearnedEntry.ticket_id == ticket_id,
                LearnedEntry.question == question,
                col(LearnedEntry.active).is_(True),
            )
        ).first()
    if entry is None:
        entry = LearnedEntry(
            question=question,
            answer=answer,
            item=item,
            ticket_id=ticket_id,
            created_by=created_by,
            created_at=at,
            project_code=project_code,
        )
        session.add(entry)
    else:
        entry.answer, entry.item, entry.project_code = answer, item, project_code
        entry.created_by, entry.created_at = created_by, at
    session.flush()
    return entry


def list_learned(*, session: Session) -> list[LearnedEntry]:
    """Return every active learned entry, oldest first."""
    return list(session.exec(select(LearnedEntry).where(LearnedEntry.active == True).order_by(LearnedEntry.id)))  # type: ignore[arg-type]  # noqa: E712


@dataclass(frozen=True)
class Learned:
    """One learned answer as the index holds it."""

    id: int
    question: str
    answer: str
    item: str | None
    project_code: str | None  # None: every project

    def covers(self, project_code: str | None) -> bool:
        return self.project_code is None or self.project_code == project_code

    @classmethod
    def of(cls, entry: LearnedEntry) -> Learned:
        assert entry.id is not None
        return cls(entry.id, entry.question, entry.answer, entry.item, entry.project_code)


@dataclass(frozen=True)
class LearnedHit:
    entry: Learned
    ratio: float


class LearnedIndex:
    """The learned entries, matchable at once after /learn; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._entries: dict[int, tuple[str, Learned]] = {}

    def put(self, entry: Learned) -> None:
        compact = compact_text(entry.question)
        with self._lock:
            if compact:
                self._entries[entry.id] = (compact, entry)

    def __len__(self) -> int:
        return len(self._entries)

    def candidates(self, question: str) -> list[LearnedHit]:
        """Every entry close enough to the question, best first, whatever its scope."""
        compact = compact_text(question or "")
        with self._lock:
            entries = list(self._entries.values())
        if len(compact) < 4 or not entries:
            return []
        found = process.extract(
            compact[:200], [c for c, _ in entries], scorer=fuzz.ratio, score_cutoff=MIN_RATIO, limit=None
        )
        return [LearnedHit(entries[index][1], float(score)) for _, score, index in found]

    @staticmethod
    def in_scope(hits: list[LearnedHit], project_code: str | None) -> LearnedHit | None:
        """The best hit that holds in a chat of `project_code` (None: no project's group)."""
        return next((h for h in hits if h.entry.covers(project_code)), None)

    @staticmethod
    def needs_project(hits: list[LearnedHit]) -> bool:
        """Whether the chat's project decides between the hits (any is for one project)."""
        return any(h.entry.project_code is not None for h in hits)


def store_learned(*, session: Session, **fields: object) -> Learned:
    """add_learned, returning the plain entry for the index."""
    return Learned.of(add_learned(session=session, **fields))  # type: ignore[arg-type]


def learned_entries(*, session: Session) -> list[Learned]:
    return [Learned.of(e) for e in list_learned(session=session)]


def chat_project(*, session: Session, chat_id: int | None) -> str | None:
    """The project whose help group the chat is (None for any other chat)."""
    if chat_id is None:
        return None
    from desk.bindings import help_project  # the desk is optional for the knowledge base

    return help_project(session=session, chat_id=chat_id)
