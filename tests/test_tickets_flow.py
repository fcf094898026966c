"""Tickets in Telegram, as a conversation: an enterprise, the stewards, a department and the
leaders, through the real Application (process_update) with a recording request and a fake
clock. Assertions are on the exact Bot API calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

import texts
from bot.jobs.sla_job import run_sweep
from desk.models import Ticket
from desk.tickets import ticket_cards
from handlers.tickets_common import card_markup, chooser_markup
from tests.delivery_helpers import delivered, recorded_application
from tests.ledger_support import base_project
from tests.recording_request import BOT_ID, BOT_USERNAME, ApiCall, RecordingRequest
from tests.texts_match import says
from tests.updates import bot_message, callback_update, message_update, supergroup_id, user_id

HELP = supergroup_id(10)
OTHER_HELP = supergroup_id(11)
STEWARD_CHAT = supergroup_id(1)
LEAD_CHAT = supergroup_id(2)
DEPT_CHAT = supergroup_id(20)
STEWARD_BUTTONS = [texts.TICKET_BUTTON_CLAIM, texts.TICKET_BUTTON_ESCALATE, texts.TICKET_BUTTON_CLOSE]
ADMIN = user_id(1)
STEWARD = user_id(11)
DEPT_MEMBER = user_id(21)
ASKER = user_id(41)
OTHER_MEMBER = user_id(42)

BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "项目管家", "username": BOT_USERNAME}
OUT_OF_SCOPE = "营业执照怎么办理？"


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


@pytest.fixture
async def app(settings, clock):
    settings = settings.model_copy(
        update={"steward_chat_id": STEWARD_CHAT, "lead_chat_id": LEAD_CHAT, "admin_user_ids": [ADMIN]}
    )
    async with recorded_application(settings, clock) as application:
        application.bot_data["clock"] = clock

        application.bot_data["services"].db.call(lambda session: session.add(base_project()))
        await _say(application, "/bind P001", user=ADMIN)
        await _say(application, "/bind_dept 发改委", user=ADMIN, chat=DEPT_CHAT)
        yield application


# --------------------------------------------------------------------------- helpers


async def _sweep(app, services):
    """One SLA sweep, then what it owes delivered."""
    alerts = await run_sweep(app.bot, services)
    await delivered(app)
    return alerts


def _relayed(text: str) -> bool:
    """The confirmation that an answer reached the help group (any of its three forms)."""
    return any(
        says(t, text)
        for t in (texts.DESK_RELAY_CONFIRM, texts.DESK_RELAY_CONFIRM_FIRST, texts.DESK_RELAY_CONFIRM_FIRST_LATE)
    )


def _req(app) -> RecordingRequest:
    return app.bot_data["request"]


def _services(app):
    return app.bot_data["services"]


async def _say(
    app,
    text: str,
    *,
    user: int = ASKER,
    chat: int = HELP,
    reply_to: dict[str, Any] | None = None,
    thread_id: int | None = None,
    name: str = "企业用户",
) -> dict[str, Any]:
    """Send a message; returns it as a dict (for replies to it)."""
    _req(app).clear()
    update = message_update(
        app.bot, chat_id=chat, user_id=user, text=text, reply_to=reply_to, thread_id=thread_id, name=name
    )
    await app.process_update(update)
    await delivered(app)
    assert update.message is not None
    return update.message.to_dict()


async def _press(app, *, chat: int, user: int, message: dict[str, Any], data: str) -> None:
    _req(app).clear()
    await app.process_update(callback_update(app.bot, chat_id=chat, user_id=user, message=message, data=data))
    await delivered(app)


def _sent_to(app, chat: int) -> list[ApiCall]:
    return [c for c in _req(app).sent() if int(c.params["chat_id"]) == chat]


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def _ticket(app, ticket_id: int) -> Ticket:
    return _services(app).db.call(lambda session: session.get(Ticket, ticket_id))


def _card(app, ticket_id: int, chat: int = STEWARD_CHAT, *, chooser: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ticket's card in a staff chat, as the message dict Telegram would show: with its
    buttons (the department chooser's after 「转部门」)."""
    cards = _services(app).db.call(ticket_cards, ticket_id=ticket_id)
    card = next(c for c in cards if c.chat_id == chat)
    message = bot_message(BOT_USER, chat_id=chat, message_id=card.message_id, text="🎫")
    markup = chooser_markup(ticket_id, chooser, {}) if chooser else card_markup(ticket_id, card.kind)
    message["reply_markup"] = markup.to_dict()
    return message


def _alert(app) -> ApiCall:
    return _req(app).sent("answerCallbackQuery")[-1]


async def _handoff(app, text: str = OUT_OF_SCOPE, **kw: Any) -> tuple[int, dict[str, Any]]:
    question = await _say(app, text, **kw)
    ticket_id = _services(app).db.call(lambda session: max(t.id for t in session.exec(select(Ticket)).all()))
    return ticket_id, question


# --------------------------------------------------------------------------- the conversation


