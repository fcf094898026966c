"""End to end: the real `python bot.py` in polling mode against the Bot API double, as an
enterprise, a steward and the leaders would use it: a handoff becomes a card in the steward
group, a reply to the card reaches the enterprise, and a ticket nobody answers breaches a
short SLA (SLA_FIRST_RESPONSE_MINUTES=0.05, swept every second) and reaches the lead group."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botapi_double import BotApiDouble
from tests.test_bot_process import ROOT, _env

HELP = -100777
STEWARD_CHAT = -100888
LEAD_CHAT = -100999
ENTERPRISE = 42
STEWARD = 7


@pytest.fixture
def desk_bot(tmp_path: Path) -> Iterator[BotApiDouble]:
    with BotApiDouble(bot_username="steward_test_bot") as api:
        env = _env(tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url,
                   STEWARD_CHAT_ID=str(STEWARD_CHAT), LEAD_CHAT_ID=str(LEAD_CHAT),
                   ADMIN_USER_IDS="1", SLA_FIRST_RESPONSE_MINUTES="0.05",
                   SLA_WARN_BEFORE_MINUTES="0", SLA_SWEEP_SECONDS="1", BUSINESS_HOURS="24x7")
        process = subprocess.Popen([sys.executable, str(ROOT / "bot.py")], cwd=tmp_path, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            api.wait_for(lambda c: c.method == "getUpdates", timeout=30)
            yield api
        finally:
            process.terminate()
            try:
                output, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            assert "Traceback" not in output, output


def test_handoff_card_relay_and_a_breach_reaching_the_lead_group(desk_bot: BotApiDouble) -> None:
    api = desk_bot
    # The enterprise asks what the knowledge base cannot answer: acknowledged, carded.
    question = api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="营业执照怎么办理？",
                                first_name="王经理")
    ack = api.wait_for_message(chat_id=HELP, contains="已转项目管家", timeout=20)
    assert ack.params["reply_parameters"]["message_id"] == question["message_id"]
    card = api.wait_for_message(chat_id=STEWARD_CHAT, contains="工单 #1", timeout=20)
    labels = [b["text"] for row in card.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["认领", "转部门", "关闭"]

    # Nobody answers within 3 seconds: the sweep alerts the leaders and the stewards.
    breach = api.wait_for_message(chat_id=LEAD_CHAT, contains="超时未响应", timeout=20)
    assert "工单 #1" in breach.params["text"] and "营业执照" in breach.params["text"]
    api.wait_for_message(chat_id=STEWARD_CHAT, contains="已超过响应时限", timeout=20)

    # The steward answers by replying to the card: relayed as a reply to the question.
    mark = api.mark()
    api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="请到市场监管局窗口办理。",
                     reply_to_message_id=card.result["message_id"], first_name="李管家")
    relayed = api.wait_for_message(chat_id=HELP, contains="市场监管局窗口", timeout=20, since=mark)
    assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]
    assert "项目管家答复" in relayed.params["text"]
    api.wait_for_message(chat_id=STEWARD_CHAT, contains="已转达", timeout=20, since=mark)

    # The breach is said once: later sweeps stay quiet about ticket #1.
    api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="@steward_test_bot 在吗")
    api.wait_for_message(chat_id=HELP, contains="项目管家助手", timeout=20)
    breaches = [c for c in api.calls_to("sendMessage")
                if c.params.get("chat_id") in (LEAD_CHAT, str(LEAD_CHAT))]
    assert len(breaches) == 1

    # The bot was removed from the help group: the steward is told the answer did not arrive.
    api.kick_bot_from(HELP)
    mark = api.mark()
    api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="补充：需带公章。",
                     reply_to_message_id=card.result["message_id"], first_name="李管家")
    api.wait_for_message(chat_id=STEWARD_CHAT, contains="未能发到帮办群", timeout=20, since=mark)
