"""Conversation context: per chat and user, the item and intent last answered, kept for a while.

An elliptical follow-up (「那得多长时间」「去哪儿交」「能评那个呢」) takes the missing part from it
(`Matcher.match(..., context=...)`). It lives in the database, so it holds across a restart and
across several bot processes; a row older than the expiry is ignored and swept away.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, SmallInteger, String, bindparam, false, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, delete, select

from storage.deferred import defer
from storage.types import UTCDateTime


@dataclass(frozen=True)
class Context:
    """What the asker last asked about: an item and intent, or (item `ASKED_WITHOUT_ITEM`) a question whose item
    was missing (「这个要多久」), which a next message naming only an item (「环评」) completes; `earlier`, the other
    items of the conversation, most recent first (「这两个能一起报吗」 names the last two); `together`, the last
    question asked whether procedures run together (item `parallel`, the procedures in `earlier`): 「那多久」 next
    asks of the procedure, 「具体怎么操作」 of running them together."""

    item: str
    intent: str
    earlier: tuple[str, ...] = ()
    together: bool = False
    # how many of `earlier` (its first ones, in the order written) were asked in one message with `item`, after it:
    # 「用地预审和工规证分别找谁」 leaves 用地预审 with 工规证 asked at once, so 「第一个」 next is 用地预审
    at_once: int = 0
    # the last message was offered a choice (clarify buttons: `item` first, then `earlier[0]`) and none was pressed:
    # a follow-up taking one of them is offered the choice again, not answered with a guess
    offered: bool = False

    @property
    def procedure(self) -> str:
        """What a question of how long, who or what it costs is asked of: after a together question the procedure
        asked about (「几个工作日」 after 「消防设计审查是跟审图一块儿报还是单独报」), else the item."""
        return self.earlier[0] if self.together and self.earlier else self.item

    def recent(self, count: int) -> tuple[str, ...]:
        """The last `count` items spoken of, in the order they were asked."""
        asked = (*reversed(self.earlier[self.at_once :]), self.item, *self.earlier[: self.at_once])
        return asked[-count:] if count else ()


ASKED_WITHOUT_ITEM = "?"  # Context.item of a question asked with no item: no item key is "?"
KEPT_EARLIER = 2  # items kept besides the last: 「这三个」 is the most a follow-up names


def following(
    previous: Context | None, after: Context | None, *, borrowed: bool = False, by_place: bool = False
) -> Context | None:
    """The context after a message: `after` (what it leaves, `MatchResult.context_after`) with the items of the
    conversation before it, the previous context's item first. A follow-up that `borrowed` the together question's
    parallel topic (「具体怎么操作」) leaves it a together question still; one that picked an item `by_place`
    (「第一个多久」) leaves the items in their order."""
    if after is None or after.item == ASKED_WITHOUT_ITEM or previous is None or previous.item == ASKED_WITHOUT_ITEM:
        return after
    order = previous.recent(1 + len(previous.earlier))  # the items in the order asked
    if by_place and after.item in order and not after.earlier:
        # the item picked first, then those asked after it (in order: at_once), then those before it, latest first
        place = order.index(after.item)
        later, before = order[place + 1 :], tuple(reversed(order[:place]))
        kept = (*later, *before)[:KEPT_EARLIER]
        return replace(after, earlier=kept, at_once=min(len(later), len(kept)), together=False)
    together = after.together or (borrowed and previous.together and after.item == previous.item)
    if after.item == previous.item and not after.earlier and previous.at_once:
        # 「多久」 after 「用地预审和工规证分别找谁」: the same items, still in the order they were asked
        return replace(after, earlier=previous.earlier, at_once=previous.at_once, together=together)
    earlier = [i for i in after.earlier if i != after.item]
    # the previous items most recent first (those asked at once: the last written first)
    for item in reversed(previous.recent(1 + len(previous.earlier))):
        if item not in (after.item, ASKED_WITHOUT_ITEM, LEFT) and item not in earlier:
            earlier.append(item)
    kept = tuple(earlier[:KEPT_EARLIER])
    return replace(after, earlier=kept, together=together, at_once=min(after.at_once, len(kept)))


def chosen(previous: Context | None, item: str, intent: str) -> Context:
    """The context after `item` is chosen from clarify buttons: that item, the conversation's others before it (the
    bot's `remember_context` and the replays' `MemoryContexts.choose` alike). The items of a choice the last message
    was offered keep the order they were written in (`Context.at_once`), as a pick by place does: 「前面那个」 after
    「环评和水保这俩现在到哪了」 and a press of either is 环评."""
    # only a press on the choice the last message was offered (a button of an older choice is a pick of its own)
    offered = previous is not None and previous.offered and item in (previous.item, *previous.earlier[:1])
    kept = following(previous, Context(item, intent), by_place=offered)
    assert kept is not None  # following() returns its `after` (one item: no choice open, nothing together), or a copy
    return kept


def _joined(items: tuple[str, ...]) -> str:
    return ",".join(items)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(i for i in (text or "").split(",") if i)


class MemoryContexts:
    """Contexts in memory, for the command line: a file of dialogues is read in order, with no expiry."""

    def __init__(self) -> None:
        self._by_asker: dict[tuple[int, int], Context] = {}

    def recall(self, chat_id: int, user_id: int) -> Context | None:
        return self._by_asker.get((chat_id, user_id))

    def remember(self, chat_id: int, user_id: int, context: Context | None) -> None:
        if context is not None:
            self._by_asker[(chat_id, user_id)] = context

    def leave(self, chat_id: int, user_id: int) -> None:
        """Nothing to borrow next: the asker moved on (as the bot's `leave_context`)."""
        self._by_asker.pop((chat_id, user_id), None)

    def follow(self, chat_id: int, user_id: int, result: Any) -> None:
        """Keep what `result` (a MatchResult) leaves for the asker's next question, as the bot does."""
        if result.leaves_context:
            self.leave(chat_id, user_id)
        else:
            before = self.recall(chat_id, user_id)
            after = following(before, result.context_after(), borrowed=result.context, by_place=result.by_place)
            self.remember(chat_id, user_id, before if result.keeps_context else after)

    def choose(self, chat_id: int, user_id: int, item: str, intent: str) -> None:
        """Keep the item chosen from clarify buttons, as the bot does when one is pressed (`remember_context`)."""
        self.remember(chat_id, user_id, chosen(self.recall(chat_id, user_id), item, intent))

    def follow_labelled(self, case: Any, result: Any) -> None:
        """Keep what `result` leaves for the asker of `case`, a labelled dialogue turn, who then presses a button of a
        choice the bot shows: the item they meant when it is offered (the conversation goes on from it, as the bot's
        `remember_choice`), else 「都不是」, which leaves the conversation (as the bot's `leave_context`; in a group it
        also opens a ticket). A replay of labelled dialogues (`steward eval`, the regression guard, the follow-up
        models' training) so goes on as the asker's would."""
        self.follow(case.chat, case.user, result)
        private = case.chat > 0  # a private chat's id is the user's, positive; groups' are negative
        if not result.shown_as_choice(private=private):
            return
        if case.item is not None and case.item in {c.item for c in result.candidates}:
            self.choose(case.chat, case.user, case.item, result.intent or "other")
        else:
            self.leave(case.chat, case.user)


class TurnReader:
    """Labelled questions read as the bot reads them, in file order: a single question alone, a dialogue turn in its
    asker's context, the asker pressing the button of the item they meant when it is offered
    (`MemoryContexts.follow_labelled`). What `steward eval`, the regression guard and the follow-up models' replays
    all read with; one reader per set (its askers' conversations are the set's)."""

    def __init__(self, matcher: Any) -> None:
        self.matcher = matcher
        self.contexts = MemoryContexts()

    def read(self, case: Any) -> tuple[Context | None, Any]:
        """The context `case` is read in (None for a single question or a first turn) and the matcher's result."""
        if case.chat is None or case.user is None:
            return None, self.matcher.match(case.q)
        context = self.contexts.recall(case.chat, case.user)
        result = self.matcher.match(case.q, context)
        self.contexts.follow_labelled(case, result)
        return context, result


def replayed(matcher: Any, sets: Iterable[tuple[str, Sequence[Any]]]) -> Iterator[tuple[str, Any, Context, Any]]:
    """The later turns of labelled dialogue sets read in context by `matcher` (`TurnReader`): (set name, case, the
    context it was read in, the result), for every turn that had a context. What the follow-up models are trained on
    is gathered from it."""
    for name, cases in sets:
        reader = TurnReader(matcher)
        for case in cases:
            if case.chat is None or case.user is None:
                continue
            context, result = reader.read(case)
            if context is not None:
                yield name, case, context, result


class ConversationContext(SQLModel, table=True):
    __tablename__ = "conversation_context"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    item: str = Field(sa_column=Column(String(64), nullable=False))
    intent: str = Field(sa_column=Column(String(32), nullable=False))
    earlier: str = Field(default="", sa_column=Column(String(160), nullable=False, server_default=""))
    together: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    at_once: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False, server_default="0"))
    offered: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


