"""The outbox: every message the bot owes, written in the same transaction as the state
change that owes it (a ticket and its acknowledgement and card; a breach mark and its alerts;
a reminder claim and the reminder; a relayed answer and its confirmation). A sender
(bot/sender.py) delivers the rows with Telegram's limits and marks each one.

Why a table of our own and not a task queue library: procrastinate (the well-kept choice) is
PostgreSQL-only, and the bot runs on SQLite as well; the rows here are a few columns and two
queries (the ready head of each chat's queue; the claim) that behave alike on both.

Delivery is at least once. A row is claimed (status `sending`) right before its HTTP call and
finished right after; a process that dies in between leaves it `sending`, and it is taken up
again after the claim lease (at once at start-up on SQLite, which has one sender per
database) as `uncertain`. A send that timed out is uncertain too. An uncertain row is resent
once; if its fate is unknown a second time it is failed, never sent a third time. Rows that
were sent after being uncertain are the possible duplicates, counted by `outbox_stats` over the
rows kept (sent and failed rows are deleted `OUTBOX_KEEP_DAYS` after they were owed: `prune_final`).

Outcomes are plain values (`DeliveryOutcome`): `sent` with Telegram's message id, or
`failed` with the reason (403 chat gone, 400 refused, given up). Follow-ups registered with
`on_outcome(kind)` run in the transaction that records the outcome — the desk records a
posted card's message id, a relay's delivery, a chat that removed the bot.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    update,
)
from sqlalchemy import select as sa_select  # sqlmodel's select takes at most four columns
from sqlmodel import Field, Session, SQLModel, col, select

from storage.deferred import defer
from storage.types import UTCDateTime


class Priority(enum.IntEnum):
    """Lower goes first: the SLA sweep is never late because reminders fill the queue."""

    alert = 0  # SLA warnings, breaches
    reply = 10  # answers, acknowledgements, cards, relays
    reminder = 20  # scheduled reminders and reports


class OutboxState(str, enum.Enum):
    pending = "pending"
    sending = "sending"  # claimed by a sender, HTTP call in flight
    sent = "sent"
    failed = "failed"  # final: 403, 400, given up, or fate unknown twice

    def __str__(self) -> str:
        return self.value


FINAL_STATES = (OutboxState.sent.value, OutboxState.failed.value)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_head", "status", "chat_id", "priority", "id"),  # ready_heads walks it
        Index("ix_outbox_message_ticket", "ticket_id"),
        Index("ix_outbox_message_posted", "chat_id", "message_id"),  # a reply to a message of the bot: whose it is
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    method: str = Field(default="sendMessage", sa_column=Column(String(32), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    purpose: str = Field(default="", sa_column=Column(String(32), nullable=False))
    priority: int = Field(default=Priority.reply.value, sa_column=Column(Integer, nullable=False))
    ticket_id: int | None = None
    follow_up: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after_id: int | None = None  # waits until that row is final; payload["if_failed"] then applies
    status: str = Field(default=OutboxState.pending.value, sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    uncertain: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    not_before: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    error: str | None = Field(default=None, sa_column=Column(String(500)))


@dataclass(frozen=True)
class OutboxView:
    """A claimed row, as the sender needs it."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str
    priority: int
    attempts: int
    uncertain: bool
    parent_failed: bool = False  # the row it waited for failed: send payload["if_failed"]
    created_at: datetime | None = None  # when it was owed (None: a message sent without a row)

    @classmethod
    def of(cls, row: OutboxMessage, parent_failed: bool = False) -> OutboxView:
        assert row.id is not None
        return cls(
            row.id,
            row.chat_id,
            row.method,
            dict(row.payload),
            row.purpose,
            row.priority,
            row.attempts,
            row.uncertain,
            parent_failed,
            row.created_at,
        )


@dataclass(frozen=True)
class Owed:
    """One message to owe, as plain values (what `enqueue` writes)."""

    chat_id: int
    payload: dict[str, Any]
    purpose: str
    priority: Priority = Priority.reply
    method: str = "sendMessage"
    ticket_id: int | None = None
    follow_up: dict[str, Any] | None = None
    after: int | None = None  # index of an earlier Owed of the same list to wait for


