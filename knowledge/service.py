"""The knowledge service the chat edge calls: match, compose, log — with plain values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlmodel import Session

from knowledge.answers import compose_answer, compose_item_answer
from knowledge.learned import add_learned, list_learned
from knowledge.matcher import Matcher, MatchResult
from knowledge.model import KnowledgeBase
from knowledge.question_log import log_question
from storage import Database


@dataclass(frozen=True)
class Reply:
    """What the matcher decided and the HTML answer, if it answers."""

    result: MatchResult
    answer_html: str | None


class UnknownItem(Exception):
    """A clarify button named an item the knowledge base does not have."""


class KnowledgeService:
    def __init__(self, *, kb: KnowledgeBase, matcher: Matcher, db: Database, clock: Callable[[], datetime]) -> None:
        self.kb = kb
        self.matcher = matcher
        self.db = db
        self.clock = clock

    async def ask(self, *, text: str, chat_id: int | None, user_id: int | None) -> Reply:
        """Match one question, log it, and return the reply to send."""
        result = self.matcher.match(text)
        await self.db.run(log_question, result=result, at=self.clock(), chat_id=chat_id, user_id=user_id)
        return Reply(result, compose_answer(self.kb, result))

    def reply_to(self, text: str) -> Reply:
        """Match one question and compose the answer, without the database."""
        result = self.matcher.match(text)
        return Reply(result, compose_answer(self.kb, result))

    def log_entry(self, reply: Reply, *, at: datetime, chat_id: int | None,
                  user_id: int | None) -> Callable[[Session], object]:
        """The question's log row, as a unit of work to run in the update's transaction."""
        return partial(_log, result=reply.result, at=at, chat_id=chat_id, user_id=user_id)

    def answer_item(self, *, item: str, intent: str) -> str:
        """Answer about a chosen item (a pressed clarify button)."""
        found = self.kb.items.get(item)
        if found is None:
            raise UnknownItem(item)
        return compose_item_answer(self.kb, found, intent)

    async def learn(
        self, *, question: str, answer: str, item: str | None, created_by: int | None, ticket_id: int | None = None
    ) -> None:
        """Store a steward's answer as knowledge and make it matchable at once."""
        await self.db.run(
            add_learned, question=question, answer=answer, item=item, at=self.clock(),
            ticket_id=ticket_id, created_by=created_by,
        )
        self.matcher.add_learned(question, answer, item)

    async def load_learned(self) -> int:
        """Feed the stored learned entries to the matcher (at start-up)."""
        entries = await self.db.run(list_learned)
        for entry in entries:
            self.matcher.add_learned(entry.question, entry.answer, entry.item)
        return len(entries)


def _log(session: Session, **kwargs: object) -> object:
    return log_question(session=session, **kwargs)  # type: ignore[arg-type]