async def test_handoff_claim_answer_relay_and_follow_up(app) -> None:
    # The enterprise asks something the knowledge base cannot answer, in a forum topic.
    question = await _say(app, OUT_OF_SCOPE, thread_id=7, name="王经理")
    (ack,) = _sent_to(app, HELP)
    assert ack.params["text"] == texts.HANDOFF_ACK.format(minutes="30")
    assert ack.params["reply_parameters"]["message_id"] == question["message_id"]
    assert ack.params["message_thread_id"] == 7
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert says(texts.DESK_CARD, card.params["text"], ticket_id=1) and "新材料产业园" in card.params["text"]
    assert "营业执照" in card.params["text"] and "王经理" in card.params["text"]
    assert [t for t, _ in _buttons(card)] == STEWARD_BUTTONS
    assert card.params["parse_mode"] == "HTML"

    # An enterprise member forging 「认领」 on a bot message in the help group is refused.
    ack_message = bot_message(BOT_USER, chat_id=HELP, message_id=5000, text=ack.params["text"])
    await _press(app, chat=HELP, user=OTHER_MEMBER, message=ack_message, data="t:claim:1")
    refusal = _alert(app)
    assert refusal.params["show_alert"] is True
    assert refusal.params["text"] == texts.DESK_ERR_PERMISSION
    assert _ticket(app, 1).status == "open"

    # A steward claims it with the button on the card.
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, 1), data="t:claim:1")
    assert says(texts.DESK_CLAIMED, _alert(app).params["text"], ticket_id=1)
    edited = _req(app).sent("editMessageText")[-1]
    assert texts.DESK_STATUS["claimed"] in edited.params["text"]
    assert _ticket(app, 1).assignee_user_id == STEWARD

    # The steward answers by replying to the card: relayed to the original question.
    await _say(
        app,
        "请到市场监管局窗口办理，带<身份证>。",
        user=STEWARD,
        chat=STEWARD_CHAT,
        reply_to=_card(app, 1),
        name="李管家",
    )
    (relayed,) = _sent_to(app, HELP)
    assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]
    assert relayed.params["message_thread_id"] == 7
    assert says(texts.DESK_RELAYED_ANSWER, relayed.params["text"], responder=texts.DESK_STEWARDS)
    assert "&lt;身份证&gt;" in relayed.params["text"]
    confirm = _sent_to(app, STEWARD_CHAT)[0]
    assert says(texts.DESK_RELAY_CONFIRM_FIRST, confirm.params["text"], project="新材料产业园", ticket_id=1)
    ticket = _ticket(app, 1)
    assert ticket.status == "answered" and ticket.first_response_at is not None

    # A follow-up from the asker (a reply to the relayed answer) joins the ticket and reaches the steward.
    relayed_message = bot_message(BOT_USER, chat_id=HELP, message_id=relayed.message_id or 0, text="💬")
    await _say(app, "那需要本人去吗？", reply_to=relayed_message, thread_id=7, name="王经理")
    assert _sent_to(app, HELP)[0].params["text"] == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=1)
    notice = _sent_to(app, STEWARD_CHAT)[0]
    assert says(texts.DESK_FOLLOW_UP_REOPENED, notice.params["text"], text="那需要本人去吗？")
    assert _ticket(app, 1).status == "open"  # back in the queue


async def test_messages_in_staff_chats_are_not_questions(app) -> None:
    await _say(app, "环评要啥材料？", user=STEWARD, chat=STEWARD_CHAT)
    assert _req(app).sent() == []
    await _say(app, "环评要啥材料？", user=DEPT_MEMBER, chat=DEPT_CHAT)
    assert _req(app).sent() == []


async def test_escalation_to_a_department_and_its_reply_is_relayed(app) -> None:
    ticket_id, question = await _handoff(app)
    # 「转部门」 shows the bound departments.
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, ticket_id), data=f"t:escalate:{ticket_id}")
    chooser = _req(app).sent("editMessageReplyMarkup")[-1]
    assert _buttons(chooser)[0] == ("发展和改革委员会", f"t:escalate:{ticket_id}:ndrc")
    # A department member cannot touch a ticket that was not escalated to them.
    await _press(
        app,
        chat=DEPT_CHAT,
        user=DEPT_MEMBER,
        message=bot_message(BOT_USER, chat_id=DEPT_CHAT, message_id=7000, text="x"),
        data=f"t:claim:{ticket_id}",
    )
    assert _alert(app).params["show_alert"] is True
    # Choosing the department posts the card with the thread to the department group.
    await _press(
        app,
        chat=STEWARD_CHAT,
        user=STEWARD,
        message=_card(app, ticket_id, chooser=("ndrc",)),
        data=f"t:escalate:{ticket_id}:ndrc",
    )
    (dept_card,) = _sent_to(app, DEPT_CHAT)
    assert says(texts.DESK_ESCALATION_HEAD, dept_card.params["text"]) and "营业执照" in dept_card.params["text"]
    assert [t for t, _ in _buttons(dept_card)] == [texts.TICKET_BUTTON_CLAIM]
    assert _ticket(app, ticket_id).status == "escalated"
    # The department answers by replying to its card.
    await _say(
        app,
        "由市场监管局负责，我局可协助。",
        user=DEPT_MEMBER,
        chat=DEPT_CHAT,
        reply_to=_card(app, ticket_id, DEPT_CHAT),
        name="发改委小张",
    )
    (relayed,) = _sent_to(app, HELP)
    assert says(texts.DESK_RELAYED_ANSWER, relayed.params["text"], responder="发展和改革委员会")
    assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]
    assert _relayed(_sent_to(app, DEPT_CHAT)[0].params["text"])


async def test_escalate_command(app) -> None:
    ticket_id, _ = await _handoff(app)
    await _say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    assert says(texts.DESK_ESCALATION_HEAD, _sent_to(app, DEPT_CHAT)[0].params["text"])
    escalated = _sent_to(app, STEWARD_CHAT)[0].params["text"]
    assert says(texts.DESK_ESCALATED, escalated, ticket_id=ticket_id, department="发展和改革委员会")
    await _say(app, f"/escalate {ticket_id} 发改委", user=ASKER, chat=HELP)
    assert _sent_to(app, HELP)[0].params["text"] == texts.DESK_ERR_PERMISSION


async def _choose_ndrc(app, ticket_id: int) -> None:
    """The steward presses 发改委 on the ticket's department chooser; nothing delivered."""
    chooser = _card(app, ticket_id, chooser=("ndrc",))
    await app.process_update(
        callback_update(
            app.bot, chat_id=STEWARD_CHAT, user_id=STEWARD, message=chooser, data=f"t:escalate:{ticket_id}:ndrc"
        )
    )


async def _escalated_then_closed_undelivered(app) -> int:
    """A ticket escalated to 发改委 and closed by the steward, with the sender stopped: its department card still
    owed, nothing delivered in between; the ticket's id."""
    from bot.sender import sender_of

    ticket_id, _ = await _handoff(app)
    steward_card = _card(app, ticket_id)
    await sender_of(app).stop()
    _req(app).clear()
    for update in (
        message_update(app.bot, chat_id=STEWARD_CHAT, user_id=STEWARD, text=f"/escalate {ticket_id} 发改委"),
        callback_update(
            app.bot, chat_id=STEWARD_CHAT, user_id=STEWARD, message=steward_card, data=f"t:close:{ticket_id}"
        ),
    ):
        await app.process_update(update)
    return ticket_id