def message_payload(
    text: str,
    *,
    parse_mode: str | None = "HTML",
    reply_to: int | None = None,
    thread_id: int | None = None,
    markup: dict[str, Any] | None = None,
    if_failed: str | None = None,
) -> dict[str, Any]:
    """The payload of a sendMessage row: text (split at send time), reply target, topic, buttons."""
    payload: dict[str, Any] = {"text": text}
    if parse_mode:
        payload["parse_mode"] = parse_mode
    if reply_to:
        payload["reply_to"] = int(reply_to)
    if thread_id:
        payload["thread_id"] = int(thread_id)
    if markup:
        payload["markup"] = markup
    if if_failed is not None:
        payload["if_failed"] = if_failed
    return payload


# --------------------------------------------------------------------------- writing

# Set by the inbox around the processing of one update: the first transaction that owes a
# message also marks the update processed, so a replay after a crash never owes it twice.
current_update: ContextVar[Callable[[Session], None] | None] = ContextVar("current_update", default=None)
WAKE_FLAG = "outbox_enqueued"
MARKED = "outbox_marked_updates"  # session.info: the updates this transaction marked processed


_INSERT = insert(OutboxMessage.__table__)  # type: ignore[attr-defined]  # built once
_INSERT_RETURNING = _INSERT.returning(OutboxMessage.__table__.c.id)  # type: ignore[attr-defined]


def _row(owed: Owed, now: datetime, after_id: int | None) -> dict[str, Any]:
    return {
        "chat_id": int(owed.chat_id),
        "method": owed.method,
        "payload": owed.payload,
        "purpose": owed.purpose[:32],
        "priority": int(owed.priority),
        "ticket_id": owed.ticket_id,
        "follow_up": owed.follow_up,
        "after_id": after_id,
        "status": OutboxState.pending.value,
        "attempts": 0,
        "uncertain": False,
        "created_at": now,
        "not_before": now,
    }


def _owed_by(session: Session) -> None:
    """The transaction owes messages: wake the sender after the commit, and mark the update
    being processed (once) in the same transaction."""
    session.info[WAKE_FLAG] = True
    mark_update = current_update.get()
    if mark_update is not None:
        marked = session.info.setdefault(MARKED, set())
        if mark_update not in marked:  # once per update and transaction
            marked.add(mark_update)
            mark_update(session)


def enqueue(*, session: Session, owed: Owed, now: datetime, after_id: int | None = None) -> int:
    """Write one owed message in the caller's transaction; returns its id (one INSERT … RETURNING,
    no ORM object)."""
    row_id = session.execute(_INSERT_RETURNING, _row(owed, now, after_id)).scalar_one()
    _owed_by(session)
    return int(row_id)


def enqueue_all(*, session: Session, owed: Iterable[Owed], now: datetime) -> None:
    """Write the owed messages in the caller's transaction. Rows no other row waits for are
    written with the transaction's others in one INSERT just before it commits
    (storage.deferred), in the order they were owed; a list with `after` links is written at
    once (the ids are needed)."""
    rows = list(owed)
    if not rows:
        return
    if all(o.after is None for o in rows):
        for o in rows:
            defer(session, _INSERT, _row(o, now, None))
        _owed_by(session)
        return
    ids: list[int] = []
    for o in rows:
        after = ids[o.after] if o.after is not None else None
        ids.append(enqueue(session=session, owed=o, now=now, after_id=after))


def run_owing(
    *, session: Session, fn: Callable[..., Any], compose: Callable[[Any], Iterable[Owed]], now: datetime, **kwargs: Any
) -> Any:
    """One unit of work that changes state and owes messages: `fn(session=..., now=now, **kwargs)`,
    then the messages `compose(result)` says it owes, in the same transaction."""
    result = fn(session=session, now=now, **kwargs)
    enqueue_all(session=session, owed=list(compose(result)), now=now)
    return result


# --------------------------------------------------------------------------- the sender's queries


