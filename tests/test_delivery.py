"""The outbox and its sender, the inbox and the per-chat processor, on real databases with
the real python-telegram-bot Bot over a scripted HTTP boundary (tests/recording_request.py)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from telegram import Bot, Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application
from telegram.request import RequestData

from bot.inbox import PID_SPACE, ChatOrderedProcessor, Inbox
from bot.sender import Limits, Sender
from bot.telegram_io import split_message
from delivery.inbox import InboxUpdate, mark_done, pending_updates, store_updates, take_orphans
from delivery.outbox import (
    DeliveryOutcome,
    OutboxMessage,
    Owed,
    Priority,
    Verdict,
    claim,
    enqueue,
    message_payload,
    outbox_stats,
    prune_final,
    ready_heads,
    reclaim_stale,
)
from desk.bindings import bind_help_chat, get_binding
from desk.models import Ticket
from desk.roles import resolve_role
from desk.sla import sweep_owing
from desk.tickets import create_ticket
from storage import Database
from storage.lease import acquire_lease
from tests.databases import postgres_schema_database
from tests.desk_helpers import ALWAYS
from tests.recording_request import RecordingRequest

A, B = -1001000000101, -1001000000102
LEAD, STEWARDS = -1001000000002, -1001000000001
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)


class ScriptedRequest(RecordingRequest):
    """Answers like Telegram; the next sends to a chat may first meet scripted faults:
    (status, parameters) for an HTTP error, or "timeout" for a request that timed out."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[int, list[Any]] = {}
        self.lock = threading.Lock()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data else {}
        chat = int(str(params.get("chat_id", 0) or 0))
        with self.lock:
            fault = self.faults[chat].pop(0) if self.faults.get(chat) else None
        if fault == "timeout":
            await super().do_request(url, method, request_data)  # it did arrive
            raise TimedOut("Timed out")
        if fault == "answer lost":  # it arrived, the connection closed before the answer
            await super().do_request(url, method, request_data)
            raise NetworkError("httpx.RemoteProtocolError") from httpx.RemoteProtocolError("Server disconnected")
        if fault == "connect timeout":  # never reached Telegram
            raise TimedOut("Timed out") from httpx.ConnectTimeout("connect")
        if fault is not None:
            status, extra = fault
            self.calls.append(
                type(self.calls[0])("fault", {"chat_id": chat, "status": status}) if self.calls else type("C", (), {})()
            )
            body = {
                "ok": False,
                "error_code": status,
                "description": extra.pop("description", "Error"),
                **({"parameters": extra} if extra else {}),
            }
            return status, json.dumps(body).encode()
        return await super().do_request(url, method, request_data)

    def texts(self, chat: int) -> list[str]:
        return self.texts_to(chat)


@pytest.fixture
async def bot() -> Any:
    request = ScriptedRequest()
    telegram_bot = Bot("123456:TEST", request=request, get_updates_request=request)
    await telegram_bot.initialize()
    yield telegram_bot
    await telegram_bot.shutdown()


def _sender(bot: Bot, db: Database, outcomes: list[DeliveryOutcome] | None = None, **limits: Any) -> Sender:
    return Sender(
        bot=bot,
        db=db,
        limits=Limits(backoff_seconds=0.01, **limits),
        on_outcome=outcomes.append if outcomes is not None else None,
    )


def _owe(db: Database, *rows: Owed) -> list[int]:
    """Owe the rows in one transaction (`after` = the index of an earlier one); their ids."""

    def unit(*, session: Any) -> list[int]:
        ids: list[int] = []
        for r in rows:
            ids.append(
                enqueue(session=session, owed=r, now=NOW, after_id=ids[r.after] if r.after is not None else None)
            )
        return ids

    return db.call(unit)


def _text(chat: int, text: str, priority: Priority = Priority.reply, **kw: Any) -> Owed:
    return Owed(chat, message_payload(text), "test", priority, **kw)


# --------------------------------------------------------------------------- the sender