async def test_an_escalation_card_is_owed_with_the_escalation(app) -> None:
    """The department's card is written to the outbox in the transaction that escalates: a sender stopped (or a
    process that dies) before it goes loses nothing, and the card goes once the sender is back."""
    from bot.sender import sender_of
    from delivery.outbox import OutboxMessage
    from desk.models import DEPARTMENT_CARD

    ticket_id, _ = await _handoff(app)
    await sender_of(app).stop()
    _req(app).clear()
    await _choose_ndrc(app, ticket_id)
    assert _sent_to(app, DEPT_CHAT) == [] and _ticket(app, ticket_id).status == "escalated"
    (owed,) = _services(app).db.call(
        lambda session: session.exec(select(OutboxMessage).where(OutboxMessage.purpose == DEPARTMENT_CARD)).all()
    )
    assert (owed.chat_id, owed.ticket_id, owed.status) == (DEPT_CHAT, ticket_id, "pending")
    await delivered(app)
    (dept_card,) = _sent_to(app, DEPT_CHAT)
    assert says(texts.DESK_ESCALATION_HEAD, dept_card.params["text"])
    assert [c.chat_id for c in _services(app).db.call(ticket_cards, ticket_id=ticket_id)] == [STEWARD_CHAT, DEPT_CHAT]
    await _say(app, "由市场监管局负责。", user=DEPT_MEMBER, chat=DEPT_CHAT, reply_to=_card(app, ticket_id, DEPT_CHAT))
    (relayed,) = _sent_to(app, HELP)
    assert says(texts.DESK_RELAYED_ANSWER, relayed.params["text"], responder="发展和改革委员会")


async def test_a_department_card_sent_after_its_ticket_closed_is_brought_up_to_date(app) -> None:
    """The card waits in the outbox (the sender stopped) while the steward closes the ticket: once sent, it is edited
    to show the ticket closed, with no button left to press."""
    ticket_id = await _escalated_then_closed_undelivered(app)
    assert _ticket(app, ticket_id).status == "closed"
    await delivered(app)
    (dept_card,) = _sent_to(app, DEPT_CHAT)
    assert texts.DESK_STATUS["escalated"] in dept_card.params["text"]  # as owed
    edits = [c for c in _req(app).sent("editMessageText") if int(c.params["chat_id"]) == DEPT_CHAT]
    assert edits and texts.DESK_STATUS["closed"] in edits[-1].params["text"]
    assert "reply_markup" not in edits[-1].params


async def test_sla_warning_once_breach_once_to_the_lead_group(app) -> None:
    services, clock = _services(app), app.bot_data["clock"]
    await _handoff(app)
    _req(app).clear()
    clock.advance(minutes=21)
    alerts = await _sweep(app, services)
    assert [a.kind.value for a in alerts] == ["warning"]
    (warning,) = _req(app).sent()
    assert int(warning.params["chat_id"]) == STEWARD_CHAT and says(texts.DESK_WARNING, warning.params["text"])
    _req(app).clear()
    assert await _sweep(app, services) == []
    assert _req(app).sent() == []
    clock.advance(minutes=10)
    alerts = await _sweep(app, services)
    assert [a.kind.value for a in alerts] == ["breach"]
    (lead,) = _sent_to(app, LEAD_CHAT)
    assert says(texts.DESK_BREACH_ALERT, lead.params["text"]) and "营业执照" in lead.params["text"]
    assert says(texts.DESK_BREACH_NOTICE, _sent_to(app, STEWARD_CHAT)[0].params["text"])
    _req(app).clear()
    clock.advance(minutes=30)
    assert await _sweep(app, services) == []
    assert _req(app).sent() == []