def ready_heads(
    *, session: Session, now: datetime, limit: int, exclude_chats: Sequence[int] = ()
) -> list[tuple[int, int]]:
    """(row id, chat id) of the head of each chat's queue that may go now: the first pending
    row of the chat by (priority, id), due, and not waiting for an unfinished row. A chat's
    later rows never overtake its head, so each chat keeps its order.

    The chats with pending rows are found by a skip scan of `ix_outbox_message_head` (a
    recursive query: the next chat id above the last, one index descent each) and each
    chat's head by one more descent, so the cost follows the number of chats with something
    pending, not the number of pending rows (a backlog of a thousand cards for the steward
    group is one chat: two descents, not a thousand rows ranked)."""
    rows = session.execute(_HEADS, {"now": now, "limit": limit, "exclude": [int(c) for c in exclude_chats]})
    return [(int(i), int(c)) for i, c in rows.all()]


def _heads_query() -> Any:
    """Built once (a statement this size costs more to build than to run on SQLite)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    pending = OutboxState.pending.value
    first = sa_select(func.min(table.c.chat_id).label("chat_id")).where(table.c.status == pending)
    chats = first.cte("pending_chats", recursive=True)
    later = table.alias("later")
    following = (
        sa_select(func.min(later.c.chat_id))
        .where(later.c.status == pending, later.c.chat_id > chats.c.chat_id)
        .scalar_subquery()
    )
    chats = chats.union_all(sa_select(following).where(chats.c.chat_id.is_not(None)))
    queue = table.alias("queue")
    head_id = (
        sa_select(queue.c.id)
        .where(queue.c.status == pending, queue.c.chat_id == chats.c.chat_id)
        .order_by(queue.c.priority, queue.c.id)
        .limit(1)
        .scalar_subquery()
    )
    # The heads' ids first, then their rows by primary key (a join on the head's subquery
    # lets PostgreSQL hash the whole table instead).
    heads = (
        sa_select(head_id.label("id"))
        .select_from(chats)
        .where(chats.c.chat_id.is_not(None))
        .cte("heads")
        .prefix_with("MATERIALIZED")
    )
    head = table.alias("head")
    parent = table.alias("parent")
    waiting = (
        sa_select(parent.c.id).where(parent.c.id == head.c.after_id, parent.c.status.notin_(FINAL_STATES)).exists()
    )
    query = sa_select(head.c.id, head.c.chat_id).where(
        head.c.id.in_(sa_select(heads.c.id)),
        head.c.not_before <= bindparam("now", type_=head.c.not_before.type),
        ~waiting,
        head.c.chat_id.notin_(bindparam("exclude", expanding=True)),
    )
    return query.order_by(head.c.priority, head.c.id).limit(bindparam("limit"))


_HEADS = _heads_query()


def next_due(*, session: Session) -> datetime | None:
    """When the earliest pending row becomes due (the sender sleeps until then)."""
    return session.exec(
        select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == OutboxState.pending.value)
    ).first()


def _claim_query() -> Any:
    """Built once, like the heads' query (a sender round runs it every time)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    # The rows are locked once, by primary key, in a materialised CTE, and updated through a join
    # on it. Written as `id IN (subquery FOR UPDATE)` instead, PostgreSQL may drive the update
    # from the status index and run the locking subquery once per pending row: a backlog of a
    # thousand cards made each claim ~100 ms (quadratic in the backlog) before ANALYZE ran.
    free = (
        claimable_ids()
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
        .cte("free")
        .prefix_with("MATERIALIZED")
    )
    return claim_update(table.c.id == free.c.id)


def claimable_ids() -> Any:
    """The ids asked for that are still pending (the claim's subject)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    return sa_select(table.c.id).where(
        table.c.id.in_(bindparam("ids", expanding=True)), table.c.status == OutboxState.pending.value
    )


def claim_update(*where: Any) -> Any:
    """The claim's UPDATE of the rows `where` selects (benchmarks.sender_bench builds the old form with it).
    A compare-and-set: a row another sender (or round) took meanwhile is not pending any more. One
    statement: the claimed rows come back with what the sender needs (RETURNING)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(*where, table.c.status == OutboxState.pending.value)
        .values(
            status=OutboxState.sending.value,
            claimed_at=bindparam("now", type_=table.c.claimed_at.type),
            claimed_by=bindparam("worker", type_=table.c.claimed_by.type),
            attempts=table.c.attempts + 1,
        )
        .returning(
            table.c.id,
            table.c.chat_id,
            table.c.method,
            table.c.payload,
            table.c.purpose,
            table.c.priority,
            table.c.attempts,
            table.c.uncertain,
            table.c.after_id,
            table.c.created_at,
        )
    )


