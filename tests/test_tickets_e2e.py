"""End to end: the real `python bot.py` in polling mode against the Bot API double, as an
enterprise, a steward, a department and the leaders would use it:

- a handoff becomes a card in the steward group, a reply to the card reaches the enterprise,
  and a ticket nobody answers breaches a short SLA (SLA_FIRST_RESPONSE_MINUTES=0.05, swept
  every second) and reaches the lead group;
- a steward claims a ticket and blows the whistle (「转部门」) to a department group bound with
  /bind_dept, whose reply to the card is relayed into the help group;
- Telegram errors on the way: a 429 with retry_after, a 5xx and a 403 (bot kicked).

Every wait is bounded; each test takes well under 25 s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import texts
from tests.bot_process import running_bot, sent_saying
from tests.botapi_double import BotApiDouble, Call
from tests.texts_match import fragment, says
from tests.updates import supergroup_id, user_id

HELP = supergroup_id(777)
STEWARD_CHAT = supergroup_id(888)
LEAD_CHAT = supergroup_id(999)
DEPT_CHAT = supergroup_id(555)
ADMIN = user_id(1)
ENTERPRISE = user_id(42)
STEWARD = user_id(7)
DEPT_MEMBER = user_id(21)
WAIT = 10  # seconds: the longest any single step may take


@contextmanager
def _bot(tmp_path: Path, **settings: str) -> Iterator[BotApiDouble]:
    """The double, and `python bot.py` polling it with the desk settings (+ `settings`)."""
    with running_bot(
        tmp_path,
        STEWARD_CHAT_ID=str(STEWARD_CHAT),
        LEAD_CHAT_ID=str(LEAD_CHAT),
        ADMIN_USER_IDS=str(ADMIN),
        BUSINESS_HOURS="24x7",
        **settings,
    ) as api:
        yield api


@pytest.fixture
def desk_bot(tmp_path: Path) -> Iterator[BotApiDouble]:
    with _bot(tmp_path, SLA_FIRST_RESPONSE_MINUTES="0.05", SLA_WARN_BEFORE_MINUTES="0", SLA_SWEEP_SECONDS="1") as api:
        yield api


@pytest.fixture
def slow_clock_bot(tmp_path: Path) -> Iterator[BotApiDouble]:
    """A 30-minute commitment: nothing breaches while the test runs."""
    with _bot(tmp_path, SLA_FIRST_RESPONSE_MINUTES="30", SLA_SWEEP_SECONDS="1") as api:
        yield api


def _buttons(call: Call) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


def _callback_answer(api: BotApiDouble, template: str, since: int, **values: object) -> Call:
    """The answer to a button press that says `template` (a texts.py constant)."""
    return api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and says(template, str(c.params.get("text", "")), **values),
        timeout=WAIT,
        since=since,
    )


def test_handoff_card_relay_and_a_breach_reaching_the_lead_group(desk_bot: BotApiDouble) -> None:
    api = desk_bot
    # The enterprise asks what the knowledge base cannot answer: acknowledged, carded.
    question = api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="营业执照怎么办理？", first_name="王经理")
    ack = api.wait_for_message(chat_id=HELP, contains=fragment(texts.HANDOFF_ACK), timeout=WAIT)
    assert ack.params["reply_parameters"]["message_id"] == question["message_id"]
    card = api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD, ticket_id=1), timeout=WAIT)
    assert [t for t, _ in _buttons(card)] == [
        texts.TICKET_BUTTON_CLAIM,
        texts.TICKET_BUTTON_ESCALATE,
        texts.TICKET_BUTTON_CLOSE,
    ]

    # Nobody answers within 3 seconds: the sweep alerts the leaders and the stewards.
    breach = api.wait_for_message(chat_id=LEAD_CHAT, contains=fragment(texts.DESK_BREACH_ALERT), timeout=WAIT)
    assert says(texts.DESK_BREACH_ALERT, breach.params["text"], ticket_id=1, question="营业执照怎么办理？")
    api.wait_for_message(chat_id=STEWARD_CHAT, contains=fragment(texts.DESK_BREACH_NOTICE), timeout=WAIT)

    # The steward answers by replying to the card: relayed as a reply to the question.
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
    assert says(texts.DESK_RELAYED_ANSWER, relayed.params["text"], responder=texts.DESK_STEWARDS)
    api.wait_for_message(chat_id=STEWARD_CHAT, contains=fragment(texts.DESK_RELAY_CONFIRM), timeout=WAIT, since=mark)

    # The breach is said once: later sweeps stay quiet about ticket #1.
    api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="@steward_test_bot 在吗")
    api.wait_for_message(chat_id=HELP, contains=texts.SMALLTALK_REPLY, timeout=WAIT)
    breaches = [c for c in api.calls_to("sendMessage") if c.params.get("chat_id") in (LEAD_CHAT, str(LEAD_CHAT))]
    assert len(breaches) == 1

    # The bot was removed from the help group: the steward is told the answer did not arrive.
    api.kick_bot_from(HELP)
    mark = api.mark()
    api.push_message(
        chat_id=STEWARD_CHAT,
        user_id=STEWARD,
        text="补充：需带公章。",
        reply_to_message_id=card.result["message_id"],
        first_name="李管家",
    )
    api.wait_for_message(chat_id=STEWARD_CHAT, contains=fragment(texts.DESK_RELAY_FAILED), timeout=WAIT, since=mark)


def _bind_department(api: BotApiDouble) -> None:
    api.push_message(
        chat_id=DEPT_CHAT, user_id=ADMIN, text="/bind_dept 发改委", chat_title="发改委审批服务群", first_name="管理员"
    )
    api.wait_for_message(chat_id=DEPT_CHAT, contains="发展和改革委员会", timeout=WAIT)


def _hand_off(api: BotApiDouble, text: str = "营业执照怎么办理？") -> tuple[dict, Call]:
    """The enterprise asks what the knowledge base cannot answer; returns the question and
    the ticket's card in the steward group."""
    mark = api.mark()
    question = api.push_message(chat_id=HELP, user_id=ENTERPRISE, text=text, first_name="王经理")
    api.wait_for_message(chat_id=HELP, contains=fragment(texts.HANDOFF_ACK), timeout=WAIT, since=mark)
    card = api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD), timeout=WAIT, since=mark)
    return question, card