async def test_learn_makes_the_next_same_question_answered(app) -> None:
    question = "我们的项目能不能申请专项债资金？"
    ticket_id, _ = await _handoff(app, question)
    await _say(app, "可以，请联系财政局债务科申报。", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    # An enterprise member cannot teach the bot.
    await _say(
        app, "/learn", user=ASKER, chat=HELP, reply_to=bot_message(BOT_USER, chat_id=HELP, message_id=1, text="x")
    )
    assert texts.TICKET_LEARNED[:6] not in str(_sent_to(app, HELP))
    learn = await _say(app, "/learn", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    prompt = _sent_to(app, STEWARD_CHAT)[0]
    everywhere = _buttons(prompt)[0][1]
    shown = bot_message(BOT_USER, chat_id=STEWARD_CHAT, message_id=9100, text=prompt.params["text"])
    shown["reply_to_message"] = learn
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=shown, data=everywhere)
    assert says(texts.TICKET_LEARNED, _req(app).sent("editMessageText")[-1].params["text"])
    await _say(app, question, user=OTHER_MEMBER)
    (answer,) = _sent_to(app, HELP)
    assert "财政局债务科" in answer.params["text"]
    assert _services(app).db.call(lambda session: len(session.exec(select(Ticket)).all())) == 1


async def test_unsolved_answer_becomes_a_ticket(app) -> None:
    question = await _say(app, "环评要啥材料")
    (answer,) = _sent_to(app, HELP)
    assert [t for t, _ in _buttons(answer)] == [texts.FEEDBACK_SOLVED, texts.FEEDBACK_UNSOLVED]
    data = _buttons(answer)[1][1]
    answer_message = bot_message(BOT_USER, chat_id=HELP, message_id=8000, text="答")
    answer_message["reply_to_message"] = question
    answer_message["reply_markup"] = answer.params["reply_markup"]
    await _press(app, chat=HELP, user=ASKER, message=answer_message, data=data)
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "环评要啥材料" in card.params["text"] and says(texts.DESK_CARD_CANDIDATES, card.params["text"])
    assert _sent_to(app, HELP)[0].params["reply_parameters"]["message_id"] == question["message_id"]
    assert _req(app).sent("editMessageReplyMarkup")  # the buttons are gone
    await _press(app, chat=HELP, user=ASKER, message=answer_message, data="fb:ok")
    assert _alert(app).params["text"] == texts.FEEDBACK_THANKS


async def test_none_of_the_choices_becomes_a_ticket(app) -> None:
    # An ambiguous name gets a choice; the asker meant neither item: the last button hands it to a person.
    question = await _say(app, "规划许可证要什么材料")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [t for t, _ in _buttons(prompt)]
    assert labels[-1] == texts.CLARIFY_NONE and len(labels) >= 3  # the items offered, then 「都不是」
    data = _buttons(prompt)[-1][1]
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8001, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    # Only the asker may: another member's press opens nothing.
    await _press(app, chat=HELP, user=OTHER_MEMBER, message=shown, data=data)
    assert _alert(app).params["show_alert"] is True
    assert _sent_to(app, STEWARD_CHAT) == []
    await _press(app, chat=HELP, user=ASKER, message=shown, data=data)
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "规划许可证要什么材料" in card.params["text"]
    assert not says(texts.DESK_CARD_CANDIDATES, card.params["text"])  # the items turned down are no guess
    assert _sent_to(app, HELP)[0].params["reply_parameters"]["message_id"] == question["message_id"]
    assert _req(app).sent("editMessageReplyMarkup")  # the choice's buttons are gone


async def test_a_follow_up_the_gate_leans_on_is_offered_with_a_person_beside_it(app) -> None:
    # The follow-up gate is fairly, not fully, sure 「备完了后面还有啥手续」 asks of 竣工验收备案: the one item offered,
    # and a person.
    await _say(app, "竣工验收备案要什么材料")
    question = await _say(app, "备完了后面还有啥手续")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    assert [d.split(":")[:2] for _, d in _buttons(prompt)][0] == ["kb", "completion_filing"]
    assert [t for t, _ in _buttons(prompt)][1:] == [texts.CLARIFY_NONE]
    assert _services(app).db.call(lambda session: session.exec(select(Ticket)).all()) == []  # none unless asked
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8002, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=HELP, user=ASKER, message=shown, data=_buttons(prompt)[1][1])
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "备完了后面还有啥手续" in card.params["text"]


async def test_a_first_message_that_describes_its_item_is_offered_it_with_a_person_beside_it(app) -> None:
    # 「看项目用电用煤多不多的那个审查…」 names no procedure and scores below the answer threshold: its best item is
    # offered (Thresholds.guess) with 「都不是，转人工」; a press of the item answers it, and the asker's next question
    # follows it. (「我们那块地底下听说有矿…」 was the example until the read dialogues taught the item model: now it
    # is answered as 压覆矿产 outright.)
    question = await _say(app, "看项目用电用煤多不多的那个审查，流程是啥？")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    assert [d.split(":")[:2] for _, d in _buttons(prompt)][0] == ["kb", "energy_review"]
    assert [t for t, _ in _buttons(prompt)][-1] == texts.CLARIFY_NONE
    assert _services(app).db.call(lambda session: session.exec(select(Ticket)).all()) == []  # none unless asked
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8003, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=HELP, user=ASKER, message=shown, data=_buttons(prompt)[0][1])
    (edited,) = _req(app).sent("editMessageText")
    assert "节能审查" in edited.params["text"]
    await _say(app, "那这个找哪个部门")
    (answer,) = _sent_to(app, HELP)
    assert "发展和改革" in answer.params["text"]


async def test_none_of_a_guess_becomes_a_ticket(app) -> None:
    # The asker meant another matter: 「都不是，转人工」 under the guess opens the ticket the handoff would have.
    question = await _say(app, "证明这块地归我们的那个证怎么办？")
    (prompt,) = _sent_to(app, HELP)
    assert [d.split(":")[:2] for _, d in _buttons(prompt)][0] == ["kb", "property_cert"]
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8004, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=HELP, user=ASKER, message=shown, data=_buttons(prompt)[-1][1])
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "证明这块地归我们的那个证" in card.params["text"]
    assert len(_services(app).db.call(lambda session: session.exec(select(Ticket)).all())) == 1


async def test_a_message_with_no_question_mark_never_becomes_a_ticket(app) -> None:
    # 「是的」「还没批下来」 may read as asking to the learned reader, but the bot speaks up on a message with no
    # question mark only with an answer of its own: no ticket, no follow-up of a waiting one, nothing logged
    from knowledge.question_log import QuestionLog

    # the asker's ticket waits for a question the bot could not place (one with no item to borrow)
    ticket_id, _ = await _handoff(app, "这个流程一般走多久？")
    logged = _services(app).db.call(lambda session: len(session.exec(select(QuestionLog)).all()))
    for chatter in ["是的", "那行", "我也是", "还没批下来", "要法人签字"]:
        await _say(app, chatter)
        assert _req(app).sent() == [], chatter  # neither an answer nor 「已补充到工单」
    assert _services(app).db.call(lambda session: len(session.exec(select(Ticket)).all())) == 1
    assert _services(app).db.call(lambda session: len(session.exec(select(QuestionLog)).all())) == logged
    assert _ticket(app, ticket_id).status == "open"
    # one the knowledge base answers is answered, the waiting ticket notwithstanding
    await _say(app, "取水许可是水利局办吧")
    (answer,) = _sent_to(app, HELP)
    assert texts.ASPECT["department"] in answer.params["text"]