_CLAIM = _claim_query()


def claim(*, session: Session, ids: Sequence[int], now: datetime, worker: str) -> list[OutboxView]:
    """Claim these rows for one sender (`sending`); rows another sender took are skipped
    (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one sender per database)."""
    if not ids:
        return []
    taken = session.execute(_CLAIM, {"ids": [int(i) for i in ids], "now": now, "worker": worker[:64]}).all()
    if not taken:
        return []
    parents = {r.after_id for r in taken if r.after_id}
    failed_parents = (
        set(
            session.exec(
                select(OutboxMessage.id).where(
                    col(OutboxMessage.id).in_(parents), OutboxMessage.status == OutboxState.failed.value
                )
            ).all()
        )
        if parents
        else set()
    )
    return [
        OutboxView(
            int(r.id),
            int(r.chat_id),
            r.method,
            dict(r.payload),
            r.purpose,
            int(r.priority),
            int(r.attempts),
            bool(r.uncertain),
            r.after_id in failed_parents,
            r.created_at,
        )
        for r in sorted(taken, key=lambda r: (r.priority, r.id))
    ]


def reclaim_stale(*, session: Session, now: datetime, lease: timedelta, keep: str | None = None) -> int:
    """Rows left `sending` longer than `lease` (their sender died mid-send): pending again and
    uncertain, or failed when they were uncertain already (resent at most once). `keep`: the
    caller's own worker id, whose claims are in flight however long a send takes (a slow send is
    not a dead sender: taking it back would count a duplicate that never was)."""
    cutoff = now - lease
    stale = and_(
        col(OutboxMessage.status) == OutboxState.sending.value,
        or_(col(OutboxMessage.claimed_at).is_(None), col(OutboxMessage.claimed_at) <= cutoff),
    )
    if keep is not None:
        stale = and_(stale, or_(col(OutboxMessage.claimed_by).is_(None), col(OutboxMessage.claimed_by) != keep))
    gave_up = session.execute(
        update(OutboxMessage)
        .where(stale, col(OutboxMessage.uncertain).is_(True))
        .values(status=OutboxState.failed.value, error="fate unknown twice (sender died mid-send)")
        .execution_options(synchronize_session=False)
    )
    again = session.execute(
        update(OutboxMessage)
        .where(stale, col(OutboxMessage.uncertain).is_(False))
        .values(status=OutboxState.pending.value, uncertain=True, claimed_at=None, claimed_by=None, not_before=now)
        .execution_options(synchronize_session=False)
    )
    return int(gave_up.rowcount or 0) + int(again.rowcount or 0)  # type: ignore[attr-defined]


