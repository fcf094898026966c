"""End to end on PostgreSQL with the ids Telegram really sends: the real `python bot.py`
polling the Bot API double, its database a PostgreSQL schema of its own. A question answered,
a handoff, its breach reaching the leaders, the steward's reply relayed, a second question
escalated to a department group whose reply is relayed, and a status question answered from the
ledger. (The 32-bit columns this guards against failed every supergroup question here.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import texts
from ledger.importer import import_file
from ledger.models import STATUS_LABELS, ProcedureStatus
from storage import Database
from tests.bot_process import running_bot, sent_saying
from tests.databases import postgres_schema_database
from tests.ledger_support import ledger_row, write_xlsx
from tests.texts_match import fragment, says
from tests.updates import supergroup_id, user_id

HELP = supergroup_id(4_001)
STEWARD_CHAT = supergroup_id(4_002)
LEAD_CHAT = supergroup_id(4_003)
DEPT_CHAT = supergroup_id(4_004)
ADMIN = user_id(4_001)
ENTERPRISE = user_id(4_002)
COLLEAGUE = user_id(4_003)
STEWARD = user_id(4_004)
DEPT_MEMBER = user_id(4_005)
WAIT = 15


@pytest.fixture
def pg() -> Iterator[Database]:
    with postgres_schema_database("t_e2e") as db:
        yield db


def test_the_desk_on_postgresql_with_supergroup_ids(tmp_path: Path, pg: Database) -> None:
    pg.call(
        import_file, path=write_xlsx(tmp_path / "ledger.xlsx", [ledger_row(手续="环评", 受理日期="2026-03-02", days=5)])
    )
    with running_bot(
        tmp_path,
        DATABASE_URL=pg.url,
        STEWARD_CHAT_ID=str(STEWARD_CHAT),
        LEAD_CHAT_ID=str(LEAD_CHAT),
        ADMIN_USER_IDS=str(ADMIN),
        BUSINESS_HOURS="24x7",
        SLA_FIRST_RESPONSE_MINUTES="0.05",
        SLA_WARN_BEFORE_MINUTES="0",
        SLA_SWEEP_SECONDS="1",
    ) as api:
        # A question the knowledge base answers.
        api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="请问施工许可证要准备哪些材料？")
        api.wait_for_message(chat_id=HELP, contains=texts.ASPECT["materials"], timeout=WAIT)

        # A handoff: acknowledged, carded; nobody answers in 3 s, so the leaders are told.
        question = api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="营业执照怎么办理？", first_name="王经理")
        api.wait_for_message(chat_id=HELP, contains=fragment(texts.HANDOFF_ACK), timeout=WAIT)
        card = api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD, ticket_id=1), timeout=WAIT)
        api.wait_for(sent_saying(LEAD_CHAT, texts.DESK_BREACH_ALERT, ticket_id=1), timeout=WAIT)

        # The steward's reply to the card reaches the enterprise as a reply to its question.
        mark = api.mark()
        api.push_message(
            chat_id=STEWARD_CHAT,
            user_id=STEWARD,
            text="请到市场监管局窗口办理。",
            reply_to_message_id=card.result["message_id"],
            first_name="李管家",
        )
        relayed = api.wait_for_message(chat_id=HELP, contains="市场监管局窗口", timeout=WAIT, since=mark)
        assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]

        # A department group is bound; a second question is escalated to it and its reply relayed.
        api.push_message(chat_id=DEPT_CHAT, user_id=ADMIN, text="/bind_dept 发改委", chat_title="发改委审批服务群")
        api.wait_for_message(chat_id=DEPT_CHAT, contains="发展和改革委员会", timeout=WAIT)
        mark = api.mark()
        api.push_message(chat_id=HELP, user_id=COLLEAGUE, text="社保怎么交？", first_name="赵会计")
        api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD, ticket_id=2), timeout=WAIT, since=mark)
        api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="/escalate 2 发改委", first_name="李管家")
        dept_card = api.wait_for(sent_saying(DEPT_CHAT, texts.DESK_ESCALATION_HEAD), timeout=WAIT, since=mark)
        mark = api.mark()
        api.push_message(
            chat_id=DEPT_CHAT,
            user_id=DEPT_MEMBER,
            text="由人社局负责，我委可协助协调。",
            reply_to_message_id=dept_card.result["message_id"],
            first_name="发改委小张",
        )
        answer = api.wait_for_message(chat_id=HELP, contains="人社局负责", timeout=WAIT, since=mark)
        assert says(texts.DESK_RELAYED_ANSWER, answer.params["text"], responder="发展和改革委员会")

        # The help group is bound to its project; a status question is answered from the ledger.
        api.push_message(chat_id=HELP, user_id=ADMIN, text="/bind P001")
        api.wait_for(sent_saying(HELP, texts.DESK_BOUND_HELP), timeout=WAIT)
        mark = api.mark()
        api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="我们环评办到哪一步了")
        status = api.wait_for_message(
            chat_id=HELP, contains=STATUS_LABELS[ProcedureStatus.in_progress], timeout=WAIT, since=mark
        )
        assert "环评" in status.params["text"] and "2026-03-02" in status.params["text"]

        # Every breach was said once.
        breaches = [c for c in api.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(LEAD_CHAT)]
        assert len(breaches) == len({c.params["text"] for c in breaches})