async def test_a_choice_in_a_private_chat_has_no_handoff_button(app) -> None:
    """No person takes a private chat's questions: under a choice, 「都不是」 (not 「都不是，转人工」) turns the prompt
    into the pointer to the help group, and opens no ticket."""
    _req(app).clear()
    update = message_update(app.bot, chat_id=ASKER, user_id=ASKER, text="规划许可证要什么材料", chat_type="private")
    await app.process_update(update)
    await delivered(app)
    (prompt,) = _sent_to(app, ASKER)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [t for t, _ in _buttons(prompt)]
    assert texts.CLARIFY_NONE not in labels and labels[-1] == texts.CLARIFY_NONE_PRIVATE
    assert update.message is not None
    shown = bot_message(BOT_USER, chat_id=ASKER, message_id=9101, text=texts.CLARIFY_PROMPT, chat_type="private")
    shown["reply_to_message"] = update.message.to_dict()
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=ASKER, user=ASKER, message=shown, data=_buttons(prompt)[-1][1])
    (edited,) = _req(app).sent("editMessageText")
    assert edited.params["text"] == texts.TICKET_PRIVATE_HANDOFF
    assert _services(app).db.call(lambda session: session.exec(select(Ticket)).all()) == []
    # a prompt whose question the asker deleted: its 「都不是」 still answers the asker in their own chat
    orphan = dict(shown, message_id=9102)
    del orphan["reply_to_message"]
    await _press(app, chat=ASKER, user=ASKER, message=orphan, data=_buttons(prompt)[-1][1])
    (edited,) = _req(app).sent("editMessageText")
    assert edited.params["text"] == texts.TICKET_PRIVATE_HANDOFF
    # the items turned down are no context: 「那要多久？」 next is not offered them again
    _req(app).clear()
    await app.process_update(
        message_update(app.bot, chat_id=ASKER, user_id=ASKER, text="那要多久？", chat_type="private")
    )
    await delivered(app)
    (reply,) = _sent_to(app, ASKER)
    assert reply.params["text"] != texts.CLARIFY_PROMPT


async def test_close_button_and_a_second_press(app) -> None:
    ticket_id, _ = await _handoff(app)
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, ticket_id), data=f"t:close:{ticket_id}")
    assert texts.DESK_STATUS["closed"] in _alert(app).params["text"]
    assert "reply_markup" not in _req(app).sent("editMessageText")[-1].params
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, ticket_id), data=f"t:claim:{ticket_id}")
    assert _alert(app).params["show_alert"] is True
    assert _ticket(app, ticket_id).status == "closed"


async def test_binding_is_for_admins_and_known_projects(app) -> None:
    await _say(app, "/bind P001", user=ASKER, chat=OTHER_HELP)
    assert _sent_to(app, OTHER_HELP)[0].params["text"] == texts.DESK_ERR_PERMISSION
    await _say(app, "/bind NOPE", user=ADMIN, chat=OTHER_HELP)
    assert says(texts.DESK_ERR_UNKNOWN_PROJECT, _sent_to(app, OTHER_HELP)[0].params["text"], code="NOPE")
    await _say(app, "/bind_dept 不存在局", user=ADMIN, chat=supergroup_id(999))
    assert says(texts.DESK_ERR_UNKNOWN_DEPARTMENT, _sent_to(app, supergroup_id(999))[0].params["text"])
    await _say(app, "/unbind", user=ADMIN, chat=DEPT_CHAT)
    assert _sent_to(app, DEPT_CHAT)[0].params["text"] == texts.DESK_UNBOUND
    # no longer a staff chat: a question there is answered again
    await _say(app, "环评要啥材料？", user=DEPT_MEMBER, chat=DEPT_CHAT)
    assert texts.ASPECT["materials"] in _sent_to(app, DEPT_CHAT)[0].params["text"]


async def test_stats_in_staff_groups_only(app) -> None:
    await _handoff(app)
    await _say(app, "/stats", user=STEWARD, chat=STEWARD_CHAT)
    assert says(texts.DESK_STATS_TITLE, _sent_to(app, STEWARD_CHAT)[0].params["text"])
    assert says(texts.DESK_STATS_SUMMARY, _sent_to(app, STEWARD_CHAT)[0].params["text"], opened=1)
    await _say(app, "/stats", user=ASKER, chat=HELP)
    assert _sent_to(app, HELP)[0].params["text"] == texts.TICKET_STAFF_ONLY


async def test_flood_from_one_user_is_throttled_once(app) -> None:
    notices = []
    for _ in range(10):
        await _say(app, "能评要多久？", user=OTHER_MEMBER)
        notices += [c.params["text"] for c in _sent_to(app, HELP) if says(texts.DESK_THROTTLED, c.params["text"])]
    assert len(notices) == 1


async def test_outside_business_hours_the_ack_says_when_the_clock_starts(app) -> None:
    app.bot_data["clock"].advance(hours=10)  # Tuesday 20:00 in Shanghai
    await _say(app, OUT_OF_SCOPE)
    ack = _sent_to(app, HELP)[0].params["text"]
    assert ack == texts.HANDOFF_ACK_CLOSED.format(minutes="30", opens_at="3月11日（周三）09:00")


async def test_help_in_a_department_group_is_the_staff_help(app) -> None:
    await _say(app, "/help", user=DEPT_MEMBER, chat=DEPT_CHAT)
    assert _sent_to(app, DEPT_CHAT)[0].params["text"] == texts.HELP_STAFF


async def test_a_forged_ticket_id_on_another_tickets_card_is_refused(app) -> None:
    first, _ = await _handoff(app)
    second, _ = await _handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, first), data=f"t:close:{second}")
    assert _alert(app).params["show_alert"] is True
    assert _ticket(app, second).status == "open"
    # 「转部门」 then 「返回」 puts the card's own buttons back.
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, first), data=f"t:escalate:{first}")
    await _press(
        app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, first, chooser=("ndrc",)), data=f"t:view:{first}"
    )
    restored = _req(app).sent("editMessageText")[-1]
    assert [t for t, _ in _buttons(restored)] == STEWARD_BUTTONS