def prune_final(*, session: Session, now: datetime, keep: timedelta) -> int:
    """Delete the rows sent or failed that were owed longer than `keep` ago; how many. The outbox
    would otherwise grow by every message the bot ever sent, and the sender's queries with it. A
    row an unfinished row waits for (`after_id`) stays: its outcome decides the waiting row's text."""
    child = OutboxMessage.__table__.alias("child")  # type: ignore[attr-defined]
    # Uncorrelated (one pass over the unfinished rows): as a correlated NOT EXISTS, SQLite scanned
    # the table once per deleted row (20,000 old rows took minutes). IS NOT NULL: NOT IN a set
    # holding NULL is never true.
    awaited = sa_select(child.c.after_id).where(child.c.after_id.is_not(None), child.c.status.notin_(FINAL_STATES))
    result = session.execute(
        delete(OutboxMessage)
        .where(
            col(OutboxMessage.status).in_(FINAL_STATES),
            col(OutboxMessage.created_at) < now - keep,
            col(OutboxMessage.id).notin_(awaited),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Verdict(str, enum.Enum):
    sent = "sent"
    retry = "retry"  # a passing fault: try again at `retry_at`
    failed = "failed"  # final


POSTED_PARTS = "posted_parts"  # in a row's payload: the parts of a long text posted by an attempt that then failed


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt came to (the sender's side of `finish`)."""

    id: int
    verdict: Verdict
    message_id: int | None = None
    reason: str | None = None
    retry_at: datetime | None = None
    uncertain: bool = False  # the attempt may have reached Telegram (timeout)
    chat_gone: bool = False  # 403: the bot is not in the chat any more
    message_ids: tuple[int, ...] = ()  # every part posted (a long text is split)
    moved_to: int | None = None  # the group became this supergroup: send there
    # a retried long text: the ids of its parts posted so far, which the next attempt does not post again
    posted_parts: tuple[int, ...] = ()


@dataclass(frozen=True)
class DeliveryOutcome:
    """A final outcome, for the follow-ups and whoever reacts to it (the desk's cards)."""

    id: int
    chat_id: int
    purpose: str
    ticket_id: int | None
    status: str  # "sent" | "failed"
    reason: str | None
    message_id: int | None
    follow_up: dict[str, Any] = field(default_factory=dict)
    chat_gone: bool = False
    message_ids: tuple[int, ...] = ()

    @property
    def sent(self) -> bool:
        return self.status == OutboxState.sent.value


@dataclass(frozen=True)
class ChatMoved:
    """A send found a group upgraded to a supergroup; the move is recorded (the `on_chat_moved` hooks ran)."""

    old_chat_id: int
    new_chat_id: int


FollowUp = Callable[[Session, DeliveryOutcome, datetime], None]
_FOLLOW_UPS: dict[str, FollowUp] = {}
_ON_CHAT_GONE: list[Callable[[Session, int, datetime], None]] = []
_ON_CHAT_MOVED: list[Callable[[Session, int, int, datetime], None]] = []


def on_outcome(kind: str) -> Callable[[FollowUp], FollowUp]:
    """Register the follow-up a row names in follow_up={"kind": kind, ...}."""

    def register(fn: FollowUp) -> FollowUp:
        _FOLLOW_UPS[kind] = fn
        return fn

    return register


def on_chat_gone(fn: Callable[[Session, int, datetime], None]) -> Callable[[Session, int, datetime], None]:
    """Register what to do when Telegram says the bot was removed from a chat (403)."""
    _ON_CHAT_GONE.append(fn)
    return fn


def on_chat_moved(fn: Callable[[Session, int, int, datetime], None]) -> Callable[[Session, int, int, datetime], None]:
    """Register what to do when a group turns out to be a supergroup now (old id, new id)."""
    _ON_CHAT_MOVED.append(fn)
    return fn


def finish(*, session: Session, results: Sequence[SendResult], now: datetime) -> list[DeliveryOutcome]:
    """Record what the sends came to, run the follow-ups of the final ones; returns those.
    Core statements, no ORM rows: the rows' few columns read in one statement, their new state
    written in one executemany per verdict, then the follow-ups (they see the rows recorded)."""
    outcomes: list[DeliveryOutcome] = []
    gone: set[int] = set()
    rows = {r.id: r for r in session.execute(_FINISH_READ, {"ids": [int(r.id) for r in results]})}
    status: dict[int, str] = {}  # a row's state as this call left it (an id given twice sees it)
    changes: dict[Verdict, list[dict[str, Any]]] = {}
    moved: list[tuple[int, int]] = []
    for result in results:
        row = rows.get(result.id)
        if row is None or status.get(row.id, row.status) in FINAL_STATES:
            continue
        chat_id = row.chat_id
        # The group was upgraded: this and the rest go there. A row another sender moved there already (this one's
        # send to the old id was in flight) is there: no move of the supergroup to itself.
        if result.moved_to is not None and result.moved_to != chat_id:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.chat_id) == chat_id, col(OutboxMessage.status).notin_(FINAL_STATES))
                .values(chat_id=result.moved_to)
                .execution_options(synchronize_session=False)
            )
            moved.append((chat_id, result.moved_to))
            chat_id = result.moved_to
        change: dict[str, Any] = {"row_id": row.id, "chat_id": chat_id}
        if result.verdict is Verdict.retry:
            status[row.id] = OutboxState.pending.value
            change |= {
                "not_before": result.retry_at or now,
                "error": (result.reason or "")[:500] or None,
                "uncertain": bool(row.uncertain or result.uncertain),
            }
            changes.setdefault(Verdict.retry, []).append(change)
            continue
        if result.verdict is Verdict.sent:
            status[row.id], error, message_id = OutboxState.sent.value, row.error, result.message_id
            change |= {"sent_at": now, "message_id": message_id}
        else:
            status[row.id], error, message_id = OutboxState.failed.value, (result.reason or "failed")[:500], None
            change |= {"error": error}
        changes.setdefault(result.verdict, []).append(change)
        outcomes.append(
            DeliveryOutcome(
                row.id,
                chat_id,
                row.purpose,
                row.ticket_id,
                status[row.id],
                error,
                message_id,
                dict(row.follow_up or {}),
                result.chat_gone,
                result.message_ids,
            )
        )
    for verdict, params in changes.items():
        session.execute(_FINISH_WRITE[verdict], params)
    for result in results:
        if result.verdict is Verdict.retry and result.posted_parts:  # rare: the ORM row is fine
            partly = session.get(OutboxMessage, result.id, populate_existing=True)
            if partly is not None and partly.status not in FINAL_STATES:
                partly.payload = {**partly.payload, POSTED_PARTS: list(result.posted_parts)}
    for old, new in moved:
        for hook in _ON_CHAT_MOVED:
            hook(session, old, new, now)
    for outcome in outcomes:
        if outcome.chat_gone and outcome.chat_id not in gone:
            gone.add(outcome.chat_id)
            for on_gone in _ON_CHAT_GONE:
                on_gone(session, outcome.chat_id, now)
        kind = outcome.follow_up.get("kind")
        if kind:
            _FOLLOW_UPS[kind](session, outcome, now)
    session.flush()  # what the follow-ups changed, before the round reads the queue
    return outcomes


