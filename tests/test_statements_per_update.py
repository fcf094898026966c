"""Round trips per update (issue 8: the question log and the rest written without a round trip
per question): the statements the real Application runs for answered questions and for
handoffs, counted at the engine, on SQLite and on PostgreSQL. A statement that runs once per
question instead of once per group transaction fails these tests."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from bot.telegram_io import services_of_app
from tests.delivery_helpers import delivered, recorded_application, sender_held
from tests.updates import message_update, supergroup_id, user_id

STEWARDS = supergroup_id(9001)
GROUPS = [supergroup_id(700 + n) for n in range(12)]


@pytest.fixture
def settings(settings, flow_database_url):
    return settings.model_copy(
        update={"database_url": flow_database_url, "steward_chat_id": STEWARDS, "business_hours": "24x7"}
    )


@pytest.fixture
async def app(settings, clock):
    async with recorded_application(settings, clock) as application:
        yield application


class Statements:
    def __init__(self) -> None:
        self.texts: Counter[str] = Counter()
        self.commits = 0

    def of(self, pattern: str) -> int:
        return sum(n for text, n in self.texts.items() if re.match(pattern, text))


@contextmanager
def counted(app: Any) -> Iterator[Statements]:
    """Every statement the bot's engine runs inside the block (an executemany counts once), and
    its commits (a group transaction, a sender round)."""
    engine = services_of_app(app).db.engine
    seen = Statements()

    def statement(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        seen.texts[" ".join(text.split())[:90]] += 1

    def commit(_conn: Any) -> None:
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


async def _ask_at_once(app: Any, texts: list[str]) -> None:
    """One question from each group, all at once (they share group transactions)."""
    await asyncio.gather(
        *(
            app.process_update(message_update(app.bot, chat_id=GROUPS[n], user_id=user_id(600 + n), text=text))
            for n, text in enumerate(texts)
        )
    )


async def _handling_counted(app: Any, texts: list[str]) -> Statements:
    """The statements of handling one question from each group at once, with the outbox sender held: a round the
    first group transaction's commit woke would record its posted cards (INSERT INTO desk_ticket_event) among the
    handling's statements (one CI run in several)."""
    async with sender_held(app):
        with counted(app) as handling:
            await _ask_at_once(app, texts)
    return handling


async def test_answered_questions_cost_no_statement_of_their_own(app) -> None:
    request = app.bot_data["request"]
    await _ask_at_once(app, ["环评要什么材料？"] * 3)  # warm: the contexts exist, the facts are read
    await delivered(app)
    request.clear()
    handling = await _handling_counted(app, ["环评要什么材料？"] * len(GROUPS))
    await delivered(app)
    assert len(request.sent()) == len(GROUPS)  # every question answered
    batches = handling.of(r"SELECT facts_version")  # each group transaction checks the cached facts once
    assert 1 <= batches < len(GROUPS)  # grouped: fewer transactions than questions
    # The context read, the log row, the new context and the owed answer: each one statement
    # per group transaction (read ahead together; executemany), none per question.
    for table in ("SELECT conversation_context", "INSERT INTO question_log", "INSERT INTO conversation_context"):
        assert 1 <= handling.of(table) <= batches, table
    assert handling.of(r"INSERT INTO outbox_message") <= batches
    for text, times in handling.texts.items():  # (the sender's rounds commit too)
        assert times <= handling.commits, f"{times}× in {handling.commits} transactions: {text}"


async def test_a_handoff_costs_no_ticket_read_and_on_postgresql_no_round_trip_of_its_own(app) -> None:
    request = app.bot_data["request"]
    texts = [f"营业执照怎么办理？（{n}）" for n in range(len(GROUPS))]
    handling = await _handling_counted(app, texts)
    with counted(app) as sending:
        await delivered(app)
    assert len(request.texts_to(STEWARDS)) == len(GROUPS)  # a card per ticket
    batches = handling.of(r"SELECT facts_version")
    assert 1 <= batches < len(GROUPS)
    if services_of_app(app).db.url.startswith("sqlite"):
        assert handling.of(r"INSERT INTO desk_ticket \(") == len(GROUPS)  # in-process: the INSERT gives its id
    else:
        # the ids taken ahead in blocks (storage.ids: 1, 1, 2, 4, 8 the first time), the rows written together
        assert 1 <= handling.of(r"INSERT INTO desk_ticket \(") <= batches
        assert handling.of(r"SELECT nextval") < len(GROUPS)
    for table in ("SELECT conversation_context", "INSERT INTO question_log", "INSERT INTO desk_ticket_event"):
        assert 1 <= handling.of(table) <= batches, table
    for text, times in handling.texts.items():
        if not text.startswith(("INSERT INTO desk_ticket (", "SELECT nextval")):
            assert times <= handling.commits, f"{times}× in {handling.commits} transactions: {text}"
    # The sender records a posted card (its row, its audit row) without reading the ticket, and
    # each of a round's statements runs once in it.
    assert sending.of(r"SELECT desk_ticket\.") == 0
    for text, times in sending.texts.items():
        assert times <= sending.commits, f"{times}× in {sending.commits} rounds: {text}"


async def test_status_answers_read_the_ledger_once_per_project_not_per_question(app, clock, tmp_path) -> None:
    """A status answer reads the project's procedures from the cached facts: after the first read of the
    project, a status question costs no statement of its own."""
    from datetime import datetime, timezone

    from desk.bindings import bind_help_chat
    from desk.models import Role
    from desk.roles import Actor
    from ledger.importer import import_file
    from tests.ledger_support import ledger_row, write_xlsx

    db = services_of_app(app).db
    rows = [ledger_row(项目代码="P001", 项目名称="甲项目", 手续="环评", 受理日期="2026-03-02", days=5)]
    db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", rows))
    admin = Actor(user_id=user_id(7001), chat_id=None, role=Role.admin)
    at = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
    for chat in GROUPS:
        db.call(bind_help_chat, actor=admin, chat_id=chat, project_code="P001", now=at)
    request = app.bot_data["request"]
    await _ask_at_once(app, ["我们环评办到哪一步了"] * len(GROUPS))  # the first read of the project
    await delivered(app)
    request.clear()
    handling = await _handling_counted(app, ["我们环评办到哪一步了"] * len(GROUPS))
    await delivered(app)
    assert all(any("2026-03-02" in t for t in request.texts_to(chat)) for chat in GROUPS)  # every one answered
    assert handling.of(r"SELECT .*ledger_procedure") == 0
    for text, times in handling.texts.items():
        assert times <= handling.commits, f"{times}× in {handling.commits} transactions: {text}"