async def test_a_steward_answering_in_the_help_group_stops_the_clock(app) -> None:
    await _say(app, "大家好", user=STEWARD, chat=STEWARD_CHAT)  # the steward is known
    ticket_id, question = await _handoff(app)
    await _say(app, "王经理，营业执照请到市场监管局办理。", user=STEWARD, chat=HELP, reply_to=question)
    assert _sent_to(app, HELP) == []  # the bot does not answer a steward
    ticket = _ticket(app, ticket_id)
    assert ticket.status == "answered" and ticket.first_response_by == STEWARD
    # the card in the steward group says so (it said 「待认领」 until someone pressed a button on it)
    (edit,) = [c for c in _req(app).sent("editMessageText") if int(c.params["chat_id"]) == STEWARD_CHAT]
    assert edit.params["message_id"] == _card(app, ticket_id)["message_id"]
    assert texts.DESK_STATUS["answered"] in edit.params["text"] and texts.DESK_STATUS["open"] not in edit.params["text"]
    await _say(app, "环评要啥材料？", user=STEWARD, chat=HELP)
    assert _req(app).sent() == []
    # nor one with no question mark that the learned reader takes as asking
    await _say(app, "取水许可是水利局办吧", user=STEWARD, chat=HELP)
    assert _req(app).sent() == []


async def test_a_message_in_the_askers_forum_topic_is_no_reply_to_the_question(app) -> None:
    # Telegram sets every topic message's reply_to_message to the topic's opening message: a steward's notice in
    # the topic of the asker's question answers nothing, and the clock goes on; a real reply still answers
    await _say(app, "大家好", user=STEWARD, chat=STEWARD_CHAT)  # the steward is known
    opener = bot_message(
        {"id": ASKER, "is_bot": False, "first_name": "王"}, chat_id=HELP, message_id=7, text="XX公司"
    ) | {"message_thread_id": 7, "forum_topic_created": {"name": "XX公司", "icon_color": 7322096}}
    ticket_id, question = await _handoff(app, reply_to=opener, thread_id=7)
    await _say(app, "各位好，下午三点召开联审会。", user=STEWARD, chat=HELP, reply_to=opener, thread_id=7)
    ticket = _ticket(app, ticket_id)
    assert ticket.status == "open" and ticket.first_response_by is None
    await _say(app, "营业执照请到市场监管局办理。", user=STEWARD, chat=HELP, reply_to=question, thread_id=7)
    assert _ticket(app, ticket_id).status == "answered"


async def test_a_reply_to_the_relay_confirmation_is_told_it_went_nowhere(app) -> None:
    # the steward replies to the bot's confirmation instead of the card: nothing reaches the enterprise, and the
    # steward is told so (they would believe their addition was sent)
    ticket_id, _ = await _handoff(app)
    await _say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    (confirmation,) = _sent_to(app, STEWARD_CHAT)
    assert _relayed(confirmation.params["text"])
    shown = bot_message(
        BOT_USER, chat_id=STEWARD_CHAT, message_id=confirmation.message_id or 0, text=confirmation.params["text"]
    )
    await _say(app, "补充：需带营业执照原件。", user=STEWARD, chat=STEWARD_CHAT, reply_to=shown)
    assert _sent_to(app, HELP) == []
    (told,) = _sent_to(app, STEWARD_CHAT)
    assert told.params["text"] == texts.DESK_ERR_NOT_A_CARD.format(ticket_id=ticket_id)
    # a reply to the card still relays it
    await _say(app, "补充：需带营业执照原件。", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    assert "营业执照原件" in _sent_to(app, HELP)[0].params["text"]


async def test_a_private_chat_is_pointed_to_the_help_group(app) -> None:
    _req(app).clear()
    await app.process_update(
        message_update(app.bot, chat_id=ASKER, user_id=ASKER, text=OUT_OF_SCOPE, chat_type="private")
    )
    await delivered(app)
    assert _sent_to(app, ASKER)[0].params["text"] == texts.TICKET_PRIVATE_HANDOFF
    assert _sent_to(app, STEWARD_CHAT) == []


async def test_learn_in_reply_to_the_relayed_answer_in_the_help_group(app) -> None:
    from desk.models import TicketMessage

    ticket_id, _ = await _handoff(app, "厂区围墙能先建吗？")
    await _say(
        app, "围墙可以先行建设，需先报规划备案。", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id)
    )
    relayed_id = _services(app).db.call(
        lambda session: (
            session.exec(
                select(TicketMessage).where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == "out")
            )
            .one()
            .message_id
        )
    )
    relayed = bot_message(BOT_USER, chat_id=HELP, message_id=relayed_id, text="💬")
    learn = await _say(app, "/learn", user=STEWARD, chat=HELP, reply_to=relayed)
    prompt = _sent_to(app, HELP)[0]
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=9200, text=prompt.params["text"])
    shown["reply_to_message"] = learn
    shown["reply_markup"] = prompt.params["reply_markup"]
    await _press(app, chat=HELP, user=STEWARD, message=shown, data=_buttons(prompt)[0][1])
    assert says(texts.TICKET_LEARNED, _req(app).sent("editMessageText")[-1].params["text"])
    await _say(app, "厂区围墙能先建吗？", user=OTHER_MEMBER)
    assert "规划备案" in _sent_to(app, HELP)[0].params["text"]


# --------------------------------------------------------------------------- delivery problems


def _fail_sends(app, monkeypatch, *, chat: int, status: int, times: int) -> None:
    """The next `times` sendMessage calls to `chat` get HTTP `status` from "Telegram"."""
    request = _req(app)
    answer = request.do_request
    left = [times]
    descriptions = {
        400: "Bad Request: message thread not found",
        403: "Forbidden: bot was kicked from the supergroup chat",
        502: "Bad Gateway",
    }

    async def flaky(url, method, request_data=None, **kw):
        params = request_data.parameters if request_data else {}
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) == chat and left[0]:
            left[0] -= 1
            request.calls.append(ApiCall("sendMessage", {"chat_id": chat, "status": status}))
            return status, json.dumps({"ok": False, "error_code": status, "description": descriptions[status]}).encode()
        return await answer(url, method, request_data, **kw)

    monkeypatch.setattr(request, "do_request", flaky)


def _delivered_to(app, chat: int) -> list[ApiCall]:
    return [c for c in _sent_to(app, chat) if "status" not in c.params]