def _finish_statements() -> tuple[Any, dict[Verdict, Any]]:
    """Built once: the read of the rows whose sends came back, and the write per verdict."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    read = sa_select(
        table.c.id,
        table.c.chat_id,
        table.c.purpose,
        table.c.ticket_id,
        table.c.status,
        table.c.follow_up,
        table.c.uncertain,
        table.c.error,
    ).where(table.c.id.in_(bindparam("ids", expanding=True)))

    def write(state: OutboxState, *columns: str) -> Any:
        values: dict[str, Any] = {"status": state.value, "claimed_by": None, "chat_id": bindparam("chat_id")}
        values |= {name: bindparam(name, type_=table.c[name].type) for name in columns}
        return update(table).where(table.c.id == bindparam("row_id")).values(**values)

    return read, {
        Verdict.retry: write(OutboxState.pending, "not_before", "error", "uncertain"),
        Verdict.sent: write(OutboxState.sent, "sent_at", "message_id"),
        Verdict.failed: write(OutboxState.failed, "error"),
    }


_FINISH_READ, _FINISH_WRITE = _finish_statements()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    sending: int
    sent: int
    failed: int
    possible_duplicates: int  # sent after an attempt of unknown fate (among the rows kept)

    def as_dict(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "sending": self.sending,
            "sent": self.sent,
            "failed": self.failed,
            "possible_duplicates": self.possible_duplicates,
        }


def outbox_stats(*, session: Session) -> OutboxStats:
    counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    dupes = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxState.sent.value, col(OutboxMessage.uncertain).is_(True))
    ).one()
    return OutboxStats(
        pending=int(counts.get(OutboxState.pending.value, 0)),
        sending=int(counts.get(OutboxState.sending.value, 0)),
        sent=int(counts.get(OutboxState.sent.value, 0)),
        failed=int(counts.get(OutboxState.failed.value, 0)),
        possible_duplicates=int(dupes),
    )
