"""Telegram's real ids and text on both databases: 64-bit id columns (migration 0005 widens them
when a database made by 0001 is upgraded, rows kept), supergroup and >2^32 user ids round-trip,
U+0000 removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import BigInteger, inspect, text
from sqlmodel import select

from desk.models import Ticket
from knowledge.learned import LearnedEntry, add_learned
from knowledge.matcher import MatchResult
from knowledge.question_log import QuestionLog, log_question
from storage import Database
from storage.migrate import upgrade
from tests.databases import postgres_schema_database
from tests.updates import supergroup_id, user_id

AT = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
CHAT = supergroup_id(4_567_890)  # -1001704567890
USER = user_id(123_456_789)  # 5123456789 > 2^32
ID_COLUMNS = (("question_log", "chat_id"), ("question_log", "user_id"), ("learned_entry", "created_by"))


def _old_database(backend: str, tmp_path) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(db.engine, "0001")
        yield db
        db.dispose()
    else:
        with postgres_schema_database("t_ids", revision="0001") as db:
            yield db


@pytest.fixture(params=["sqlite", "postgres"])
def old_db(request, tmp_path) -> Iterator[Database]:
    """A database as the first release left it: schema 0001, with rows in it."""
    yield from _old_database(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path) -> Iterator[Database]:
    for database in _old_database(request.param, tmp_path):
        database.migrate()
        yield database


def _result(question: str) -> MatchResult:
    return MatchResult(
        question=question,
        normalized=question,
        item="eia",
        intent="materials",
        confidence=0.9,
        action="answer",
        reason="alias",
        candidates=(),
    )


def test_the_migration_widens_the_id_columns_and_keeps_the_rows(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO question_log (at, chat_id, user_id, text, normalized, intent,"
                " confidence, action, reason) VALUES (:at, -100123, 77, '环评要啥材料', '环评要啥材料',"
                " 'materials', 0.9, 'answer', '')"
            ),
            {"at": AT.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO learned_entry (question, answer, created_by, created_at, active)"
                " VALUES ('问', '答', 77, :at, true)"
            ),
            {"at": AT.replace(tzinfo=None)},
        )

    old_db.migrate()  # what the bot does at start-up

    columns = {
        table: {c["name"]: c["type"] for c in inspect(old_db.engine).get_columns(table)}
        for table in ("question_log", "learned_entry")
    }
    for table, column in ID_COLUMNS:
        assert isinstance(columns[table][column], BigInteger), (table, column, columns[table][column])
    with old_db.session() as s:
        kept = s.exec(select(QuestionLog)).one()
        assert (kept.chat_id, kept.user_id, kept.text) == (-100123, 77, "环评要啥材料")
        assert s.exec(select(LearnedEntry)).one().created_by == 77
    row = old_db.call(log_question, result=_result("能评要多久"), at=AT, chat_id=CHAT, user_id=USER)
    assert row.id is not None


def test_a_supergroup_question_round_trips(db: Database) -> None:
    db.call(log_question, result=_result("环评要啥材料"), at=AT, chat_id=CHAT, user_id=USER)
    db.call(add_learned, question="问", answer="答", item=None, at=AT, created_by=USER)
    with db.session() as s:
        row = s.exec(select(QuestionLog)).one()
        assert (row.chat_id, row.user_id) == (CHAT, USER)
        assert s.exec(select(LearnedEntry)).one().created_by == USER


def test_text_with_u0000_is_stored_without_it(db: Database) -> None:
    db.call(log_question, result=_result("环评\x00要啥材料"), at=AT, chat_id=CHAT, user_id=USER)
    with db.session() as s:
        s.add(
            Ticket(
                help_chat_id=CHAT,
                asker_user_id=USER,
                asker_name="王\x00经理",
                question="营业\x00执照？",
                candidates=[],
                status="new",
                created_at=AT,
                updated_at=AT,
                sla_due_at=AT,
            )
        )
    with db.session() as s:
        assert s.exec(select(QuestionLog)).one().text == "环评要啥材料"
        ticket = s.exec(select(Ticket)).one()
        assert (ticket.asker_name, ticket.question) == ("王经理", "营业执照？")