def recall_context(
    *, session: Session, chat_id: int, user_id: int, at: datetime, ttl: timedelta, keep: bool = False
) -> Context | None:
    """The asker's context, if it is younger than `ttl` (one SELECT, no ORM object; none when the
    group transaction read it ahead with the other units' contexts: `read_contexts`). `keep`: a look before the
    question's own (the desk's), which leaves what was read ahead for it."""
    ahead: dict[tuple[int, int], Any] | None = session.info.get(_AHEAD)
    if ahead is not None and (chat_id, user_id) in ahead:
        # read once: a second look reads the table again (the question may have changed it meanwhile)
        row = ahead[(chat_id, user_id)] if keep else ahead.pop((chat_id, user_id))
    else:
        row = session.execute(_RECALL, {"chat_id": chat_id, "user_id": user_id}).first()
    if row is None or row.updated_at < at - ttl or row.item == LEFT:
        return None
    return _context_of(row)


def _context_of(row: Any) -> Context:
    """The Context a row of the table holds (an ORM object or a selected row)."""
    return Context(row.item, row.intent, _split(row.earlier), bool(row.together), int(row.at_once), bool(row.offered))


def read_contexts(session: Session, askers: list[tuple[int, int]]) -> None:
    """Read the contexts of these (chat id, user id) askers in one statement, for `recall_context`
    (storage.batch's read-ahead: a group transaction's questions read theirs together)."""
    ahead: dict[tuple[int, int], Any] = session.info.setdefault(_AHEAD, {})
    wanted = sorted(set(askers))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        ahead.update(dict.fromkeys(chunk))
        for row in session.execute(_READ_AHEAD, {"askers": chunk}):
            ahead[(row.chat_id, row.user_id)] = row


