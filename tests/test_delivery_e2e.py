"""Nothing lost, no group waits for another: the real `python bot.py` against the Bot API
double, killed with SIGKILL mid-work and started again on the same database, and faults at
Telegram's side. Every wait is bounded.

- kill -9 at the first breach alert (and at the first warning) with 30 overdue tickets,
  restart: every ticket's alerts arrive, none twice except a send that was in flight at the
  kill, which the outbox counts (SQLite and PostgreSQL);
- kill -9 at the first acknowledgement of a burst of 40 handoffs: 40 acknowledged, 40
  ticketed, 40 carded after the restart;
- 502 on every send for a while: every answer, acknowledgement and card arrives afterwards;
- a busy group beside a quiet one: the quiet group's answer within a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

import texts
from delivery.outbox import outbox_stats
from desk.models import Ticket
from knowledge.question_log import QuestionLog
from storage import Database
from tests.botapi_double import BotApiDouble
from tests.databases import postgres_schema_database
from tests.delivery_e2e_support import (
    ASKER_BASE,
    HELP,
    LEAD_CHAT,
    QUIET,
    STEWARD_CHAT,
    BotProcess,
    bot,
    delivered,
    overdue_tickets,
    per_ticket,
)
from tests.tcp_proxy import TcpProxy

WAIT = 30.0
OUTAGE_SECONDS = 8.0  # the database stays down this long after the questions are answered


def until(condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "postgresql":
        with postgres_schema_database("e2e8") as db:
            yield db
        return
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


# Telegram's overall limit, a per-group limit raised so 30 alerts to one group take seconds,
# not minutes, and a short claim lease so a PostgreSQL restart takes up a dead sender's rows.
FAST = {"OUTBOX_PER_SECOND": "20", "OUTBOX_GROUP_PER_MINUTE": "1200", "OUTBOX_LEASE_SECONDS": "2"}


@pytest.mark.parametrize(("backend", "kind"), [("sqlite", "breach"), ("postgresql", "breach"), ("sqlite", "warning")])
def test_kill_9_at_the_first_alert_then_every_alert_arrives_once(tmp_path: Path, backend: str, kind: str) -> None:
    marker = {"breach": ("超时未响应", LEAD_CHAT), "warning": ("到期，请", STEWARD_CHAT)}[kind]
    with database(backend, tmp_path) as db, BotApiDouble(bot_username="steward_test_bot") as api:
        if kind == "breach":  # due 4 minutes ago
            overdue_tickets(db, 30, sla_minutes=1, age_minutes=5)
            sla = {"SLA_FIRST_RESPONSE_MINUTES": "1", "SLA_WARN_BEFORE_MINUTES": "0"}
        else:  # 5 of 30 minutes left: inside the 10-minute warning window
            overdue_tickets(db, 30, sla_minutes=30, age_minutes=25)
            sla = {"SLA_FIRST_RESPONSE_MINUTES": "30", "SLA_WARN_BEFORE_MINUTES": "10"}
        settings = {"DATABASE_URL": db.url, "SLA_SWEEP_SECONDS": "1", **sla, **FAST}
        first = BotProcess(api, tmp_path, **settings)
        api.wait_for_message(chat_id=marker[1], contains=marker[0], timeout=WAIT)
        first.kill()
        before = len(delivered(api, marker[1], marker[0]))
        assert before < 30, "the kill should fall in the middle of the alerts"

        with bot(api, tmp_path, **settings):
            if kind == "breach":
                until(
                    lambda: (
                        len(per_ticket(delivered(api, LEAD_CHAT, "超时未响应"))) == 30
                        and len(per_ticket(delivered(api, STEWARD_CHAT, "已超过响应时限"))) == 30
                    ),
                    what="30 lead alerts and 30 steward notices",
                )
                sent = [
                    per_ticket(delivered(api, LEAD_CHAT, "超时未响应")),
                    per_ticket(delivered(api, STEWARD_CHAT, "已超过响应时限")),
                ]
            else:
                until(lambda: len(per_ticket(delivered(api, STEWARD_CHAT, "到期，请"))) == 30, what="30 warnings")
                sent = [per_ticket(delivered(api, STEWARD_CHAT, "到期，请"))]
            time.sleep(1.5)  # one more sweep: nothing is alerted again
            stats = db.call(outbox_stats)
        for counts in sent:
            assert set(counts) == set(range(1, 31))
        duplicates = sum(n - 1 for counts in sent for n in counts.values())
        # At least once: only a send in flight at the kill (one per chat) may arrive twice,
        # and the outbox counts it.
        assert duplicates <= stats.possible_duplicates <= len(sent), (duplicates, stats)
        assert stats.pending == 0 and stats.failed == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_mid_burst_of_40_handoffs(tmp_path: Path, backend: str) -> None:
    with database(backend, tmp_path) as db, BotApiDouble(bot_username="steward_test_bot") as api:
        settings = {"DATABASE_URL": db.url, "SLA_FIRST_RESPONSE_MINUTES": "30", **FAST}
        help_chat, asker = HELP, ASKER_BASE  # a supergroup id and user ids above 2^32 on both backends
        first = BotProcess(api, tmp_path, **settings)
        questions = [
            api.push_message(
                chat_id=help_chat, user_id=asker + n, first_name=f"企业{n}", text=f"营业执照怎么办理？（第{n}个）"
            )
            for n in range(40)
        ]
        api.wait_for_message(chat_id=help_chat, contains="已转项目管家", timeout=WAIT)
        first.kill()

        def acked() -> set[int]:
            return {c.params["reply_parameters"]["message_id"] for c in delivered(api, help_chat, "已转项目管家")}

        assert len(acked()) < 40, "the kill should fall in the middle of the burst"
        with bot(api, tmp_path, **settings):
            until(
                lambda: len(acked()) == 40 and len(per_ticket(delivered(api, STEWARD_CHAT, "待认领"))) == 40,
                what="40 acknowledgements and 40 cards",
            )
        assert acked() == {q["message_id"] for q in questions}
        tickets = db.call(lambda session: set(session.exec(select(Ticket.id)).all()))
        assert len(tickets) == 40  # (PostgreSQL ids may skip one a killed transaction took)
        cards = per_ticket(delivered(api, STEWARD_CHAT, "待认领"))
        assert set(cards) == tickets
        stats = db.call(outbox_stats)
        assert sum(cards.values()) - 40 <= stats.possible_duplicates <= 2


def test_502_on_every_send_for_a_while_then_everything_arrives(tmp_path: Path) -> None:
    with (
        BotApiDouble(bot_username="steward_test_bot") as api,
        bot(api, tmp_path, SLA_FIRST_RESPONSE_MINUTES="30", **FAST),
    ):
        api.fail_next("sendMessage", status=502, times=10**6)
        answers = [api.push_message(chat_id=HELP, user_id=ASKER_BASE + n, text="环评要什么材料？") for n in range(10)]
        handoffs = [
            api.push_message(chat_id=HELP, user_id=ASKER_BASE + 100 + n, text=f"营业执照怎么办理？（第{n}个）")
            for n in range(3)
        ]
        until(
            lambda: sum(1 for c in api.calls_to("sendMessage") if c.status == 502) >= 3, what="the sends meet the 502"
        )
        time.sleep(5.0)  # the fault lasts a while (each chat retries its head with backoff)
        api.clear_failures()

        def replied(contains: str) -> list[int]:
            return [c.params["reply_parameters"]["message_id"] for c in delivered(api, HELP, contains)]

        until(
            lambda: (
                len(replied("所需材料")) == 10
                and len(replied("已转项目管家")) == 3
                and len(per_ticket(delivered(api, STEWARD_CHAT, "待认领"))) == 3
            ),
            what="10 answers, 3 acknowledgements, 3 cards",
        )
        # A 502 means Telegram did not take the message: nothing arrives twice.
        assert sorted(replied("所需材料")) == sorted(q["message_id"] for q in answers)
        assert sorted(replied("已转项目管家")) == sorted(q["message_id"] for q in handoffs)


def test_a_busy_group_does_not_delay_a_quiet_one(tmp_path: Path) -> None:
    # Telegram's real per-group limit (20 a minute): the busy group's answers queue up.
    with BotApiDouble(bot_username="steward_test_bot") as api, bot(api, tmp_path):
        for second in range(6):  # five askers, once a second each
            for asker in range(5):
                api.push_message(chat_id=HELP, user_id=ASKER_BASE + asker, text=f"环评要什么材料？{second}")
            time.sleep(1.0)
        assert len(delivered(api, HELP, "所需材料")) <= 20
        mark = api.mark()
        asked = time.monotonic()
        api.push_message(chat_id=QUIET, user_id=ASKER_BASE + 99, text="施工许可证去哪个窗口办？")
        api.wait_for_message(chat_id=QUIET, timeout=5, since=mark)
        assert time.monotonic() - asked <= 1.0


def test_postgresql_down_questions_answered_meanwhile_and_every_row_catches_up(tmp_path: Path) -> None:
    with postgres_schema_database("down8") as db, BotApiDouble(bot_username="steward_test_bot") as api:
        proxy = TcpProxy(("127.0.0.1", 5432))
        url = db.url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert url != db.url
        try:
            with bot(api, tmp_path, DATABASE_URL=url, SLA_FIRST_RESPONSE_MINUTES="30", **FAST):
                proxy.down()
                answers = [
                    api.push_message(chat_id=HELP, user_id=ASKER_BASE + n, text="环评要什么材料？") for n in range(10)
                ]
                handoffs = [
                    api.push_message(chat_id=HELP, user_id=ASKER_BASE + 100 + n, text=f"营业执照怎么办理？（第{n}个）")
                    for n in range(2)
                ]
                until(
                    lambda: len(delivered(api, HELP, "所需材料")) == 10,
                    timeout=15,
                    what="10 answers while the database is down",
                )
                assert {c.params["reply_parameters"]["message_id"] for c in delivered(api, HELP, "所需材料")} == {
                    q["message_id"] for q in answers
                }
                time.sleep(OUTAGE_SECONDS)
                proxy.back()
                until(
                    lambda: (
                        len(per_ticket(delivered(api, STEWARD_CHAT, "待认领"))) == 2
                        and len(delivered(api, HELP, "已转项目管家")) == 2
                    ),
                    what="2 tickets carded after",
                )
                logged = db.call(lambda session: len(session.exec(select(QuestionLog)).all()))
                until(
                    lambda: db.call(lambda session: len(session.exec(select(QuestionLog)).all())) == 12,
                    what="12 question log rows",
                )
            # Never an error notice: the answers went out, the rest waited for the database.
            assert delivered(api, HELP, texts.ERROR_GENERIC) == []
            tickets = db.call(lambda session: session.exec(select(Ticket)).all())
            assert sorted(t.help_message_id for t in tickets) == sorted(q["message_id"] for q in handoffs)
            assert logged <= 12
        finally:
            proxy.close()
