"""Storage on SQLite (a temporary file) and PostgreSQL: tables, the question log, aware UTC
datetimes, and `Database.run` as a thread offload that rolls back on error."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import StatementError
from sqlmodel import delete, func, select

from knowledge.learned import LearnedEntry, add_learned, list_learned
from knowledge.matcher import Candidate, MatchResult
from knowledge.question_log import QuestionLog, log_question
from storage import Database, utcnow
from tests.databases import postgres_schema_database
from tests.updates import supergroup_id, user_id

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _postgres_database() -> Iterator[Database]:
    with postgres_schema_database("t_storage") as db:
        yield db


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('storage') / 'steward-test.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[Database]:
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Database:
    """One database per backend for the module (creating tables is slow), emptied before each test."""
    database = request.getfixturevalue(f"{request.param}_database")
    with database.session() as s:
        s.exec(delete(QuestionLog))
        s.exec(delete(LearnedEntry))
    return database


def _result(question: str = "环评要啥材料", **kw: Any) -> MatchResult:
    values: dict[str, Any] = dict(
        question=question,
        normalized="环评要啥材料",
        item="eia",
        intent="materials",
        action="answer",
        confidence=0.91,
        candidates=(Candidate("eia", 0.91), Candidate("energy_review", 0.4)),
        reason="confident",
    )
    values.update(kw)
    return MatchResult(**values)


def _count(db: Database, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_migrate_creates_the_knowledge_tables(db):
    tables = set(inspect(db.engine).get_table_names())
    assert {"question_log", "learned_entry"} <= tables
    db.migrate()  # idempotent: a second start does not fail on existing tables
    assert _count(db, QuestionLog) == 0


def test_logged_question_reads_back_with_every_field(db):
    at = datetime(2025, 3, 31, 9, 15, 30, tzinfo=SHANGHAI)
    with db.session() as s:
        row = log_question(session=s, result=_result(), at=at, chat_id=supergroup_id(123), user_id=user_id(77))
        assert row.id is not None
    with db.session() as s:
        back = s.exec(select(QuestionLog)).one()
    assert back.text == "环评要啥材料"
    assert back.normalized == "环评要啥材料"
    assert (back.chat_id, back.user_id) == (supergroup_id(123), user_id(77))
    assert (back.item, back.intent, back.action, back.reason) == ("eia", "materials", "answer", "confident")
    assert back.confidence == pytest.approx(0.91)
    assert back.at == at  # the same instant
    assert back.at.utcoffset() == timedelta(0)  # handed back in UTC
    assert (back.at.hour, back.at.minute) == (1, 15)  # 09:15 Shanghai is 01:15 UTC


def test_handoff_without_item_is_logged_with_null_item(db):
    result = _result(
        "食堂几点开饭",
        normalized="食堂几点开饭",
        item=None,
        intent="other",
        action="handoff",
        confidence=0.0,
        candidates=(),
        reason="out_of_scope",
    )
    with db.session() as s:
        log_question(session=s, result=result, at=utcnow())
    with db.session() as s:
        back = s.exec(select(QuestionLog)).one()
    assert back.item is None and back.action == "handoff" and back.chat_id is None


def test_very_long_question_is_stored(db):
    text = "环评" * 5000
    with db.session() as s:
        log_question(session=s, result=_result(text, normalized=text[:600]), at=utcnow())
    with db.session() as s:
        back = s.exec(select(QuestionLog)).one()
    assert back.text and text.startswith(back.text)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2024, 12, 31, 23, 59, 59, 123456, tzinfo=timezone.utc),
        datetime(2025, 1, 1, 7, 59, 59, tzinfo=SHANGHAI),  # the same day in UTC, another in Shanghai
        datetime(2025, 6, 1, 0, 0, tzinfo=timezone(timedelta(hours=-7))),
    ],
)
def test_aware_datetime_round_trip_is_the_same_instant_in_utc(db, at):
    with db.session() as s:
        add_learned(session=s, question="q", answer="a", item=None, at=at)
    with db.session() as s:
        back = s.exec(select(LearnedEntry)).one()
    assert back.created_at.tzinfo is not None
    assert back.created_at.utcoffset() == timedelta(0)
    assert back.created_at == at
    assert back.created_at.replace(tzinfo=None) == at.astimezone(timezone.utc).replace(tzinfo=None)


def test_naive_datetime_is_refused_and_nothing_is_stored(db):
    with pytest.raises((ValueError, StatementError), match="naive"):
        with db.session() as s:
            log_question(session=s, result=_result(), at=datetime(2025, 1, 1, 12, 0))
    assert _count(db, QuestionLog) == 0


def test_datetimes_order_by_instant_not_by_local_wall_clock(db):
    early_local_late_wall = datetime(2025, 1, 1, 12, 0, tzinfo=SHANGHAI)  # 04:00 UTC
    late_local_early_wall = datetime(2025, 1, 1, 6, 0, tzinfo=timezone.utc)  # 06:00 UTC
    with db.session() as s:
        add_learned(session=s, question="later", answer="a", item=None, at=late_local_early_wall)
        add_learned(session=s, question="earlier", answer="a", item=None, at=early_local_late_wall)
    with db.session() as s:
        rows = s.exec(select(LearnedEntry).order_by(LearnedEntry.created_at)).all()
    assert [r.question for r in rows] == ["earlier", "later"]


def test_learned_entries_list_active_ones_oldest_first(db):
    with db.session() as s:
        first = add_learned(
            session=s, question="  环评报告谁来写  ", answer=" 有能力的编制单位 ", item="eia", at=utcnow()
        )
        hidden = add_learned(session=s, question="旧问题", answer="旧答案", item=None, at=utcnow())
        add_learned(session=s, question="能评几天", answer="3个工作日", item="energy_review", at=utcnow())
    with db.session() as s:
        s.get(LearnedEntry, hidden.id).active = False
    with db.session() as s:
        rows = list_learned(session=s)
    assert [r.question for r in rows] == ["环评报告谁来写", "能评几天"]
    assert rows[0].id == first.id and rows[0].answer == "有能力的编制单位" and rows[0].item == "eia"


def test_session_commits_on_success_and_rolls_back_on_error(db):
    with db.session() as s:
        log_question(session=s, result=_result(), at=utcnow())
    with pytest.raises(RuntimeError):
        with db.session() as s:
            log_question(session=s, result=_result(), at=utcnow())
            raise RuntimeError("boom")
    assert _count(db, QuestionLog) == 1


def test_call_runs_one_unit_of_work_with_keyword_arguments(db):
    row = db.call(log_question, result=_result(), at=utcnow(), chat_id=supergroup_id(5))
    assert row.id is not None
    assert _count(db, QuestionLog) == 1


async def test_run_executes_in_a_worker_thread(db):
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def work(*, session, text):
        seen.append(threading.get_ident())
        log_question(session=session, result=_result(text), at=utcnow())
        return text.upper()

    assert await db.run(work, text="eia") == "EIA"
    assert seen and seen[0] != loop_thread
    assert _count(db, QuestionLog) == 1


async def test_run_rolls_back_when_the_unit_of_work_raises(db):
    def work(*, session):
        log_question(session=session, result=_result(), at=utcnow())
        session.flush()  # the row reached the database inside the transaction
        raise LookupError("half done")

    with pytest.raises(LookupError, match="half done"):
        await db.run(work)
    assert _count(db, QuestionLog) == 0
    # and the database is still usable afterwards
    await db.run(lambda *, session: log_question(session=session, result=_result(), at=utcnow()))
    assert _count(db, QuestionLog) == 1


async def test_run_does_not_block_the_event_loop(db):
    import time

    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    def slow(*, session):
        time.sleep(0.25)  # a slow query
        return 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    assert await db.run(slow) == 1
    stop.set()
    await task
    assert ticks >= 10  # the loop kept running while the worker thread was busy


async def test_concurrent_runs_all_commit(db):
    async def one(n: int):
        await db.run(lambda *, session: log_question(session=session, result=_result(f"q{n}"), at=utcnow(), chat_id=n))

    await asyncio.gather(*(one(n) for n in range(12)))
    with db.session() as s:
        chats = sorted(r.chat_id for r in s.exec(select(QuestionLog)).all())
    assert chats == list(range(12))


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs((datetime.now(timezone.utc) - now).total_seconds()) < 5


def test_a_test_schema_is_dropped_even_while_a_leaked_connection_holds_its_tables():
    # a connection left checked out in a transaction would make DROP SCHEMA wait forever: the suite would hang
    import psycopg

    from tests.databases import _ADMIN_URL, postgres_reachable

    if not postgres_reachable():
        pytest.skip("PostgreSQL not reachable")
    with postgres_schema_database("t_leak") as db:
        schema = db.url.split("search_path%3D", 1)[1].split("&", 1)[0]
        leaked = psycopg.connect(_ADMIN_URL)  # not autocommit: the SELECT opens a transaction that keeps its lock
        leaked.execute(f'SELECT count(*) FROM "{schema}".question_log')
    with psycopg.connect(_ADMIN_URL) as check:
        assert check.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() == (0,)
    with pytest.raises(psycopg.OperationalError):  # it was ended to let the DROP through
        leaked.execute("SELECT 1")
    leaked.close()


def test_every_postgresql_session_carries_the_lock_wait_and_the_idle_transaction_limit():
    from sqlalchemy import text

    from storage.db import IDLE_IN_TRANSACTION, LOCK_WAIT

    limits = text(
        "SELECT setting FROM pg_settings WHERE name IN ('lock_timeout', 'idle_in_transaction_session_timeout')"
        " ORDER BY name"
    )
    with postgres_schema_database("t_limits") as db:
        for _ in range(2):  # the pool's connection again, after a rollback returned it: still set
            with db.session() as session:
                got = [int(row[0]) for row in session.exec(limits)]
                session.rollback()
            assert got == [int(IDLE_IN_TRANSACTION * 1000), int(LOCK_WAIT * 1000)]  # milliseconds
        with db.session() as session:
            assert session.exec(text("SHOW search_path")).one()[0].startswith("t_limits_")


async def test_a_unit_waiting_on_a_stuck_lock_fails_in_time_and_the_group_commit_goes_on():
    # another instance holds a row lock and is stuck: the unit that needs the row fails after the lock wait instead
    # of holding the group commit (one transaction at a time) and every chat's updates behind it
    import psycopg
    from sqlalchemy.exc import OperationalError

    from storage.batch import Batcher
    from tests.databases import _ADMIN_URL

    with postgres_schema_database("t_stuck") as db:
        schema = db.url.split("search_path%3D", 1)[1].split("&", 1)[0]
        db.call(
            lambda session: log_question(
                session=session, result=_result("旧问题"), at=utcnow(), chat_id=supergroup_id(1), user_id=user_id(1)
            )
        )
        quick = Database(db.url, lock_wait=0.3)
        batcher = Batcher(quick)
        try:
            with psycopg.connect(_ADMIN_URL) as stuck:
                stuck.execute(f'UPDATE "{schema}".question_log SET text = text')  # holds the row until it ends

                def touch(*, session):
                    session.exec(delete(QuestionLog))

                def log_new(*, session):
                    log_question(
                        session=session,
                        result=_result("新问题"),
                        at=utcnow(),
                        chat_id=supergroup_id(2),
                        user_id=user_id(2),
                    )
                    return "logged"

                blocked, after = await asyncio.wait_for(
                    asyncio.gather(batcher.run(touch), batcher.run(log_new), return_exceptions=True), timeout=20
                )
                assert isinstance(blocked, OperationalError) and "lock timeout" in str(blocked)
                assert after == "logged"
        finally:
            quick.dispose()
        assert sorted(r.text for r in db.call(lambda session: session.exec(select(QuestionLog)).all())) == [
            "新问题",
            "旧问题",
        ]