async def test_a_server_error_on_the_relay_is_retried(app, monkeypatch) -> None:
    ticket_id, question = await _handoff(app)
    _fail_sends(app, monkeypatch, chat=HELP, status=502, times=2)
    await _say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    failed = [c for c in _sent_to(app, HELP) if c.params.get("status") == 502]
    (relayed,) = _delivered_to(app, HELP)
    assert len(failed) == 2
    assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]
    assert _relayed(_sent_to(app, STEWARD_CHAT)[0].params["text"])


async def test_an_escalation_the_department_group_never_got_is_reported(app, monkeypatch) -> None:
    ticket_id, _ = await _handoff(app)
    _fail_sends(app, monkeypatch, chat=DEPT_CHAT, status=403, times=1)
    await _press(
        app,
        chat=STEWARD_CHAT,
        user=STEWARD,
        message=_card(app, ticket_id, chooser=("ndrc",)),
        data=f"t:escalate:{ticket_id}:ndrc",
    )
    # The card is owed with the escalation: the press is answered at once, the steward told once Telegram refused it.
    assert _alert(app).params["text"] == f"📣 工单 #{ticket_id} 已转发展和改革委员会。"
    (notice,) = _sent_to(app, STEWARD_CHAT)
    assert notice.params["text"] == texts.TICKET_ESCALATION_UNDELIVERED.format(
        ticket_id=ticket_id, department="发展和改革委员会"
    )
    # The group removed the bot: it is no longer a staff chat, and no longer offered.
    assert DEPT_CHAT not in _services(app).staff_chats
    await _say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    assert says(texts.DESK_ERR_DEPARTMENT_NOT_BOUND, _sent_to(app, STEWARD_CHAT)[0].params["text"])


async def test_an_escalate_command_whose_card_never_arrives_is_answered_with_the_notice(app, monkeypatch) -> None:
    """/escalate is answered at once; the card's final refusal owes the notice, a reply to the command."""
    ticket_id, _ = await _handoff(app)
    _fail_sends(app, monkeypatch, chat=DEPT_CHAT, status=403, times=1)
    command = await _say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    escalated, notice = _sent_to(app, STEWARD_CHAT)
    assert says(texts.DESK_ESCALATED, escalated.params["text"], ticket_id=ticket_id, department="发展和改革委员会")
    assert notice.params["text"] == texts.TICKET_ESCALATION_UNDELIVERED.format(
        ticket_id=ticket_id, department="发展和改革委员会"
    )
    assert notice.params["reply_parameters"]["message_id"] == command["message_id"]


async def test_no_notice_for_a_card_that_failed_after_its_ticket_was_closed(app, monkeypatch) -> None:
    """The card waits (the sender stopped), the steward closes the ticket, then Telegram refuses the card: telling
    the steward to escalate it elsewhere would be moot, so nothing is said."""
    ticket_id = await _escalated_then_closed_undelivered(app)
    assert _ticket(app, ticket_id).status == "closed"
    _fail_sends(app, monkeypatch, chat=DEPT_CHAT, status=403, times=1)
    await delivered(app)
    assert [c.params.get("status") for c in _sent_to(app, DEPT_CHAT)] == [403]
    assert not any(says(texts.TICKET_ESCALATION_UNDELIVERED, c.params["text"]) for c in _sent_to(app, STEWARD_CHAT))


async def test_no_notice_for_a_card_of_a_department_the_ticket_has_left(app, monkeypatch) -> None:
    """Escalated to 发改委, then (the card still waiting) to 生态环境局: 发改委's card then fails, and nothing is said
    (the ticket is with another department now)."""
    from bot.sender import sender_of

    other = supergroup_id(21)
    await _say(app, "/bind_dept 生态环境局", user=ADMIN, chat=other)
    ticket_id, _ = await _handoff(app)
    await sender_of(app).stop()
    for text in (f"/escalate {ticket_id} 发改委", f"/escalate {ticket_id} 生态环境局"):
        await app.process_update(message_update(app.bot, chat_id=STEWARD_CHAT, user_id=STEWARD, text=text))
    _req(app).clear()
    _fail_sends(app, monkeypatch, chat=DEPT_CHAT, status=403, times=1)
    await delivered(app)
    assert len(_sent_to(app, other)) == 1
    assert not any(says(texts.TICKET_ESCALATION_UNDELIVERED, c.params["text"]) for c in _sent_to(app, STEWARD_CHAT))


async def test_the_undelivered_notice_goes_to_the_topic_of_the_command(app, monkeypatch) -> None:
    ticket_id, _ = await _handoff(app)
    _fail_sends(app, monkeypatch, chat=DEPT_CHAT, status=403, times=1)
    await _say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT, thread_id=9)
    (notice,) = [c for c in _sent_to(app, STEWARD_CHAT) if says(texts.TICKET_ESCALATION_UNDELIVERED, c.params["text"])]
    assert notice.params.get("message_thread_id") == 9


async def test_an_escalation_and_its_card_commit_together(app, monkeypatch) -> None:
    """The card is owed in the escalation's own transaction: should owing it fail, the ticket is not escalated
    either (no ticket with a department and no card on its way)."""
    from delivery.outbox import OutboxMessage
    from desk.models import DEPARTMENT_CARD
    from handlers import tickets_common

    def broken(*args, **kwargs):
        raise RuntimeError("the card could not be composed")

    ticket_id, _ = await _handoff(app)
    monkeypatch.setattr(tickets_common, "department_card_owed", broken)
    await _choose_ndrc(app, ticket_id)  # the error handler logs it
    ticket = _ticket(app, ticket_id)
    assert ticket.status == "open" and ticket.department_key is None
    owed = _services(app).db.call(
        lambda session: session.exec(select(OutboxMessage).where(OutboxMessage.purpose == DEPARTMENT_CARD)).all()
    )
    assert owed == []