async def test_one_chats_429_delays_only_that_chat(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    request.faults[A] = [(429, {"retry_after": 30, "description": "Too Many Requests: retry after 30"})]
    _owe(database, _text(A, "甲1"), _text(A, "甲2"), _text(B, "乙1"), _text(B, "乙2"), _text(B, "乙3"))
    stats = await _sender(bot, database).drain(timeout=1.0)
    assert request.texts(B) == ["乙1", "乙2", "乙3"] and request.texts(A) == []
    assert stats.pending == 2 and stats.sent == 3
    row = database.call(lambda session: session.get(OutboxMessage, 1))
    assert "429" in (row.error or "")


async def test_a_server_error_is_retried_and_the_chat_keeps_its_order(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    request.faults[A] = [(502, {"description": "Bad Gateway"}), (500, {"description": "Internal"})]
    _owe(database, *(_text(A, f"第{n}条") for n in range(5)))
    stats = await _sender(bot, database).drain(timeout=5.0)
    assert request.texts(A) == [f"第{n}条" for n in range(5)]
    assert stats.sent == 5 and stats.possible_duplicates == 0


async def test_403_and_400_are_final_with_the_reason_as_plain_outcomes(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    admin = database.call(
        resolve_role,
        user_id=1,
        chat_id=A,
        now=NOW,
        admin_ids=[1],
        steward_chat_id=None,
        lead_chat_id=None,
        name="管理员",
    )
    database.call(
        bind_help_chat,
        actor=admin,
        chat_id=A,
        project_code="P-1",
        now=NOW,
        title="P-1",
        project_exists=lambda _code: True,
    )
    request.faults[A] = [(403, {"description": "Forbidden: bot was kicked from the supergroup chat"})]
    request.faults[B] = [(400, {"description": "Bad Request: can't parse entities"})]
    _owe(database, _text(A, "甲"), _text(B, "乙"))
    outcomes: list[DeliveryOutcome] = []
    stats = await _sender(bot, database, outcomes).drain(timeout=2.0)
    by_chat = {o.chat_id: o for o in outcomes}
    assert by_chat[A].status == "failed" and by_chat[A].chat_gone and "403" in (by_chat[A].reason or "")
    assert by_chat[B].status == "failed" and "400" in (by_chat[B].reason or "")
    assert stats.failed == 2 and stats.pending == 0
    assert database.call(get_binding, chat_id=A).active is False  # later broadcasts skip it


async def test_a_timeout_is_resent_once_and_counted_and_never_a_third_time(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    request.faults[A] = ["timeout"]
    request.faults[B] = ["timeout", "timeout"]
    _owe(database, _text(A, "甲"), _text(B, "乙"))
    outcomes: list[DeliveryOutcome] = []
    stats = await _sender(bot, database, outcomes).drain(timeout=2.0)
    assert request.texts(A) == ["甲", "甲"]  # it had arrived: one duplicate ...
    assert stats.possible_duplicates == 1  # ... counted
    assert request.texts(B) == ["乙", "乙"]  # twice unknown: not sent a third time
    (failed,) = [o for o in outcomes if o.chat_id == B]
    assert failed.status == "failed" and "fate unknown twice" in (failed.reason or "")


async def test_an_answer_lost_on_a_closed_connection_is_resent_and_counted(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    request.faults[A] = ["answer lost", "answer lost"]  # it arrived twice, the bot never heard
    request.faults[B] = ["connect timeout", "connect timeout", "connect timeout"]  # it never went out
    _owe(database, _text(A, "甲"), _text(B, "乙"))
    stats = await _sender(bot, database).drain(timeout=3.0)
    assert request.texts(A) == ["甲", "甲", "甲"]  # retried like any network error (not given up) ...
    assert request.texts(B) == ["乙"]
    assert stats.sent == 2 and stats.possible_duplicates == 1  # ... and the row counted; B is certain


async def test_a_send_left_in_flight_by_a_dead_process_goes_again_once(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    ids = _owe(database, _text(A, "甲"))
    database.call(claim, ids=ids, now=NOW, worker="dead")  # claimed, then SIGKILL
    sender = _sender(bot, database)
    await sender.start()  # SQLite: one sender, takes it up
    try:
        stats = await sender.drain(timeout=2.0)
    finally:
        await sender.stop()
    assert request.texts(A) == ["甲"] and stats.sent == 1 and stats.possible_duplicates == 1


def test_a_stale_claim_is_taken_back_unless_it_is_the_callers_own(database: Database) -> None:
    dead, slow = _owe(database, _text(A, "甲")), _owe(database, _text(B, "乙"))
    database.call(claim, ids=dead, now=NOW, worker="host:1:dead")
    database.call(claim, ids=slow, now=NOW, worker="host:2:alive")  # its send is slow, its sender alive
    later = NOW + timedelta(minutes=5)
    assert database.call(reclaim_stale, now=later, lease=timedelta(seconds=60), keep="host:2:alive") == 1
    rows = {row.id: row for row in database.call(lambda session: session.exec(select(OutboxMessage)).all())}
    assert (rows[dead[0]].status, rows[dead[0]].uncertain) == ("pending", True)
    assert (rows[slow[0]].status, rows[slow[0]].uncertain) == ("sending", False)
    # After a restart the worker id is new: what the old process left is taken back.
    assert database.call(reclaim_stale, now=later, lease=timedelta(seconds=60), keep="host:3:new") == 1


async def test_a_relay_confirmation_waits_for_the_relay_and_says_when_it_failed(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    request.faults[A] = [(403, {"description": "Forbidden: bot was kicked from the supergroup chat"})]
    _owe(database, _text(A, "答复"), Owed(B, message_payload("已转达", if_failed="没送到"), "confirm", after=0))
    await _sender(bot, database).drain(timeout=2.0)
    assert request.texts(B) == ["没送到"]


def test_a_move_met_by_a_send_another_sender_moved_already_is_not_made_again(database: Database) -> None:
    """Two senders (PostgreSQL): one meets Telegram's 400 and moves the group's rows to the supergroup while the
    other's send to the old id is in flight; that send's own 400 then finds its row at the supergroup already. No
    move of the supergroup to itself is made: its tickets keep the question's message id, with no move in their
    audit trail."""
    from delivery.outbox import SendResult, finish
    from desk.tickets import get_ticket, ticket_events

    ticket = database.call(
        create_ticket,
        now=NOW,
        hours=ALWAYS,
        sla_minutes=30,
        help_chat_id=B,
        asker_user_id=5_000_000_077,
        question="问题",
        help_message_id=77,
    )
    (row,) = _owe(database, _text(B, "提醒"))  # already at the supergroup B
    database.call(finish, results=[SendResult(row, Verdict.retry, retry_at=NOW, moved_to=B)], now=NOW)
    assert database.call(get_ticket, ticket_id=ticket.id).help_message_id == 77
    assert "chat_migrated" not in [e.action for e in database.call(ticket_events, ticket_id=ticket.id)]
    assert database.call(lambda session: session.get(OutboxMessage, row)).status == "pending"


async def test_thirty_tickets_due_at_once_warn_before_breach_on_time_alerts_first(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    for n in range(30):
        database.call(
            create_ticket,
            now=NOW,
            hours=ALWAYS,
            sla_minutes=30,
            help_chat_id=A,
            asker_user_id=5_000_000_000 + n,
            question=f"问题{n}",
        )
    # A broadcast already queued: 200 reminders to 200 groups.
    _owe(database, *(_text(-1002000000000 - g, "提醒", Priority.reminder) for g in range(200)))

    def sweep(at: datetime) -> list[Any]:
        return database.call(
            sweep_owing,
            now=at,
            hours=ALWAYS,
            warn_before_minutes=10,
            steward_chat_id=STEWARDS,
            lead_chat_id=LEAD,
            compose=lambda alert, rcpt: f"{alert.kind.value} 工单 #{alert.ticket.id}",
            digest=lambda entries: [f"{entries[0][0].kind.value}s " + " ".join(f"#{a.ticket.id}" for a, _ in entries)],
        )

    assert len(sweep(NOW + timedelta(minutes=21))) == 30  # 9 minutes left: 30 warnings
    assert len(sweep(NOW + timedelta(minutes=30, seconds=1))) == 30  # due: 30 breaches, at once
    rows = database.call(lambda session: session.exec(select(OutboxMessage)).all())
    # Each chat is owed one digest per sweep (in the marks' transaction): the stewards the 30
    # warnings, then the 30 breach notices; the lead group the 30 breaches.
    listed = " ".join(f"#{n}" for n in range(1, 31))
    owed = [(r.chat_id, r.purpose, r.payload["text"]) for r in rows if r.chat_id in (LEAD, STEWARDS)]
    assert owed == [
        (STEWARDS, "sla_digest", f"warnings {listed}"),
        (LEAD, "sla_digest", f"breachs {listed}"),
        (STEWARDS, "sla_digest", f"breachs {listed}"),
    ]
    tickets = database.call(lambda session: session.exec(select(Ticket)).all())
    assert all(t.warned_at < t.breached_at for t in tickets)
    assert all(t.breached_at - t.sla_due_at <= timedelta(seconds=30) for t in tickets)  # one sweep
    sender = _sender(bot, database, per_second=2)  # tokens for two sends now
    await sender.round()
    for _ in range(100):
        if len(request.sent()) >= 2:
            break
        await asyncio.sleep(0.01)
    first = {int(c.params["chat_id"]) for c in request.sent()}
    assert first == {STEWARDS, LEAD}  # alerts ahead of the queued reminders
    await sender.stop()


async def test_the_head_of_each_chat_only(database: Database) -> None:
    _owe(database, _text(A, "甲1"), _text(A, "甲2"), _text(B, "乙1", Priority.alert))
    heads = database.call(ready_heads, now=NOW, limit=10)
    assert [chat for _, chat in heads] == [B, A]  # alert first; one row per chat
    assert database.call(ready_heads, now=NOW, limit=10, exclude_chats=[B]) == [(1, A)]


@pytest.fixture(params=["sqlite", "postgresql"])
def either_db(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'either.db'}")
        db.migrate()
        yield db
        db.dispose()
        return
    with postgres_schema_database("heads8") as db:
        yield db


def test_each_chats_head_by_priority_only_when_due_and_not_waiting(either_db: Database) -> None:
    C, D, E = A - 10, A - 11, A - 12
    ids = _owe(
        either_db,
        _text(A, "甲1"),
        _text(A, "甲2"),
        _text(B, "乙1", Priority.reminder),
        _text(B, "乙2", Priority.alert),  # owed later, goes first in its chat
        _text(C, "丙1"),  # not due yet: the chat waits, 丙2 never overtakes it
        _text(C, "丙2"),
        _text(D, "丁1", after=0),  # waits for 甲1
        _text(E, "戊1", Priority.reminder),
    )

    def not_yet(*, session: Any) -> None:
        row = session.get(OutboxMessage, ids[4])
        row.not_before = NOW + timedelta(hours=1)

    either_db.call(not_yet)
    heads = either_db.call(ready_heads, now=NOW, limit=10)
    assert heads == [(ids[3], B), (ids[0], A), (ids[7], E)]
    assert either_db.call(ready_heads, now=NOW, limit=2) == [(ids[3], B), (ids[0], A)]
    assert either_db.call(ready_heads, now=NOW, limit=10, exclude_chats=[B, E]) == [(ids[0], A)]
    assert either_db.call(ready_heads, now=NOW + timedelta(hours=2), limit=10, exclude_chats=[A, B, E]) == [(ids[4], C)]


def test_a_new_tickets_deferred_rows_are_seen_by_the_same_transaction(either_db: Database) -> None:
    from desk.roles import SYSTEM
    from desk.tickets import audit, ticket_events, ticket_thread

    def new_ticket(session: Any, *, chat: int, asker: int, question: str) -> Any:
        return create_ticket(
            session=session,
            now=NOW,
            hours=ALWAYS,
            sla_minutes=30,
            help_chat_id=chat,
            asker_user_id=asker,
            question=question,
        )

    def unit(*, session: Any) -> tuple[list[str], list[str]]:
        view = new_ticket(session, chat=A, asker=5_000_000_001, question="问")
        thread = [m.text for m in ticket_thread(session=session, ticket_id=view.id)]  # writes the deferred rows first
        ticket = session.get(Ticket, view.id)
        audit(session, ticket, SYSTEM, "note", NOW)  # an ORM row after them
        session.flush()
        actions = [e.action for e in ticket_events(session=session, ticket_id=view.id)]
        return thread, actions

    thread, actions = either_db.call(unit)
    assert thread == ["问"]
    assert actions == ["create", "note"]  # in the order they were written

    def flushed_first(*, session: Any) -> list[str]:
        view = new_ticket(session, chat=B, asker=5_000_000_002, question="又问")
        audit(session, session.get(Ticket, view.id), SYSTEM, "note", NOW)
        session.flush()  # the flush of an audit row writes the deferred ones before it
        return [e.action for e in ticket_events(session=session, ticket_id=view.id)]

    assert either_db.call(flushed_first) == ["create", "note"]


def test_two_senders_on_postgresql_never_claim_the_same_row() -> None:
    with postgres_schema_database("outbox8") as db:
        ids = _owe(db, *(_text(A - n, f"{n}") for n in range(10)))
        with db.session() as holding:  # sender 1 holds its claim open
            mine = claim(session=holding, ids=ids[:6], now=NOW, worker="one")
            theirs = db.call(claim, ids=ids, now=NOW, worker="two")  # SKIP LOCKED: not blocked
            assert {v.id for v in mine} == set(ids[:6])
            assert {v.id for v in theirs} == set(ids[6:])
        assert db.call(outbox_stats).sending == 10


# --------------------------------------------------------------------------- the inbox


def _raw(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1780000000,
            "text": text,
            "chat": {"id": chat, "type": "supergroup", "title": "群"},
            "from": {"id": 5_000_000_001, "is_bot": False, "first_name": "企业"},
        },
    }


async def test_the_inbox_replays_what_was_stored_and_skips_copies(bot: Bot, database: Database) -> None:
    inbox = Inbox(database)
    await inbox.store([_raw(1, A, "一"), _raw(2, A, "二"), _raw(3, B, "三")])
    database.call(mark_done, update_ids=[1], now=NOW)  # processed before the crash
    assert [u["update_id"] for u in database.call(pending_updates)] == [2, 3]
    # After the restart Telegram delivers the unconfirmed batch again: every copy is skipped.
    restarted = Inbox(database)
    await restarted.store([_raw(1, A, "一"), _raw(2, A, "二"), _raw(3, B, "三"), _raw(4, B, "四")])
    assert [restarted.should_skip(i) for i in (1, 2, 3, 4)] == [True, True, True, False]
    assert len(database.call(lambda session: session.exec(select(InboxUpdate)).all())) == 4


def test_two_instances_taking_over_a_dead_ones_updates_at_once_take_each_once() -> None:
    # PostgreSQL: the second waits for the first's row locks, then finds each row's owner changed and takes none
    with postgres_schema_database("inbox13") as db:
        db.call(store_updates, updates=[_raw(n, A, f"{n}") for n in (1, 2, 3)], now=NOW, owner="inbox:dead")
        other: dict[str, list[dict[str, Any]]] = {}
        with db.session() as first:
            mine = take_orphans(session=first, owner="inbox:one", now=NOW)
            thread = threading.Thread(
                target=lambda: other.update(two=db.call(take_orphans, owner="inbox:two", now=NOW)), daemon=True
            )
            thread.start()
            thread.join(0.5)
            assert thread.is_alive()  # blocked on the rows the first holds
        thread.join(30)
        assert [u["update_id"] for u in mine] == [1, 2, 3] and other["two"] == []
        rows = db.call(lambda session: session.exec(select(InboxUpdate)).all())
        assert {row.claimed_by for row in rows} == {"inbox:one"}


async def test_what_an_ended_process_on_this_host_left_is_taken_at_once_a_live_ones_is_not(database: Database) -> None:
    # a restart on the same host (SQLite's one process, a systemd restart) need not wait for the dead run's lease
    ended = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await ended.wait()
    for run, pid, update in (("inbox:ended", ended.pid, 1), ("inbox:alive", os.getppid(), 2)):
        database.call(acquire_lease, name=run, holder=f"host:{pid}|{PID_SPACE}:{pid}", now=NOW, seconds=30)
        database.call(store_updates, updates=[_raw(update, A, "问")], now=NOW, owner=run)
    inbox = Inbox(database, clock=lambda: NOW + timedelta(seconds=1))
    application = Application.builder().token("123456:TEST").build()
    assert await inbox.replay(application) == 1  # the ended process's update; the live process's lease holds
    queued = application.update_queue.get_nowait()
    assert isinstance(queued, Update) and queued.update_id == 1
    rows = database.call(lambda session: session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id))).all())
    assert [row.claimed_by for row in rows] == [inbox.owner, "inbox:alive"]


async def test_chats_run_concurrently_and_each_chat_in_order(bot: Bot, database: Database) -> None:
    processor = ChatOrderedProcessor(Inbox(database))
    log: list[str] = []

    async def handle(name: str, delay: float) -> None:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")

    updates = [
        (Update.de_json(_raw(1, A, "a1"), bot), handle("a1", 0.05)),
        (Update.de_json(_raw(2, A, "a2"), bot), handle("a2", 0.0)),
        (Update.de_json(_raw(3, B, "b1"), bot), handle("b1", 0.0)),
    ]
    await asyncio.gather(*(processor.process_update(u, c) for u, c in updates))
    assert log.index("end a1") < log.index("start a2")  # one chat: in order
    assert log.index("end b1") < log.index("end a1")  # another chat: not waiting


async def test_a_chat_with_more_updates_queued_than_slots_does_not_hold_the_others(bot: Bot) -> None:
    # PTB takes a slot before the processor's per-chat lock: a busy group's queued updates held every slot while they
    # waited for each other, and another group's update waited for the busy group's backlog
    processor = ChatOrderedProcessor(None, max_concurrent_updates=4)
    release = asyncio.Event()
    other_done = asyncio.Event()

    async def busy() -> None:
        await release.wait()  # the busy group's first update takes its time

    async def other() -> None:
        other_done.set()

    queued = [
        asyncio.create_task(processor.process_update(Update.de_json(_raw(n, A, f"a{n}"), bot), busy()))
        for n in range(1, 11)
    ]
    await asyncio.sleep(0)
    other_task = asyncio.create_task(processor.process_update(Update.de_json(_raw(99, B, "b"), bot), other()))
    await asyncio.wait_for(other_done.wait(), timeout=5)  # while the busy group's first still runs
    assert not any(task.done() for task in queued)
    release.set()
    await asyncio.wait_for(asyncio.gather(*queued, other_task), timeout=5)


def test_a_claim_locks_its_rows_once_whatever_the_backlog() -> None:
    """PostgreSQL's plan of the claim: the locking subquery runs once, by primary key. Written as
    `id IN (subquery FOR UPDATE)`, a fresh table (no statistics yet) had it run once per pending
    row: a thousand cards for the steward group made each claim ~100 ms."""
    from sqlalchemy import event

    with postgres_schema_database("claim8") as db:
        _owe(db, *(_text(STEWARDS, f"卡片{n}") for n in range(300)))
        seen: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "SKIP LOCKED" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            assert [v.id for v in db.call(claim, ids=[150], now=NOW, worker="w")] == [150]
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        (statement, parameters), *_ = seen
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, {**parameters, "ids_1": 151})
            explained = cursor.fetchone()
            assert explained is not None
            plan = explained[0][0]["Plan"]
        finally:
            raw.rollback()
            raw.close()

    def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(n for child in node.get("Plans", []) for n in nodes(child))]

    locks = [n for n in nodes(plan) if n["Node Type"] == "LockRows"]
    assert locks and all(n["Actual Loops"] == 1 for n in locks), [(n["Node Type"], n["Actual Loops"]) for n in locks]
    assert sum(n["Actual Rows"] for n in locks) == 1


def _set_status(db: Database, ids: list[int], status: str) -> None:
    def unit(*, session: Any) -> None:
        for row_id in ids:
            session.get(OutboxMessage, row_id).status = status

    db.call(unit)


def _ids_left(db: Database) -> list[int]:
    return [
        r.id for r in db.call(lambda session: session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
    ]


def test_sent_and_failed_rows_are_deleted_after_the_retention_unless_a_row_waits_for_them(database: Database) -> None:
    C, D = A - 10, A - 11
    sent, failed, pending, sending, awaited, waiting = _owe(
        database,
        _text(A, "已发"),
        _text(A, "失败"),
        _text(B, "待发"),
        _text(B, "在发"),
        _text(C, "答复"),
        Owed(D, message_payload("已转达", if_failed="没送到"), "confirm", after=4),  # waits for 答复
    )
    _set_status(database, [sent, awaited], "sent")
    _set_status(database, [failed], "failed")
    _set_status(database, [sending], "sending")
    kept = {pending, sending, awaited, waiting}
    assert database.call(prune_final, now=NOW + timedelta(days=29), keep=timedelta(days=30)) == 0
    assert database.call(prune_final, now=NOW + timedelta(days=31), keep=timedelta(days=30)) == 2
    assert set(_ids_left(database)) == kept
    _set_status(database, [waiting], "sent")  # the waiting row is final: its parent may go too
    assert database.call(prune_final, now=NOW + timedelta(days=31), keep=timedelta(days=30)) == 2
    assert set(_ids_left(database)) == {pending, sending}


async def test_the_sender_deletes_old_final_rows_when_it_starts(bot: Bot, database: Database) -> None:
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    old, fresh = _owe(database, _text(A, "旧"), _text(B, "新"))
    _set_status(database, [old], "sent")
    sender = Sender(bot=bot, db=database, clock=lambda: NOW + timedelta(days=31), limits=Limits(keep_days=30))
    await sender.start()
    try:
        stats = await sender.drain(timeout=2.0)
    finally:
        await sender.stop()
    assert _ids_left(database) == [fresh]
    assert stats.sent == 1 and request.texts(B) == ["新"]


async def test_the_sender_deletes_old_final_rows_every_prune_period(bot: Bot, database: Database) -> None:
    (old,) = _owe(database, _text(A, "旧"))
    _set_status(database, [old], "sent")
    later = NOW + timedelta(days=31)
    hourly = Sender(bot=bot, db=database, clock=lambda: later, limits=Limits(keep_days=30))
    await hourly.round()  # not an hour since it was made: nothing deleted
    assert database.call(outbox_stats).sent == 1
    due = Sender(bot=bot, db=database, clock=lambda: later, limits=Limits(keep_days=30, prune_seconds=0.0))
    await due.round()
    assert database.call(outbox_stats).sent == 0


async def test_stop_right_after_a_wake_up_returns_and_leaves_no_row_sending(bot: Bot, database: Database) -> None:
    # SIGTERM just after a commit woke the sender: on Python 3.11 a cancelled wait_for that met its event already set
    # ran on, and stop() never returned; a round cancelled between its claim and its sends left rows `sending`
    for turns in range(3):
        sender = _sender(bot, database, poll_seconds=5.0)
        await sender.start()
        _owe(database, _text(A, f"第{turns}条"))
        sender.wake()
        await asyncio.sleep(0.2)  # sent: the runner waits for the next wake-up
        sender.wake()  # a commit wakes it (the last update's answer) …
        for _ in range(turns):
            await asyncio.sleep(0)
        await asyncio.wait_for(sender.stop(), timeout=2)  # … and SIGTERM's stop() follows, at once
    statuses = database.call(lambda session: [r.status for r in session.exec(select(OutboxMessage)).all()])
    assert "sending" not in statuses


async def test_an_outcome_that_cannot_be_recorded_strands_no_chat(bot: Bot, database: Database) -> None:
    # a follow-up this process does not know (a newer version owed it, a rolling deploy): its outcome is let go,
    # and every other chat of the round — and its own next messages — still go out
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    _owe(database, _text(A, "卡片", follow_up={"kind": "a kind of a newer version"}), _text(B, "乙1"))
    sender = _sender(bot, database)
    await sender.start()
    try:
        await _until(lambda: request.texts(A) == ["卡片"] and request.texts(B) == ["乙1"])
        _owe(database, _text(A, "甲2"), _text(B, "乙2"))
        sender.wake()
        await _until(lambda: request.texts(A) == ["卡片", "甲2"] and request.texts(B) == ["乙1", "乙2"])
    finally:
        await sender.stop()


async def _until(condition: Any, timeout: float = 10.0) -> None:
    """Wait (bounded) for the sender to make `condition` true."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the recording request has no event to wait on
            await asyncio.sleep(0.01)


async def test_a_slow_reaction_to_an_outcome_holds_no_other_chats_sends(bot: Bot, database: Database) -> None:
    # reacting to a relay's outcome edits the ticket's cards (a read and a Telegram call per card): it runs beside
    # the sends, in order, and another group's answer does not wait for it
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    reacting = asyncio.Event()
    release = asyncio.Event()
    seen: list[int] = []

    async def slow_reaction(outcome: DeliveryOutcome) -> None:
        seen.append(outcome.chat_id)
        reacting.set()
        await release.wait()

    sender = Sender(bot=bot, db=database, limits=Limits(backoff_seconds=0.01), on_outcome=slow_reaction)
    await sender.start()
    try:
        _owe(database, _text(A, "甲"))
        sender.wake()
        await asyncio.wait_for(reacting.wait(), timeout=10)
        _owe(database, _text(B, "乙"))
        sender.wake()
        await _until(lambda: request.texts(B) == ["乙"])
        assert seen == [A]  # B's outcome waits its turn behind A's reaction
        release.set()
        await _until(lambda: seen == [A, B])
    finally:
        release.set()
        await sender.stop()


async def test_drain_waits_for_a_send_the_sender_took_while_it_waited_for_the_reactions(
    bot: Bot, database: Database
) -> None:
    # The reaction to A's outcome owes a message to B (as a card posted again after a group's move), and the sender's
    # own loop takes it at once, woken by that commit, while drain() waits for the reactions: nothing is due then
    # (the row is being sent), yet drain() returns only once B's outcome is recorded. It returned with B's send in
    # flight, and a test reading B's card record right after found none (CI, test_desk_hardening).
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    owed_b: list[int] = []
    drain_waits = asyncio.Event()

    async def owe_b_and_take_it(outcome: DeliveryOutcome) -> None:
        if outcome.chat_id == A:
            await drain_waits.wait()  # drain() has found nothing to send and waits for this reaction
            owed_b.extend(_owe(database, _text(B, "乙")))
            await sender.round()  # the sender's loop, woken by the commit, claims B and starts its send

    sender = Sender(bot=bot, db=database, limits=Limits(backoff_seconds=0.01), on_outcome=owe_b_and_take_it)
    reacted = sender._reacted

    async def waiting_for_the_reactions(timeout: float | None = None) -> None:
        drain_waits.set()
        await reacted(timeout)

    sender._reacted = waiting_for_the_reactions  # type: ignore[method-assign]
    _owe(database, _text(A, "甲"))
    await sender.drain()
    assert request.texts(B) == ["乙"]
    assert database.call(lambda session: session.get(OutboxMessage, owed_b[0]).status) == "sent"


async def test_a_message_is_given_up_after_its_attempts_only_once_it_is_an_hour_old(
    bot: Bot, database: Database
) -> None:
    # 30 attempts with the backoff capped at a minute were ~23 minutes of Telegram down (and a 429's claim counts as
    # an attempt): an answer owed 40 minutes ago is still sent when Telegram comes back; one owed two days ago is not
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    old, recent = _owe(database, _text(A, "两天前的"), _text(B, "四十分钟前的"))
    now = datetime.now(timezone.utc)

    def age(session: Any) -> None:
        for row_id, owed_at in ((old, now - timedelta(days=2)), (recent, now - timedelta(minutes=40))):
            row = session.get(OutboxMessage, row_id)
            row.attempts, row.created_at = 30, owed_at

    database.call(age)
    views = database.call(lambda session: claim(session=session, ids=[old, recent], now=now, worker="test"))
    request.faults[A] = [(502, {"description": "Bad Gateway"})]
    request.faults[B] = [(502, {"description": "Bad Gateway"})]
    sender = _sender(bot, database)
    verdicts = {view.id: await sender.attempt(view) for view in views}
    assert verdicts[old].verdict is Verdict.failed and "gave up" in (verdicts[old].reason or "")
    assert verdicts[recent].verdict is Verdict.retry


async def test_a_long_text_whose_later_part_fails_is_retried_from_that_part(bot: Bot, database: Database) -> None:
    # a text over Telegram's 4,096 characters goes as several messages: a 502 on the second was retried from the
    # first, which the chat then got twice (and nothing counted it as a possible duplicate)
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    text = "\n".join(f"第{n}行：" + "材料清单说明" * 12 for n in range(120))
    assert len(text) > 2 * 4096
    request.faults[A] = [None, (502, {"description": "Bad Gateway"})]  # the first part goes, the second meets a 502
    _owe(database, _text(A, text))
    stats = await _sender(bot, database).drain(timeout=10.0)
    sent = request.texts(A)
    assert "".join(sent).replace("\n", "") == text.replace("\n", "")  # every part once, in order
    assert len(sent) >= 3 and len(set(sent)) == len(sent)
    assert stats.sent == 1 and stats.possible_duplicates == 0
    row = database.call(lambda session: session.exec(select(OutboxMessage)).one())
    assert row.payload["posted_parts"] and row.message_id == row.payload["posted_parts"][0]


async def test_a_long_answer_sent_without_the_database_resumes_at_the_part_that_failed(
    bot: Bot, database: Database
) -> None:
    # the database down: an answer goes from memory (send_volatile), retried there; a 502 on its second part resent
    # the whole text from the first part, which the chat then got twice
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    text = "\n".join(f"第{n}行：" + "材料清单说明" * 12 for n in range(120))
    request.faults[A] = [None, (502, {"description": "Bad Gateway"})]
    sender = _sender(bot, database)
    sender.send_volatile(_text(A, text))
    last = text.rsplit("\n", 1)[1]
    await _until(lambda: any(sent.endswith(last) for sent in request.texts(A)))
    sent = request.texts(A)
    assert "".join(sent).replace("\n", "") == text.replace("\n", "")  # every part once, in order
    assert len(sent) >= 3 and len(set(sent)) == len(sent)
    assert sender.sent_count == 1


class _Time:
    """The sender's two clocks, stepped by the test: the rows' time and the pacing's."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def clock(self) -> datetime:
        return NOW + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return 1000.0 + self.seconds


LONG = "\n".join(f"第{n}行：" + "材料清单说明" * 12 for n in range(120))  # three messages of Telegram's 4,096


def _paced_sender(bot: Bot, database: Database, time: _Time, **limits: Any) -> Sender:
    return Sender(
        bot=bot,
        db=database,
        limits=Limits(backoff_seconds=0.01, **limits),
        clock=time.clock,
        monotonic=time.monotonic,
    )


async def test_each_part_of_a_long_text_counts_in_its_groups_twenty_a_minute(bot: Bot, database: Database) -> None:
    # a row of three parts counted as one message in its chat's window: the chat's next row went at once
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    assert len(split_message(LONG, as_html=True)) == 3
    time = _Time()
    sender = _paced_sender(bot, database, time, group_per_minute=3)
    _owe(database, _text(A, LONG), _text(A, "甲2"), _text(B, "乙"))
    await sender.drain(timeout=0.5)
    assert len(request.texts(A)) == 3 and request.texts(B) == ["乙"]  # three in A's minute: 甲2 waits
    time.seconds += 61
    await sender.drain(timeout=2.0)
    assert request.texts(A)[3:] == ["甲2"]


async def test_each_part_of_a_long_text_takes_a_token_of_the_thirty_a_second(bot: Bot, database: Database) -> None:
    # the overall bucket gave one token for the three parts: the next chat's message went at once
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    time = _Time()
    sender = _paced_sender(bot, database, time, per_second=3)
    _owe(database, _text(A, LONG))
    await sender.drain(timeout=0.3)
    assert len(request.texts(A)) == 3
    _owe(database, _text(B, "乙"))
    await sender.drain(timeout=0.3)
    assert request.texts(B) == []  # three tokens spent
    time.seconds += 1
    await sender.drain(timeout=2.0)
    assert request.texts(B) == ["乙"]


async def test_a_long_text_stops_at_its_groups_limit_and_goes_on_from_there(bot: Bot, database: Database) -> None:
    # the parts went back to back whatever the chat's window held: a group near its 20 a minute got a 429 mid-text
    request: ScriptedRequest = bot.request  # type: ignore[assignment]
    time = _Time()
    sender = _paced_sender(bot, database, time, group_per_minute=2)
    _owe(database, _text(A, LONG))
    await sender.drain(timeout=0.3)
    assert len(request.texts(A)) == 2  # two in the minute; the third part waits for room
    row = database.call(lambda session: session.exec(select(OutboxMessage)).one())
    assert row.status == "pending" and len(row.payload["posted_parts"]) == 2
    time.seconds += 61
    stats = await sender.drain(timeout=2.0)
    sent = request.texts(A)
    assert len(sent) == 3 and "".join(sent).replace("\n", "") == LONG.replace("\n", "")  # each part once, in order
    assert stats.sent == 1 and stats.possible_duplicates == 0