def test_claim_escalate_and_the_departments_reply_through_a_429_and_a_5xx(slow_clock_bot: BotApiDouble) -> None:
    api = slow_clock_bot
    _bind_department(api)

    # The enterprise's question; the acknowledgement first meets a 429 (retry_after=1).
    api.fail_next("sendMessage", status=429, retry_after=1)
    question, card = _hand_off(api)
    assert any(c.status == 429 for c in api.calls_to("sendMessage"))
    card_id = card.result["message_id"]

    # The steward claims the ticket with the card's button.
    mark = api.mark()
    api.push_callback(chat_id=STEWARD_CHAT, user_id=STEWARD, message_id=card_id, data="t:claim:1", first_name="李管家")
    _callback_answer(api, texts.DESK_CLAIMED, mark, ticket_id=1)
    api.wait_for(
        lambda c: c.method == "editMessageText" and texts.DESK_STATUS["claimed"] in c.params["text"],
        timeout=WAIT,
        since=mark,
    )

    # 「转部门」 lists the bound departments; choosing one posts the card with the thread.
    mark = api.mark()
    api.push_callback(chat_id=STEWARD_CHAT, user_id=STEWARD, message_id=card_id, data="t:escalate:1")
    chooser = api.wait_for(lambda c: c.method == "editMessageReplyMarkup", timeout=WAIT, since=mark)
    choice = dict(_buttons(chooser))["发展和改革委员会"]
    mark = api.mark()
    api.push_callback(chat_id=STEWARD_CHAT, user_id=STEWARD, message_id=card_id, data=choice)
    dept_card = api.wait_for(sent_saying(DEPT_CHAT, texts.DESK_ESCALATION_HEAD), timeout=WAIT, since=mark)
    assert "营业执照" in dept_card.params["text"] and "王经理" in dept_card.params["text"]
    assert [t for t, _ in _buttons(dept_card)] == [texts.TICKET_BUTTON_CLAIM]
    _callback_answer(api, texts.DESK_ESCALATED, mark, ticket_id=1, department="发展和改革委员会")

    # The department answers by replying to its card; the relay meets a 502 and is retried.
    mark = api.mark()
    api.fail_next("sendMessage", status=502)
    api.push_message(
        chat_id=DEPT_CHAT,
        user_id=DEPT_MEMBER,
        text="由市场监管局负责，我委可协助协调。",
        reply_to_message_id=dept_card.result["message_id"],
        first_name="发改委小张",
    )
    relayed = api.wait_for_message(chat_id=HELP, contains="市场监管局负责", timeout=WAIT, since=mark)
    assert says(texts.DESK_RELAYED_ANSWER, relayed.params["text"], responder="发展和改革委员会")
    assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]
    assert any(c.status == 502 for c in api.calls[mark:])
    api.wait_for_message(chat_id=DEPT_CHAT, contains=fragment(texts.DESK_RELAY_CONFIRM), timeout=WAIT, since=mark)

    # The leaders read the numbers in their group.
    mark = api.mark()
    api.push_message(chat_id=LEAD_CHAT, user_id=user_id(99), text="/stats", first_name="专班")
    stats = api.wait_for_message(chat_id=LEAD_CHAT, contains=fragment(texts.DESK_STATS_TITLE), timeout=WAIT, since=mark)
    assert "发展和改革委员会" in stats.params["text"]


def test_escalating_to_a_department_group_that_removed_the_bot(slow_clock_bot: BotApiDouble) -> None:
    api = slow_clock_bot
    _bind_department(api)
    _hand_off(api)
    api.kick_bot_from(DEPT_CHAT)
    mark = api.mark()
    api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="/escalate 1 发改委", first_name="李管家")
    api.wait_for(lambda c: c.method == "sendMessage" and c.status == 403, timeout=WAIT, since=mark)
    api.wait_for(sent_saying(STEWARD_CHAT, texts.TICKET_ESCALATION_UNDELIVERED, ticket_id=1), timeout=WAIT, since=mark)
