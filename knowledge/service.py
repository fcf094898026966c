"""The knowledge service the chat edge calls: match, compose, log — with plain values."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from knowledge.answers import compose_answer, compose_item_answer
from knowledge.context import (
    Context,
    following,
    forget_expired,
    keep_context,
    leave_context,
    read_contexts,
    recall_context,
    remember_context,
)
from knowledge.learned import LearnedHit, LearnedIndex, chat_project, learned_entries, store_learned
from knowledge.matcher import Matcher, MatchResult
from knowledge.model import Faq, KnowledgeBase
from knowledge.normalize import normalize
from knowledge.question_cue import (
    ASKS,
    QuestionReader,
    QuestionTurn,
    answers_unasked,
    has_question_mark,
    reader_in_background,
    reading_of,
)
from knowledge.question_log import log_question, write_question
from storage import Database
from storage.batch import ReadAhead

log = logging.getLogger(__name__)

# How long a group message with no question mark waits for the reader still training (it blocks the event loop):
# the training takes 0.1–0.2 s, a few seconds on a loaded machine; past this it is stuck, and marks alone decide.
READER_WAIT = 10.0


@dataclass(frozen=True)
class Reply:
    """What the matcher decided and the HTML answer, if it answers."""

    result: MatchResult
    answer_html: str | None


class UnknownItem(Exception):
    """A clarify button named an item the knowledge base does not have."""


class KnowledgeService:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        matcher: Matcher,
        db: Database,
        clock: Callable[[], datetime],
        context_ttl: timedelta = timedelta(minutes=10),
        question_turns: Sequence[QuestionTurn] | None = None,
        reader_wait: float = READER_WAIT,
    ) -> None:
        self.kb = kb
        self.matcher = matcher
        # the turns of the reader of whether a group message with no question mark asks (None: none asks)
        self._question_turns = question_turns
        self._question_reader: Future[QuestionReader | None] | None = None
        self._reader_lock = threading.Lock()
        self._reader_wait = reader_wait
        self._reader_waited = False  # a message waited the whole READER_WAIT once: the next ones do not wait
        self.db = db
        self.clock = clock
        self.context_ttl = context_ttl
        self.learned = LearnedIndex()
        self._swept_at: datetime | None = None  # when expired contexts were last deleted

    def reading_of(self, text: str) -> str:
        """How a group message not addressed to the bot reads: `ASKS`, `MAY_ASK` or `TALK` (`question_cue`). A message
        with a question mark never waits for the reader."""
        if has_question_mark(text):
            return ASKS
        return reading_of(text, self.question_reader)

    def speaks_unasked(self, result: MatchResult, text: str) -> bool:
        """Whether the bot replies to `text`, a message that may ask (`MAY_ASK`), read as `result`: only with an answer
        of its own about an aspect the message's own words ask (`question_cue.answers_unasked`)."""
        return answers_unasked(result, self.matcher.intent_said(text))

    def read_in_context(
        self, *, session: Session, plain: MatchResult, chat_id: int, user_id: int, at: datetime
    ) -> MatchResult:
        """How `plain`, a message read alone (`Matcher.alone`), reads in the asker's conversation — nothing logged or
        kept, and what the transaction read ahead left for the question's own reading (the desk asks first)."""
        context = None
        if self.context_ttl > timedelta(0):
            context = recall_context(
                session=session, chat_id=chat_id, user_id=user_id, at=at, ttl=self.context_ttl, keep=True
            )
        return self.matcher.in_context(plain, context)

    def start_question_reader(self) -> None:
        """Train the reader of group messages in a thread (the bot's post_init: while it connects to Telegram)."""
        with self._reader_lock:
            if self._question_reader is None and self._question_turns is not None:
                self._question_reader = reader_in_background(self._question_turns)

    @property
    def question_reader(self) -> QuestionReader | None:
        """The learned reader of group messages: a message with no question mark before it is trained waits for it
        (and one before the training was started starts it)."""
        self.start_question_reader()
        if self._question_reader is None:
            return None
        if self._reader_waited and not self._question_reader.done():
            return None  # waited once already: marks alone decide until the training ends, the loop goes on
        try:
            return self._question_reader.result(timeout=self._reader_wait)
        except FutureTimeout:  # a training this slow is stuck
            self._reader_waited = True
            log.warning(
                "the question reader is not trained after %.0f s: messages are read by their marks alone until it is",
                self._reader_wait,
            )
            return None
        except Exception:  # a training that failed: question marks alone decide, as without the reader's file
            with self._reader_lock:
                if self._question_turns is not None:
                    log.exception("the question reader failed to train: group messages ask by question marks alone")
                    self._question_turns = None
            return None

    def learned_hits(self, text: str) -> list[LearnedHit]:
        """The learned entries close to the question (in memory; the scope is decided in `ask_in`)."""
        return self.learned.candidates(text)

    def context_read_ahead(self, chat_id: int | None, user_id: int | None) -> ReadAhead | None:
        """What `ask_in` reads first (the asker's context), for the group transaction to read
        with its other units' (storage.batch); None when it reads none."""
        if chat_id is None or user_id is None or self.context_ttl <= timedelta(0):
            return None
        return (read_contexts, (chat_id, user_id))

    def ask_in(
        self,
        *,
        session: Session,
        text: str,
        chat_id: int | None,
        user_id: int | None,
        at: datetime,
        region: str | None = None,
        project: str | None = None,
        hits: list[LearnedHit] | None = None,
        plain: MatchResult | None = None,
        unasked: bool = False,
    ) -> Reply | None:
        """`ask` inside the caller's unit of work: the asker's context read, the question matched
        (`plain`, the message read alone by the caller already, `Matcher.alone`, is read in the asker's context),
        logged, the new context kept, the answer composed. `project` is the chat's project (the scope of the
        learned `hits`), `region` its 旗县区. `unasked`: a message that may ask (no question mark, not addressed to
        the bot): None, with nothing logged or kept, unless the bot answers it itself (`answers_unasked`)."""
        hit = self.learned.in_scope(hits, project) if hits else None
        learned = _learned_result(text, hit) if hit is not None else None
        result = self._ask(
            session=session,
            text=text,
            chat_id=chat_id,
            user_id=user_id,
            at=at,
            learned=learned,
            plain=plain,
            unasked=unasked,
        )
        return Reply(result, compose_answer(self.kb, result, region=region)) if result is not None else None

    async def ask(self, *, text: str, chat_id: int | None, user_id: int | None, region: str | None = None) -> Reply:
        """Match one question in the asker's context, log it, keep the new context, return the reply;
        `region` is the 旗县区 of the project the chat is bound to (its overrides of the knowledge base apply)."""
        at = self.clock()
        learned = await self._learned_answer(text, chat_id)
        result = await self.db.run(self._ask, text=text, chat_id=chat_id, user_id=user_id, at=at, learned=learned)
        assert result is not None  # only a message that may ask (`unasked`) is left alone
        return Reply(result, compose_answer(self.kb, result, region=region))

    def _ask(
        self,
        *,
        session: Session,
        text: str,
        chat_id: int | None,
        user_id: int | None,
        at: datetime,
        learned: MatchResult | None,
        plain: MatchResult | None = None,
        unasked: bool = False,
    ) -> MatchResult | None:
        asker = (chat_id, user_id) if chat_id is not None and user_id is not None else None
        if self.context_ttl <= timedelta(0):
            asker = None
        context = None
        if asker is not None:
            context = recall_context(session=session, chat_id=asker[0], user_id=asker[1], at=at, ttl=self.context_ttl)
        if learned is not None:
            result = learned
        elif plain is not None and plain.question == text and not plain.context:
            result = self.matcher.in_context(plain, context)  # the match the caller made already
        else:
            result = self.matcher.match(text, context)
        if unasked and not self.speaks_unasked(result, text):
            return None  # people talking, as far as the bot can tell: nothing logged, the context as it was
        write_question(session=session, result=result, at=at, chat_id=chat_id, user_id=user_id)
        if asker is not None:
            self._remember(session=session, chat_id=asker[0], user_id=asker[1], result=result, at=at, before=context)
        return result

    def _remember(
        self,
        *,
        session: Session,
        chat_id: int,
        user_id: int,
        result: MatchResult,
        at: datetime,
        before: Context | None = None,
    ) -> None:
        after = following(before, result.context_after(), borrowed=result.context, by_place=result.by_place)
        if result.keeps_context:
            after = before  # written again: its minutes count from this message, as after a doubted choice
        if result.leaves_context:
            leave_context(session=session, chat_id=chat_id, user_id=user_id, at=at)
        elif after is not None:
            keep_context(
                session=session,
                chat_id=chat_id,
                user_id=user_id,
                item=after.item,
                intent=after.intent,
                earlier=after.earlier,
                together=after.together,
                at_once=after.at_once,
                offered=after.offered,
                at=at,
            )
            # Expired contexts are ignored when read; deleting them is housekeeping, done at
            # most once a minute (not a DELETE per answer).
            if self._swept_at is None or not (at - SWEEP_EVERY < self._swept_at <= at):
                self._swept_at = at
                forget_expired(session=session, at=at, ttl=self.context_ttl)

    async def remember_choice(self, *, chat_id: int, user_id: int, item: str, intent: str) -> None:
        """Keep the item chosen from clarify buttons as the asker's context."""
        await self.db.run(remember_context, chat_id=chat_id, user_id=user_id, item=item, intent=intent, at=self.clock())

    async def reply_to(self, text: str, *, chat_id: int | None, region: str | None = None) -> Reply:
        """Match one question (a learned answer in scope first) and compose the answer. The
        database is asked only for a project-scoped learned entry; if it cannot be reached
        the matcher answers alone (answers do not wait for the database)."""
        try:
            learned = await self._learned_answer(text, chat_id)
        except SQLAlchemyError:
            learned = None
        result = learned or self.matcher.match(text)
        return Reply(result, compose_answer(self.kb, result, region=region))

    def log_entry(
        self, reply: Reply, *, at: datetime, chat_id: int | None, user_id: int | None
    ) -> Callable[[Session], object]:
        """The question's log row, as a unit of work to run in the update's transaction."""
        return partial(_log, result=reply.result, at=at, chat_id=chat_id, user_id=user_id)

    def answer_item(self, *, item: str, intent: str, region: str | None = None) -> str:
        """Answer about a chosen item (a pressed clarify button)."""
        found = self.kb.items.get(item)
        if found is None:
            raise UnknownItem(item)
        return compose_item_answer(self.kb, found, intent, region=region)

    async def _learned_answer(self, text: str, chat_id: int | None) -> MatchResult | None:
        """A learned answer whose scope covers the chat's project (the database is asked for
        the project only when a project-scoped entry is a candidate)."""
        hits = self.learned.candidates(text)
        if not hits:
            return None
        project = await self.db.run(chat_project, chat_id=chat_id) if self.learned.needs_project(hits) else None
        hit = self.learned.in_scope(hits, project)
        return _learned_result(text, hit) if hit is not None else None

    async def learn(
        self,
        *,
        question: str,
        answer: str,
        item: str | None,
        created_by: int | None,
        ticket_id: int | None = None,
        project_code: str | None = None,
    ) -> None:
        """Store a steward's answer as knowledge, for every project (project_code None) or
        only that project's help group, and make it matchable at once."""
        entry = await self.db.run(
            store_learned,
            question=question,
            answer=answer,
            item=item,
            at=self.clock(),
            ticket_id=ticket_id,
            created_by=created_by,
            project_code=project_code,
        )
        self.learned.put(entry)

    async def load_learned(self) -> int:
        """Load the stored learned entries (at start-up, and again when another instance changed
        them): the one place they come from. A fresh index replaces the old one, so an entry
        retired elsewhere goes too."""
        entries = await self.db.run(learned_entries)
        index = LearnedIndex()
        for entry in entries:
            index.put(entry)
        self.learned = index
        return len(entries)