async def test_pressing_unsolved_twice_opens_one_ticket(app) -> None:
    question = await _say(app, "环评要啥材料")
    answer = _sent_to(app, HELP)[0]
    data = _buttons(answer)[1][1]
    answer_message = bot_message(BOT_USER, chat_id=HELP, message_id=8100, text="答")
    answer_message["reply_to_message"] = question
    # A second press that reaches the bot before the buttons are gone (two taps at once).
    answer_message["reply_markup"] = answer.params["reply_markup"]
    await _press(app, chat=HELP, user=ASKER, message=answer_message, data=data)
    await _press(app, chat=HELP, user=ASKER, message=answer_message, data=data)
    assert _alert(app).params["text"] == texts.TICKET_FEEDBACK_ALREADY.format(ticket_id=1)
    assert _sent_to(app, STEWARD_CHAT) == []
    assert _services(app).db.call(lambda session: len(session.exec(select(Ticket)).all())) == 1


async def test_the_warning_mentions_the_steward_holding_the_ticket(app) -> None:
    ticket_id, _ = await _handoff(app)
    await _press(app, chat=STEWARD_CHAT, user=STEWARD, message=_card(app, ticket_id), data=f"t:claim:{ticket_id}")
    _req(app).clear()
    app.bot_data["clock"].advance(minutes=21)
    await _sweep(app, _services(app))
    (warning,) = _sent_to(app, STEWARD_CHAT)
    assert f'<a href="tg://user?id={STEWARD}">' in warning.params["text"]
    _req(app).clear()
    app.bot_data["clock"].advance(minutes=10)
    await _sweep(app, _services(app))
    assert f"tg://user?id={STEWARD}" in _sent_to(app, STEWARD_CHAT)[0].params["text"]
    assert "tg://user" not in _sent_to(app, LEAD_CHAT)[0].params["text"]


async def test_stats_in_a_department_group_show_no_other_questions(app) -> None:
    ticket_id, _ = await _handoff(app, "我们的项目能不能申请专项债资金？")
    await _say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    await _handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await _say(app, "/stats", user=STEWARD, chat=STEWARD_CHAT)
    full = _sent_to(app, STEWARD_CHAT)[0].params["text"]
    assert "社保怎么交" in full and "发展和改革委员会" in full
    await _say(app, "/stats", user=DEPT_MEMBER, chat=DEPT_CHAT)
    scoped = _sent_to(app, DEPT_CHAT)[0].params["text"]
    assert says(texts.DESK_STATS_TITLE, scoped) and "发展和改革委员会" in scoped
    assert "社保" not in scoped and "专项债" not in scoped


async def test_a_flood_in_a_private_chat_is_throttled_too(app) -> None:
    answers, notices = 0, 0
    for _ in range(12):
        _req(app).clear()
        await app.process_update(
            message_update(app.bot, chat_id=ASKER, user_id=ASKER, text="能评要多久？", chat_type="private")
        )
        await delivered(app)
        for call in _sent_to(app, ASKER):
            if says(texts.DESK_THROTTLED, call.params["text"]):
                notices += 1
            else:
                answers += 1
    assert answers == 8 and notices == 1


# --------------------------------------------------------------------------- Telegram manners


async def test_help_differs_by_chat_kind(app) -> None:
    await _say(app, "/help", chat=HELP)
    assert _sent_to(app, HELP)[0].params["text"] == texts.HELP_HELP_GROUP.format(minutes="30")
    await _say(app, "/help", user=STEWARD, chat=STEWARD_CHAT)
    assert _sent_to(app, STEWARD_CHAT)[0].params["text"] == texts.HELP_STAFF
    await _say(app, "/help", user=ASKER, chat=LEAD_CHAT)
    assert _sent_to(app, LEAD_CHAT)[0].params["text"] == texts.HELP_STAFF
    _req(app).clear()
    await app.process_update(message_update(app.bot, chat_id=ASKER, user_id=ASKER, text="/help", chat_type="private"))
    await delivered(app)
    assert _sent_to(app, ASKER)[0].params["text"] == texts.HELP_PRIVATE
    assert len({texts.HELP_HELP_GROUP, texts.HELP_STAFF, texts.HELP_PRIVATE}) == 3


async def test_one_error_handler_logs_the_update_and_leaks_nothing(app, monkeypatch, caplog) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(_services(app).knowledge, "ask_in", broken)
    await _say(app, "环评要啥材料？", name="王经理")
    (told,) = _sent_to(app, HELP)
    assert told.params["text"] == texts.ERROR_GENERIC and "hunter2" not in told.params["text"]
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged and "环评要啥材料" in logged[-1].getMessage()
    assert "hunter2" in str(logged[-1].exc_info[1])


async def test_a_long_answer_is_split_at_telegrams_limit_and_stays_a_reply(app) -> None:
    ticket_id, question = await _handoff(app, thread_id=9)
    answer = "\n".join(f"第{i}条：请携带材料原件和复印件到窗口办理。" for i in range(400))
    assert len(answer) > 4096
    await _say(app, answer, user=STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, ticket_id))
    parts = _sent_to(app, HELP)
    assert len(parts) >= 2 and all(len(p.params["text"]) <= 4096 for p in parts)
    assert parts[0].params["reply_parameters"]["message_id"] == question["message_id"]
    assert all(p.params["message_thread_id"] == 9 for p in parts)
    assert "第399条" in parts[-1].params["text"]
    assert _relayed(_sent_to(app, STEWARD_CHAT)[0].params["text"])


async def test_a_breach_meeting_server_errors_is_retried_until_it_arrives_and_said_once(app, monkeypatch) -> None:
    services, clock = _services(app), app.bot_data["clock"]
    await _handoff(app)
    _req(app).clear()
    clock.advance(minutes=31)
    _fail_sends(app, monkeypatch, chat=LEAD_CHAT, status=502, times=3)
    _fail_sends(app, monkeypatch, chat=STEWARD_CHAT, status=502, times=3)
    assert [a.kind.value for a in await _sweep(app, services)] == ["breach"]
    assert len([c for c in _sent_to(app, LEAD_CHAT) if c.params.get("status") == 502]) == 3
    assert says(texts.DESK_BREACH_ALERT, _delivered_to(app, LEAD_CHAT)[0].params["text"])
    assert len(_delivered_to(app, STEWARD_CHAT)) == 1
    _req(app).clear()
    clock.advance(minutes=1)
    assert await _sweep(app, services) == []  # delivered once: not again
    assert _req(app).sent() == []