_AHEAD = "contexts_read_ahead"  # session.info: (chat id, user id) → its row (None: no row)


_TABLE = ConversationContext.__table__  # type: ignore[attr-defined]
# What a row keeps of an asker besides its key: the columns read back and rewritten on conflict.
_KEPT = ("item", "intent", "earlier", "together", "at_once", "offered", "updated_at")
_RECALL = sa_select(*(_TABLE.c[name] for name in _KEPT)).where(
    _TABLE.c.chat_id == bindparam("chat_id"), _TABLE.c.user_id == bindparam("user_id")
)  # built once
_READ_AHEAD = sa_select(_TABLE.c.chat_id, _TABLE.c.user_id, *(_TABLE.c[name] for name in _KEPT)).where(
    tuple_(_TABLE.c.chat_id, _TABLE.c.user_id).in_(bindparam("askers", expanding=True))
)  # built once


# The item of an asker who left the earlier context (knowledge.matcher.MatchResult.leaves_context): recalled as none.
LEFT = ""


def leave_context(*, session: Session, chat_id: int, user_id: int, at: datetime) -> None:
    """The asker moved on to a matter the bot could not place: nothing to borrow next (kept_context's row,
    marked, so it costs no statement of its own)."""
    keep_context(session=session, chat_id=chat_id, user_id=user_id, item=LEFT, intent=LEFT, at=at)


def keep_context(
    *,
    session: Session,
    chat_id: int,
    user_id: int,
    item: str,
    intent: str,
    at: datetime,
    earlier: tuple[str, ...] = (),
    together: bool = False,
    at_once: int = 0,
    offered: bool = False,
) -> None:
    """remember_context as an upsert (INSERT … ON CONFLICT DO UPDATE, on both databases), written
    with the transaction's other contexts just before it commits (storage.deferred): an asker's
    next question comes in a later transaction (one chat's updates run in order)."""
    stmt = _UPSERT["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
    values = {
        "chat_id": chat_id,
        "user_id": user_id,
        "item": item,
        "intent": intent,
        "earlier": _joined(earlier),
        "together": together,
        "at_once": at_once,
        "offered": offered,
        "updated_at": at,
    }
    defer(session, stmt, values, key=(chat_id, user_id))


def _upsert(insert: Any) -> Any:
    table = ConversationContext.__table__  # type: ignore[attr-defined]
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=["chat_id", "user_id"],
        set_={name: stmt.excluded[name] for name in _KEPT},
    )


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}  # built once


def remember_context(*, session: Session, chat_id: int, user_id: int, item: str, intent: str, at: datetime) -> None:
    """Keep the item chosen from clarify buttons (`chosen`: the previous item joins the earlier ones)."""
    row = session.get(ConversationContext, (chat_id, user_id))
    if row is None:
        session.add(ConversationContext(chat_id=chat_id, user_id=user_id, item=item, intent=intent, updated_at=at))
    else:
        kept = chosen(_context_of(row), item, intent)
        row.item, row.intent, row.updated_at = item, intent, at
        row.earlier = _joined(kept.earlier)
        # one item chosen: nothing together, no choice open; at_once kept when a press keeps a choice's written order
        row.together, row.at_once, row.offered = kept.together, kept.at_once, kept.offered
        session.add(row)
    session.flush()


def forget_expired(*, session: Session, at: datetime, ttl: timedelta) -> int:
    """Delete contexts older than `ttl`; return how many."""
    stale = col(ConversationContext.updated_at) < at - ttl
    result = session.exec(delete(ConversationContext).where(stale))
    return int(result.rowcount or 0)


def contexts(*, session: Session) -> list[ConversationContext]:
    return list(session.exec(select(ConversationContext)))