SWEEP_EVERY = timedelta(minutes=1)


# reasons of a result the bot replies to itself though not with an answer: the ledger's line, a doubted answer offered
OWN_REPLIES = ("status", "doubted", "unsure_switch")


def answered_by_bot(result: MatchResult) -> bool:
    """Whether the bot answers this match itself: from the knowledge base, or from the ledger (status), or with a
    choice of an answer it holds but doubts (`doubted`: the earlier item; `left_unsure`: the new item or the earlier
    one; and the two offered again by the next elliptical turn) — those it answered before it doubted them, and a
    waiting ticket on another matter does not take them."""
    # a choice of the conversation's own items (「要多久」 after a doubted or unsure switch offers the two again)
    offered_again = result.action == "clarify" and result.context
    return (
        result.action in ("answer", "smalltalk") or result.reason in (*OWN_REPLIES, "project_status") or offered_again
    )


def _learned_result(text: str, hit: LearnedHit) -> MatchResult:
    entry = hit.entry
    return MatchResult(
        question=text,
        normalized=normalize(text),
        item=entry.item,
        intent="other",
        action="answer",
        confidence=hit.ratio / 100,
        candidates=(),
        reason="learned",
        faq=Faq(q=entry.question, a=entry.answer),
        learned=True,
    )


def _log(session: Session, **kwargs: object) -> object:
    return log_question(session=session, **kwargs)  # type: ignore[arg-type]
