"""The desk under a hostile or careless chat (issue 10), as a conversation through the real
Application (process_update) with a recording request, real Telegram ids (supergroups
-100…, user ids above 2^32) and a fake clock. Each test presses or types what a member of
the chat could, and checks that nothing changed that should not."""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from telegram import Update
from telegram.ext import ContextTypes

import texts
from bot.telegram_io import rendered_text, telegram_length
from desk import render
from desk.bindings import department_chat_id, help_project
from desk.models import Ticket, TicketEvent
from desk.tickets import ticket_cards
from handlers.tickets_common import card_markup
from ledger.models import Project
from scheduler.models import ReminderLog
from tests.delivery_helpers import delivered, recorded_application
from tests.ledger_support import base_project
from tests.recording_request import BOT_ID, BOT_USERNAME, ApiCall, RecordingRequest
from tests.test_tickets_flow import _fail_sends
from tests.texts_match import says
from tests.updates import bot_message, callback_update, message_update, user_id

HELP = -1001234567890
OTHER_HELP = -1001234567891
STEWARD_CHAT = -1001987654321
LEAD_CHAT = -1001987654322
DEPT_CHAT = -1001987654323
ADMIN = 5_000_000_001
STEWARD = 6_000_000_011
DEPT_MEMBER = 6_000_000_021
ASKER = 7_000_000_041
OTHER_MEMBER = 7_000_000_042
NEWCOMER = 7_000_000_043

BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "项目管家", "username": BOT_USERNAME}
OUT_OF_SCOPE = "营业执照怎么办理？"
HUGE = "99999999999999999999999"
_ids = count(900_000)


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

        def add_projects(session):
            session.add(base_project())
            session.add(
                base_project(
                    code="P002", name="物流园", region="老城区", sector="物流", investment_yi=Decimal("3"), start_half=2
                )
            )

        application.bot_data["services"].db.call(add_projects)
        await say(application, "/bind P001", user=ADMIN)
        await say(application, "/bind P002", user=ADMIN, chat=OTHER_HELP)
        await say(application, "/bind_dept 发改委", user=ADMIN, chat=DEPT_CHAT)
        yield application


# --------------------------------------------------------------------------- helpers


def req(app) -> RecordingRequest:
    return app.bot_data["request"]


def services(app):
    return app.bot_data["services"]


async def say(
    app,
    text: str,
    *,
    user: int = ASKER,
    chat: int = HELP,
    reply_to: dict[str, Any] | None = None,
    name: str = "企业用户",
) -> dict[str, Any]:
    """Send a message, dated by the fake clock as Telegram dates it when it is sent."""
    req(app).clear()
    update = message_update(
        app.bot,
        chat_id=chat,
        user_id=user,
        text=text,
        reply_to=reply_to,
        name=name,
        date=int(services(app).clock().timestamp()),
    )
    await app.process_update(update)
    await delivered(app)
    assert update.message is not None
    return update.message.to_dict()


async def press(app, *, chat: int, user: int, message: dict[str, Any], data: str) -> None:
    req(app).clear()
    await app.process_update(callback_update(app.bot, chat_id=chat, user_id=user, message=message, data=data))
    await delivered(app)


def sent_to(app, chat: int) -> list[ApiCall]:
    return [c for c in req(app).sent() if int(c.params["chat_id"]) == chat]


def buttons(call: ApiCall) -> list[str]:
    return [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


def alert(app) -> ApiCall:
    answered = req(app).sent("answerCallbackQuery")
    assert answered, "the callback was never answered"
    return answered[-1]


def assert_refused(app) -> None:
    """One refusal, an alert, and nothing sent or edited."""
    refusal = alert(app)
    assert refusal.params["text"] == texts.DESK_ERR_PERMISSION
    assert refusal.params["show_alert"] is True
    assert [c.method for c in req(app).calls] == ["answerCallbackQuery"]


def tickets(app) -> list[Ticket]:
    return services(app).db.call(lambda session: list(session.exec(select(Ticket).order_by(col(Ticket.id))).all()))


def events(app, ticket_id: int) -> list[str]:
    return services(app).db.call(
        lambda session: [
            e.action
            for e in session.exec(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
            ).all()
        ]
    )


def card(app, ticket_id: int, chat: int = STEWARD_CHAT, *, with_buttons: bool = True) -> dict[str, Any]:
    """The ticket's first card in a staff chat as Telegram shows it (with its buttons)."""
    cards = services(app).db.call(ticket_cards, ticket_id=ticket_id)
    found = next(c for c in cards if c.chat_id == chat)
    message = bot_message(BOT_USER, chat_id=chat, message_id=found.message_id, text="🎫 工单")
    if with_buttons:
        message["reply_markup"] = card_markup(ticket_id, found.kind).to_dict()
    return message


async def handoff(app, text: str = OUT_OF_SCOPE, *, user: int = ASKER, chat: int = HELP) -> tuple[int, dict[str, Any]]:
    question = await say(app, text, user=user, chat=chat)
    return tickets(app)[-1].id, question  # type: ignore[return-value]


def as_shown(call: ApiCall, *, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message the bot sent (a recorded sendMessage), as Telegram shows it on a press."""
    message = bot_message(
        BOT_USER, chat_id=int(call.params["chat_id"]), message_id=call.message_id or 0, text=call.params["text"]
    )
    if call.params.get("reply_markup"):
        message["reply_markup"] = call.params["reply_markup"]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


# --------------------------------------------------------------------------- 2. buttons


async def test_a_clarify_choice_only_works_on_the_clarify_prompt(app) -> None:
    ticket_id, _ = await handoff(app)
    await say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    relayed = sent_to(app, HELP)[0]
    # Forged on the relayed steward answer in the help group: refused, the answer stays.
    await press(app, chat=HELP, user=OTHER_MEMBER, message=as_shown(relayed), data="kb:eia:materials")
    assert_refused(app)
    # Forged on the card in the steward group: refused, the card keeps its buttons.
    await press(app, chat=STEWARD_CHAT, user=STEWARD, message=card(app, ticket_id), data="kb:eia:materials")
    assert_refused(app)
    # A real clarify prompt (an ambiguous name: two items named are answered both) answers its asker's choice.
    question = await say(app, "规划许可证要什么材料")
    prompt = sent_to(app, HELP)[0]
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    choice = buttons(prompt)[0]
    shown = as_shown(prompt, reply_to=question)
    # Another member's press is refused: it would take the asker's 「都不是，转人工」 away with the buttons.
    await press(app, chat=HELP, user=OTHER_MEMBER, message=shown, data=choice)
    assert_refused(app)
    assert not req(app).sent("editMessageText")
    await press(app, chat=HELP, user=ASKER, message=shown, data=choice)
    assert req(app).sent("editMessageText")
    # A choice that is not among the prompt's buttons is refused too.
    await press(app, chat=HELP, user=ASKER, message=shown, data="kb:nope:other")
    assert_refused(app)


async def test_feedback_buttons_only_by_their_asker_under_their_answer(app) -> None:
    question = await say(app, "环评要啥材料")
    answer = sent_to(app, HELP)[0]
    no, ok = buttons(answer)[1], buttons(answer)[0]
    shown = as_shown(answer, reply_to=question)
    # Another member of the group presses 「没解决」 under someone else's answer.
    await press(app, chat=HELP, user=OTHER_MEMBER, message=shown, data=no)
    assert_refused(app)
    assert tickets(app) == []
    # fb:no forged on a message in the steward group opens nothing there.
    steward_msg = bot_message(BOT_USER, chat_id=STEWARD_CHAT, message_id=77, text="x")
    steward_msg["reply_to_message"] = question | {"chat": steward_msg["chat"]}
    # it carries the button and replies to the presser's question: only being a staff chat refuses it
    steward_msg["reply_markup"] = {"inline_keyboard": [[{"text": texts.FEEDBACK_UNSOLVED, "callback_data": "fb:no"}]]}
    await press(app, chat=STEWARD_CHAT, user=ASKER, message=steward_msg, data="fb:no")
    assert_refused(app)
    assert tickets(app) == []
    # The asker's own press works.
    await press(app, chat=HELP, user=ASKER, message=shown, data=no)
    assert len(tickets(app)) == 1
    # 「已解决」 forged on a ticket card does not strip its buttons.
    await press(app, chat=STEWARD_CHAT, user=STEWARD, message=card(app, 1), data=ok)
    assert_refused(app)


async def test_forged_unsolved_on_a_follow_up_acknowledgement_opens_no_second_ticket(app) -> None:
    ticket_id, question = await handoff(app)
    ack = sent_to(app, HELP)[0]
    follow_up = await say(app, "那需要本人去吗？", reply_to=as_shown(ack, reply_to=question))
    follow_ack = sent_to(app, HELP)[0]
    assert follow_ack.params["text"] == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    await press(app, chat=HELP, user=ASKER, message=as_shown(follow_ack, reply_to=follow_up), data="fb:no")
    assert_refused(app)
    assert len(tickets(app)) == 1


async def test_ticket_buttons_only_on_that_tickets_current_card(app) -> None:
    ticket_id, _ = await handoff(app)
    await say(app, "那需要本人去吗？", reply_to=as_shown(sent_to(app, HELP)[0]))
    notice = sent_to(app, STEWARD_CHAT)[0]  # the follow-up notice: about the ticket, no buttons
    assert "reply_markup" not in notice.params
    shown = as_shown(notice)
    shown["message_id"] = services(app).db.call(ticket_cards, ticket_id=ticket_id)[-1].message_id
    await press(app, chat=STEWARD_CHAT, user=STEWARD, message=shown, data=f"t:claim:{ticket_id}")
    assert_refused(app)
    assert tickets(app)[0].status == "open"
    # The card itself works.
    await press(app, chat=STEWARD_CHAT, user=STEWARD, message=card(app, ticket_id), data=f"t:claim:{ticket_id}")
    assert tickets(app)[0].status == "claimed"


# --------------------------------------------------------------------------- 7. huge ids


async def test_huge_and_unknown_ids_get_the_same_refusal_as_forbidden_ones(app) -> None:
    ticket_id, _ = await handoff(app)
    shown = card(app, ticket_id)
    for data in (f"t:claim:{HUGE}", "t:claim:", "t:claim:0x1", f"t:close:{ticket_id + 5}"):
        shown["reply_markup"]["inline_keyboard"][0].append({"text": "x", "callback_data": data})
        await press(app, chat=STEWARD_CHAT, user=STEWARD, message=shown, data=data)
        assert_refused(app)
    assert tickets(app)[0].status == "open"
    # A stranger in a help group learns nothing from /escalate: existing or not, the same.
    replies = []
    for typed in (str(ticket_id), str(ticket_id + 5), HUGE):
        await say(app, f"/escalate {typed} 发改委", user=OTHER_MEMBER, chat=OTHER_HELP)
        replies.append(sent_to(app, OTHER_HELP)[0].params["text"])
    assert replies == [texts.DESK_ERR_PERMISSION] * 3
    # A steward is told the ticket does not exist; nothing crashes into the help group.
    await say(app, f"/escalate {HUGE} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    assert sent_to(app, STEWARD_CHAT)[0].params["text"] == texts.DESK_ERR_NOT_FOUND.format(ticket_id=HUGE)
    assert sent_to(app, HELP) == []


# --------------------------------------------------------------------------- 3. group → supergroup


def migration_update(app, *, old: int, new: int, in_new: bool) -> Update:
    """What Telegram sends when a group is upgraded: a service message in the old group
    (migrate_to_chat_id) and one in the new supergroup (migrate_from_chat_id)."""
    chat = (
        {"id": new, "type": "supergroup", "title": "帮办群"}
        if in_new
        else {"id": old, "type": "group", "title": "帮办群"}
    )
    message = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": ADMIN, "is_bot": False, "first_name": "管理员"},
    }
    message["migrate_from_chat_id" if in_new else "migrate_to_chat_id"] = old if in_new else new
    return Update.de_json({"update_id": next(_ids), "message": message}, app.bot)


async def test_a_group_upgraded_to_a_supergroup_keeps_its_binding_tickets_and_reminders(app) -> None:
    basic = -4012345678  # a basic group's id
    req(app).clear()
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind P001", chat_type="group")
    )
    await delivered(app)
    question = message_update(app.bot, chat_id=basic, user_id=ASKER, text=OUT_OF_SCOPE, chat_type="group")
    await app.process_update(question)
    await delivered(app)
    ticket_id = tickets(app)[-1].id
    assert ticket_id is not None
    assert tickets(app)[-1].help_chat_id == basic
    day_key = f"help:{basic}|overdue:P001|2026-03-10"

    def remember_sent(session):
        session.add(ReminderLog(key=day_key, status="sent", claimed_at=services(app).clock()))

    services(app).db.call(remember_sent)

    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=OTHER_MEMBER, text="环评要什么材料？", chat_type="group")
    )
    await delivered(app)

    new = -1001234567999
    await app.process_update(migration_update(app, old=basic, new=new, in_new=False))
    await delivered(app)
    await app.process_update(migration_update(app, old=basic, new=new, in_new=True))  # twice: idempotent
    await delivered(app)

    db = services(app).db
    assert db.call(help_project, chat_id=new) == "P001"
    assert db.call(help_project, chat_id=basic) is None
    assert tickets(app)[-1].help_chat_id == new
    assert "chat_migrated" in events(app, ticket_id)
    assert (
        db.call(lambda session: session.exec(select(Project.help_chat_id).where(Project.code == "P001")).one()) == new
    )
    keys = db.call(lambda session: [r.key for r in session.exec(select(ReminderLog)).all()])
    assert keys == [f"help:{new}|overdue:P001|2026-03-10"]

    # The supergroup numbers its messages afresh: the question's old id would be another member's message there (a
    # relay quoting it, a 「没解决」 under an answer to it refused as 「已转人工」); it is kept in the audit row.
    assert tickets(app)[-1].help_message_id is None
    assert question.message is not None
    assert f'"help_message_id": {question.message.message_id}' in json.dumps(
        [e.detail for e in services(app).db.call(lambda session: session.exec(select(TicketEvent)).all())]
    )
    # The steward's reply to the card reaches the supergroup.
    await say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    (relayed,) = sent_to(app, new)
    assert "市场监管局" in relayed.params["text"]
    assert "reply_parameters" not in relayed.params and "reply_to_message_id" not in relayed.params
    assert sent_to(app, basic) == []
    # The asker's conversation came along: 「那要多久？」 in the supergroup still means 环评.
    await say(app, "那要多久？", user=OTHER_MEMBER, chat=new)
    (answer,) = sent_to(app, new)
    assert "环境影响评价" in answer.params["text"] and texts.ASPECT["time_limit"] in answer.params["text"]
    # The supergroup is bound: /progress answers for its project.
    await say(app, "/progress", chat=new)
    assert "新材料产业园" in sent_to(app, new)[0].params["text"]


# --------------------------------------------------------------------------- 4. edits


async def edit(app, original: dict[str, Any], text: str) -> None:
    """The author edits a message: Telegram sends it again as edited_message, same id."""
    edited = dict(original, text=text, edit_date=int(time.time()))
    if text.startswith("/"):
        edited["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    else:
        edited.pop("entities", None)
    req(app).clear()
    await app.process_update(Update.de_json({"update_id": next(_ids), "edited_message": edited}, app.bot))
    await delivered(app)


def thread(app, ticket_id: int) -> list[tuple[str, str]]:
    from desk.tickets import ticket_thread

    return [(m.direction, m.text) for m in services(app).db.call(ticket_thread, ticket_id=ticket_id)]


async def test_an_edited_answer_is_relayed_as_a_correction_and_kept_in_the_thread(app) -> None:
    ticket_id, question = await handoff(app)
    answer = await say(
        app,
        "请到市场监管局三楼窗口办理。",
        user=STEWARD,
        chat=STEWARD_CHAT,
        reply_to=card(app, ticket_id),
        name="王管家",
    )
    first_response = tickets(app)[0].first_response_at
    await edit(app, answer, "请到市场监管局二楼窗口办理。")
    (correction,) = sent_to(app, HELP)
    assert says(texts.DESK_RELAYED_CORRECTION, correction.params["text"], answer="请到市场监管局二楼窗口办理。")
    assert correction.params["reply_parameters"]["message_id"] == question["message_id"]
    confirm = sent_to(app, STEWARD_CHAT)[0]
    assert confirm.params["text"] == texts.DESK_CORRECTION_CONFIRM.format(project="新材料产业园", ticket_id=ticket_id)
    assert thread(app, ticket_id)[-2:] == [
        ("out", "请到市场监管局三楼窗口办理。"),
        ("out", "请到市场监管局二楼窗口办理。"),
    ]
    assert "correction" in events(app, ticket_id)
    assert tickets(app)[0].first_response_at == first_response
    # Editing a message that answered nothing relays nothing.
    chat = await say(app, "大家好", user=STEWARD, chat=STEWARD_CHAT)
    await edit(app, chat, "大家早")
    assert req(app).sent() == []


async def test_a_reply_to_a_card_before_the_bot_recorded_its_id_is_relayed_and_so_is_its_edit(app) -> None:
    """Telegram has posted the card and the steward answers it (and corrects the answer) before
    the bot has Telegram's answer, so before it recorded the card's message id: the reply is
    known by the ticket the card's head names."""
    seen: dict[str, Any] = {}

    async def steward_answers_at_once(call: ApiCall, result: Any) -> None:
        if seen or call.method != "sendMessage" or int(call.params["chat_id"]) != STEWARD_CHAT:
            return
        ticket_id = tickets(app)[-1].id
        seen["cards then"] = services(app).db.call(ticket_cards, ticket_id=ticket_id)
        shown = bot_message(
            BOT_USER, chat_id=STEWARD_CHAT, message_id=result["message_id"], text=rendered_text(call.params["text"])
        )
        answer = message_update(
            app.bot,
            chat_id=STEWARD_CHAT,
            user_id=STEWARD,
            text="请到市场监管局三楼窗口办理。",
            reply_to=shown,
            name="王管家",
        )
        await app.process_update(answer)
        assert answer.message is not None
        edited = dict(answer.message.to_dict(), text="请到市场监管局二楼窗口办理。", edit_date=int(time.time()))
        await app.process_update(Update.de_json({"update_id": next(_ids), "edited_message": edited}, app.bot))

    req(app).before_answer = steward_answers_at_once
    ticket_id, question = await handoff(app)
    req(app).before_answer = None
    assert seen["cards then"] == []  # the reply came before the card was recorded
    assert len(services(app).db.call(ticket_cards, ticket_id=ticket_id)) == 1  # recorded since
    relayed = [c.params for c in sent_to(app, HELP)][1:]  # after the acknowledgement
    assert says(texts.DESK_RELAYED_ANSWER, relayed[0]["text"], answer="请到市场监管局三楼窗口办理。")
    assert says(texts.DESK_RELAYED_CORRECTION, relayed[1]["text"], answer="请到市场监管局二楼窗口办理。")
    assert {p["reply_parameters"]["message_id"] for p in relayed} == {question["message_id"]}
    confirmations = [c.params["text"] for c in sent_to(app, STEWARD_CHAT)][1:]  # after the card
    assert says(texts.DESK_RELAY_CONFIRM_FIRST, confirmations[0], ticket_id=ticket_id)
    assert confirmations[1] == texts.DESK_CORRECTION_CONFIRM.format(project="新材料产业园", ticket_id=ticket_id)
    assert tickets(app)[-1].status == "answered"
    assert thread(app, ticket_id)[-2:] == [
        ("out", "请到市场监管局三楼窗口办理。"),
        ("out", "请到市场监管局二楼窗口办理。"),
    ]


async def test_edited_commands_are_not_run_again(app) -> None:
    await say(app, "/bind_dept 生态环境局", user=ADMIN, chat=OTHER_HELP - 1000)
    ticket_id, _ = await handoff(app)
    command = await say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    assert tickets(app)[0].department_key == "ndrc"
    await edit(app, command, f"/escalate {ticket_id} 生态环境局")
    assert tickets(app)[0].department_key == "ndrc"
    assert events(app, ticket_id).count("escalate") == 1
    assert sent_to(app, STEWARD_CHAT)[0].params["text"] == texts.EDITED_COMMAND_IGNORED
    # An admin's edit into /bind does not rebind the group.
    hello = await say(app, "/help", user=ADMIN)
    await edit(app, hello, "/bind P002")
    assert services(app).db.call(help_project, chat_id=HELP) == "P001"


# --------------------------------------------------------------------------- 5. the card after delivery


def card_edits(app, ticket_id: int) -> list[ApiCall]:
    main = card(app, ticket_id)
    return [
        c
        for c in req(app).sent("editMessageText")
        if int(c.params["chat_id"]) == STEWARD_CHAT and c.params["message_id"] == main["message_id"]
    ]


async def test_the_card_shows_the_real_state_after_a_failed_relay(app, monkeypatch) -> None:
    ticket_id, _ = await handoff(app)
    # Telegram refuses the relay for good (a 5xx is retried by the outbox until it arrives).
    _fail_sends(app, monkeypatch, chat=HELP, status=400, times=1)
    await say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    assert sent_to(app, STEWARD_CHAT)[0].params["text"] == render.relay_failed(ticket_id)
    (edited,) = card_edits(app, ticket_id)
    assert texts.DESK_STATUS["open"] in edited.params["text"]
    assert texts.DESK_STATUS["answered"] not in edited.params["text"]
    assert not says(texts.DESK_CLOCK_ANSWERED, edited.params["text"])
    assert not says(texts.DESK_CLOCK_ANSWERED_LATE, edited.params["text"])
    assert buttons(edited) == [f"t:claim:{ticket_id}", f"t:escalate:{ticket_id}", f"t:close:{ticket_id}"]
    # Replying again goes through: now the card says answered.
    await say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    (edited,) = card_edits(app, ticket_id)
    assert texts.DESK_STATUS["answered"] in edited.params["text"]
    # A follow-up reopens the ticket: the card says so at once.
    await say(app, "那需要本人去吗？", reply_to=as_shown(sent_to(app, HELP)[0]))
    (edited,) = card_edits(app, ticket_id)
    assert texts.DESK_STATUS["open"] in edited.params["text"]


# --------------------------------------------------------------------------- 6. long text


async def test_a_question_of_4096_ampersands_gives_one_card_that_takes_replies(app) -> None:
    ticket_id, question = await handoff(app, "营业执照" + "&" * 4091 + "？")
    (cards,) = [sent_to(app, STEWARD_CHAT)]
    assert len(cards) == 1
    assert telegram_length(cards[0].params["text"]) <= 4096
    assert "&amp;&amp;" in cards[0].params["text"]
    await say(app, "这不是问题。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    assert len(sent_to(app, HELP)) == 1


async def test_every_part_of_a_long_card_is_recorded_and_a_reply_to_any_part_is_taken(app) -> None:
    ticket_id, _ = await handoff(app)
    for n in range(12):  # a long thread, paced so the flood throttle lets it through
        services(app).clock.advance(minutes=1)
        await say(app, f"第{n}个追问：" + "请问材料里的<附件>&盖章要求是什么" * 20 + "？")
    await say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    parts = sent_to(app, DEPT_CHAT)
    assert len(parts) >= 2
    assert all(telegram_length(p.params["text"]) <= 4096 for p in parts)
    assert "reply_markup" in parts[-1].params and "reply_markup" not in parts[0].params
    shown = "".join(rendered_text(p.params["text"]) for p in parts)
    assert shown.count("第11个追问") == 1 and "<附件>&盖章" in shown
    recorded = [
        c.message_id for c in services(app).db.call(ticket_cards, ticket_id=ticket_id) if c.chat_id == DEPT_CHAT
    ]
    assert len(recorded) == len(parts)
    first = bot_message(BOT_USER, chat_id=DEPT_CHAT, message_id=recorded[0], text="🎫")
    await say(app, "已受理，明天答复。", user=DEPT_MEMBER, chat=DEPT_CHAT, reply_to=first)
    (relayed,) = sent_to(app, HELP)
    assert "已受理，明天答复" in relayed.params["text"]


async def test_a_long_answer_is_relayed_without_cutting_an_entity(app) -> None:
    ticket_id, _ = await handoff(app)
    answer = "材料清单 & 要求：" + "A&B<C>" * 1200
    await say(app, answer, user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    parts = [p.params["text"] for p in sent_to(app, HELP)]
    assert len(parts) >= 2
    for part in parts:
        assert telegram_length(part) <= 4096
        assert rendered_text(part) == html.unescape(part.replace("<b>", "").replace("</b>", ""))
    assert "".join(rendered_text(p) for p in parts).endswith(answer)


# --------------------------------------------------------------------------- 9. the question log


def question_log(app) -> list[Any]:
    from knowledge.question_log import QuestionLog

    return services(app).db.call(
        lambda session: list(session.exec(select(QuestionLog).order_by(col(QuestionLog.id))).all())
    )


async def test_every_question_of_a_burst_is_logged_with_its_outcome(app) -> None:
    notices = 0
    for n in range(200):
        await say(app, f"环评要啥材料？第{n}问", user=OTHER_MEMBER)
        notices += sum(1 for c in sent_to(app, HELP) if "频繁" in c.params["text"])
    rows = [r for r in question_log(app) if r.user_id == OTHER_MEMBER]
    assert len(rows) == 200
    assert Counter(r.action for r in rows) == Counter({"answer": 8, "throttled": 192})
    assert rows[-1].text == "环评要啥材料？第199问" and rows[-1].chat_id == HELP
    assert notices == 1


async def test_a_burst_with_no_question_mark_is_throttled_too(app) -> None:
    # the learned reader takes these as asking and the bot answers them itself: they count like marked questions
    answers = 0
    for n in range(20):
        await say(app, "取水许可是水利局办吧" + "。" * n, user=OTHER_MEMBER)
        answers += sum(1 for c in sent_to(app, HELP) if "取水" in c.params["text"])
    assert answers == 8  # then the throttle, as for 「取水许可是水利局办吗？」


async def test_a_backlog_handled_late_trips_the_throttle_by_message_date(app) -> None:
    sent_at = int(services(app).clock().timestamp())
    for n in range(12):  # sent within one second, handled 10 s apart (a backlog after a restart)
        services(app).clock.advance(seconds=10)
        req(app).clear()
        await app.process_update(
            message_update(app.bot, chat_id=HELP, user_id=OTHER_MEMBER, text=f"环评要啥材料？{n}", date=sent_at)
        )
        await delivered(app)
    actions = Counter(r.action for r in question_log(app) if r.user_id == OTHER_MEMBER)
    assert actions == Counter({"answer": 8, "throttled": 4})


async def test_an_update_handled_twice_is_counted_once_by_the_throttle(app) -> None:
    """An update the inbox hands over again (stored, not marked processed) is one message to
    the flood throttle (8 at once): the same question twice, then 8 others, trips it once."""
    sent_at = int(services(app).clock().timestamp())
    again = message_update(app.bot, chat_id=HELP, user_id=OTHER_MEMBER, text="环评要啥材料？", date=sent_at)
    for _ in range(2):
        await app.process_update(Update.de_json(again.to_dict(), app.bot))
        await delivered(app)
    for n in range(8):
        await app.process_update(
            message_update(app.bot, chat_id=HELP, user_id=OTHER_MEMBER, text=f"能评要多久？{n}", date=sent_at)
        )
        await delivered(app)
    throttled = [r.text for r in question_log(app) if r.user_id == OTHER_MEMBER and r.action == "throttled"]
    assert throttled == ["能评要多久？7"]


async def test_a_question_is_logged_up_to_telegrams_4096_characters(app) -> None:
    question = "环评要啥材料？" + "请" * 4089
    assert len(question) == 4096
    await say(app, question, user=OTHER_MEMBER)
    assert question_log(app)[-1].text == question


# --------------------------------------------------------------------------- 10. /learn scope


async def learn(app, ticket_id: int, *, scope: int, user: int = STEWARD) -> None:
    """/learn in reply to the card, then press the scope button (0: all, 1: this project)."""
    command = await say(app, "/learn", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    prompt = sent_to(app, STEWARD_CHAT)[0]
    assert prompt.params["text"].startswith("📚")
    await press(
        app, chat=STEWARD_CHAT, user=user, message=as_shown(prompt, reply_to=command), data=buttons(prompt)[scope]
    )


async def test_learn_asks_for_the_scope_and_the_matcher_keeps_to_it(app) -> None:
    question = "我们的项目能不能申请专项债资金？"
    ticket_id, _ = await handoff(app, question)
    await say(
        app, "可以，本项目已列入市级专项债储备库。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id)
    )
    command = await say(app, "/learn", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    prompt = sent_to(app, STEWARD_CHAT)[0]
    labels = [b["text"] for row in prompt.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [texts.TICKET_LEARN_SCOPE_ALL, texts.TICKET_LEARN_SCOPE_PROJECT.format(project="新材料产业园")]
    # Someone else pressing the steward's prompt changes nothing.
    await press(
        app, chat=STEWARD_CHAT, user=DEPT_MEMBER, message=as_shown(prompt, reply_to=command), data=buttons(prompt)[1]
    )
    assert_refused(app)
    await press(
        app, chat=STEWARD_CHAT, user=STEWARD, message=as_shown(prompt, reply_to=command), data=buttons(prompt)[1]
    )
    learned = req(app).sent("editMessageText")[-1].params["text"]
    assert says(texts.TICKET_LEARNED_FOR_PROJECT, learned, project="新材料产业园")

    # The same question in P001's group is answered; in P002's group it goes to a steward.
    await say(app, question, user=OTHER_MEMBER)
    assert "专项债储备库" in sent_to(app, HELP)[0].params["text"]
    before = len(tickets(app))
    await say(app, question, user=OTHER_MEMBER, chat=OTHER_HELP)
    assert "专项债储备库" not in str(sent_to(app, OTHER_HELP))
    assert len(tickets(app)) == before + 1

    # An answer learned for every project answers everywhere, after a restart too.
    general = "社保缴费基数每年什么时候调整？"
    other_id, _ = await handoff(app, general, chat=OTHER_HELP)
    await say(app, "每年七月调整一次。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, other_id))
    await learn(app, other_id, scope=0)
    assert services(app).knowledge.learned.candidates(general)[0].entry.project_code is None
    services(app).knowledge.learned.__init__()  # forget the index: what a restart does
    assert await services(app).knowledge.load_learned() == 2
    for chat in (HELP, OTHER_HELP):
        await say(app, general, user=NEWCOMER, chat=chat)
        assert "每年七月" in sent_to(app, chat)[0].params["text"]
    await say(app, question, user=NEWCOMER, chat=OTHER_HELP)
    assert "专项债储备库" not in str(sent_to(app, OTHER_HELP))


async def test_a_department_group_upgraded_to_a_supergroup_gets_its_open_tickets_again(app) -> None:
    """Telegram keeps a basic group's messages in the old chat: the department's cards there
    cannot be replied to from the supergroup. The binding moves, and every ticket still
    waiting on the department is posted again in the supergroup (once), where a reply answers it."""
    basic, new = -4012345680, -1001234560002
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind_dept 生态环境局", chat_type="group")
    )
    await delivered(app)
    ticket_id, _ = await handoff(app)
    await say(app, f"/escalate {ticket_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    department = tickets(app)[0].department_key
    assert department is not None and tickets(app)[0].status == "escalated"
    old_card = card(app, ticket_id, basic)
    claimed_id, _ = await handoff(app, "食品经营许可证在哪办？", user=user_id(43))
    await say(app, f"/escalate {claimed_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    await press(app, chat=basic, user=DEPT_MEMBER, message=card(app, claimed_id, basic), data=f"t:claim:{claimed_id}")
    assert tickets(app)[1].status == "claimed"  # the department holds it: still waiting on the department
    answered_id, _ = await handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await say(app, f"/escalate {answered_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    await say(app, "请到社保窗口。", user=DEPT_MEMBER, chat=basic, reply_to=card(app, answered_id, basic))
    assert tickets(app)[2].status == "answered"  # no longer waiting on the department

    req(app).clear()
    # Telegram announces the move in both chats; updates of two chats are handled at once
    await asyncio.gather(
        app.process_update(migration_update(app, old=basic, new=new, in_new=False)),
        app.process_update(migration_update(app, old=basic, new=new, in_new=True)),
    )
    await delivered(app)
    reposted = sent_to(app, new)
    req(app).clear()
    await app.process_update(migration_update(app, old=basic, new=new, in_new=True))  # again: posted once
    await delivered(app)

    db = services(app).db
    assert db.call(lambda session: department_chat_id(session=session, department_key=department)) == new
    assert new in services(app).staff_chats.departments and basic not in services(app).staff_chats.departments
    assert len(reposted) == 2 and sent_to(app, new) == []
    assert all(says(texts.DESK_ESCALATION_HEAD, r.params["text"]) for r in reposted)
    assert f"#{ticket_id}" in reposted[0].params["text"] and f"#{claimed_id}" in reposted[1].params["text"]
    department_buttons = card_markup(ticket_id, "department").to_dict()["inline_keyboard"]
    assert buttons(reposted[0]) == [b["callback_data"] for row in department_buttons for b in row]
    # The old card stays where Telegram keeps it; a reply to the new one answers the ticket.
    assert old_card["message_id"] in [c.message_id for c in db.call(ticket_cards, ticket_id=ticket_id)]
    await say(app, "请到二楼窗口办理。", user=DEPT_MEMBER, chat=new, reply_to=card(app, ticket_id, new))
    (relayed,) = sent_to(app, HELP)
    assert "二楼窗口" in relayed.params["text"]
    assert tickets(app)[0].status == "answered"


async def test_a_card_posted_again_that_never_arrives_is_told_to_the_steward_group(app, monkeypatch) -> None:
    """The department group is upgraded and the bot removed from the supergroup before its card is posted again there:
    Telegram's 403 retires the binding, and the steward group is told the card never arrived."""
    basic, new = -4012345684, -1001234560006
    ticket_id = await escalated_to_a_basic_group(app, basic)
    _fail_sends(app, monkeypatch, chat=new, status=403, times=1)
    await app.process_update(migration_update(app, old=basic, new=new, in_new=True))
    await delivered(app)
    assert [c.params.get("status") for c in sent_to(app, new)] == [403]
    (notice,) = [c for c in sent_to(app, STEWARD_CHAT) if says(texts.TICKET_ESCALATION_UNDELIVERED, c.params["text"])]
    assert notice.params["text"] == texts.TICKET_ESCALATION_UNDELIVERED.format(
        ticket_id=ticket_id, department="生态环境局"
    )
    assert new not in services(app).staff_chats.departments


async def test_a_department_card_that_finds_the_group_upgraded_brings_the_waiting_cards(app, monkeypatch) -> None:
    """The migration service message was missed: the next card sent to the department's old
    group gets Telegram's 400 naming the supergroup. It goes there, and so do the cards of the
    department's other waiting tickets, each once."""
    basic, new = -4012345681, -1001234560003
    first_id = await escalated_to_a_basic_group(app, basic)
    upgraded_to(app, monkeypatch, basic=basic, new=new)
    second_id, _ = await handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await say(app, f"/escalate {second_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    posted = [call.params["text"] for call in sent_to(app, new)]
    assert len(posted) == 2
    assert all(any(says(texts.DESK_CARD, text, ticket_id=t) for text in posted) for t in (first_id, second_id))
    department = tickets(app)[0].department_key
    assert department is not None
    assert services(app).db.call(lambda session: department_chat_id(session=session, department_key=department)) == new
    await say(app, "请到二楼窗口办理。", user=DEPT_MEMBER, chat=new, reply_to=card(app, first_id, new))
    assert len(sent_to(app, HELP)) == 1 and tickets(app)[0].status == "answered"


async def test_an_announcement_handled_while_the_card_is_in_flight_posts_it_once(app, monkeypatch) -> None:
    """Telegram's announcement is handled while the department's card is being sent to the old id (a send in flight
    is left there, and Telegram's 400 then takes it to the supergroup): the card is not owed a second time."""
    basic, new = -4012345682, -1001234560004
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind_dept 生态环境局", chat_type="group")
    )
    await delivered(app)
    ticket_id, _ = await handoff(app)
    announced: list[int] = []

    async def announce() -> None:  # while the card's send to the old id is in flight
        announced.append(basic)
        await app.process_update(migration_update(app, old=basic, new=new, in_new=True))

    upgraded_to(app, monkeypatch, basic=basic, new=new, first_refusal=announce)
    await say(app, f"/escalate {ticket_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    assert announced == [basic]
    cards = [c for c in sent_to(app, new) if says(texts.DESK_ESCALATION_HEAD, c.params["text"])]
    assert len(cards) == 1


async def test_a_card_the_old_group_got_just_before_the_upgrade_is_posted_again(app, monkeypatch) -> None:
    """The department's card reaches the old group, and the move is announced (its cards claimed) before the send's
    outcome is recorded: the card, recorded in the old chat where no reply reaches, is owed again in the supergroup."""
    from desk.tickets import ticket_cards

    basic, new = -4012345685, -1001234560007
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind_dept 生态环境局", chat_type="group")
    )
    await delivered(app)
    ticket_id, _ = await handoff(app)
    request = req(app)
    answer = request.do_request
    announced: list[int] = []

    async def then_upgraded(url, method, request_data=None, **kw):
        params = request_data.parameters if request_data else {}
        reply = await answer(url, method, request_data, **kw)
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) == basic and not announced:
            announced.append(basic)
            await app.process_update(migration_update(app, old=basic, new=new, in_new=True))
        return reply

    monkeypatch.setattr(request, "do_request", then_upgraded)
    await say(app, f"/escalate {ticket_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    assert announced == [basic]
    (again,) = [c for c in sent_to(app, new) if says(texts.DESK_ESCALATION_HEAD, c.params["text"])]
    assert new in [c.chat_id for c in services(app).db.call(ticket_cards, ticket_id=ticket_id)]
    await say(app, "请到二楼窗口办理。", user=DEPT_MEMBER, chat=new, reply_to=card(app, ticket_id, new))
    assert tickets(app)[0].status == "answered"


async def test_a_move_the_sender_met_is_followed_later_when_its_follow_up_failed(app, monkeypatch) -> None:
    """The sender records the move with Telegram's 400, and the follow-up that posts the cards left behind fails (the
    database, a stop): the move stays unclaimed, and the next run of the follow-up of unfollowed moves posts the
    department's other waiting card in the supergroup, once."""
    from sqlalchemy.exc import OperationalError

    from desk.models import ChatMove
    from handlers import tickets_common

    basic, new = -4012345683, -1001234560005
    first_id = await escalated_to_a_basic_group(app, basic)
    upgraded_to(app, monkeypatch, basic=basic, new=new)
    real = tickets_common.repost_left_cards
    failed: list[int] = []

    async def fails_once(context, old_chat_id, new_chat_id):
        if not failed:
            failed.append(old_chat_id)
            raise OperationalError("UPDATE desk_chat_move", {}, Exception("database gone for a moment"))
        await real(context, old_chat_id, new_chat_id)

    monkeypatch.setattr(tickets_common, "repost_left_cards", fails_once)
    second_id, _ = await handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await say(app, f"/escalate {second_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    assert failed == [basic]
    posted = [call.params["text"] for call in sent_to(app, new)]
    assert len(posted) == 1 and says(texts.DESK_CARD, posted[0], ticket_id=second_id)
    move = services(app).db.call(lambda session: session.get(ChatMove, basic))
    assert move is not None and move.cards_reposted_at is None

    req(app).clear()
    context = ContextTypes.DEFAULT_TYPE(app)
    assert await tickets_common.follow_unfollowed_moves(context) == 1
    await delivered(app)
    (reposted,) = sent_to(app, new)
    assert says(texts.DESK_CARD, reposted.params["text"], ticket_id=first_id)
    assert await tickets_common.follow_unfollowed_moves(context) == 0  # claimed: not again
    await say(app, "请到二楼窗口办理。", user=DEPT_MEMBER, chat=new, reply_to=card(app, first_id, new))
    assert tickets(app)[0].status == "answered"


async def escalated_to_a_basic_group(app, basic: int) -> int:
    """生态环境局 bound to the basic group `basic`, and a new ticket escalated to it (its card sent there); its id."""
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind_dept 生态环境局", chat_type="group")
    )
    await delivered(app)
    ticket_id, _ = await handoff(app)
    await say(app, f"/escalate {ticket_id} 生态环境局", user=STEWARD, chat=STEWARD_CHAT)
    return ticket_id


def upgraded_to(
    app,
    monkeypatch,
    *,
    basic: int,
    new: int,
    refused: list[int] | None = None,
    first_refusal: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """From now on Telegram refuses sends to the group `basic`: it became supergroup `new` (each refusal is appended
    to `refused`: the recording request never sees them; `first_refusal` is awaited before the first is answered)."""
    request = req(app)
    answer = request.do_request
    pending = [first_refusal] if first_refusal is not None else []

    async def upgraded(url, method, request_data=None, **kw):
        params = request_data.parameters if request_data else {}
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) == basic:
            if refused is not None:
                refused.append(basic)
            if pending:
                await pending.pop()()
            return 400, json.dumps(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": new},
                }
            ).encode()
        return await answer(url, method, request_data, **kw)

    monkeypatch.setattr(request, "do_request", upgraded)


async def test_a_relay_that_finds_the_group_upgraded_follows_it(app, monkeypatch) -> None:
    """The migration service message was missed: Telegram's 400 names the supergroup."""
    basic, new = -4012345679, -1001234560001
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ADMIN, text="/bind P001", chat_type="group")
    )
    await delivered(app)
    await app.process_update(
        message_update(app.bot, chat_id=basic, user_id=ASKER, text=OUT_OF_SCOPE, chat_type="group")
    )
    await delivered(app)
    ticket_id = tickets(app)[-1].id
    assert ticket_id is not None
    upgraded_to(app, monkeypatch, basic=basic, new=new)
    await say(app, "请到市场监管局窗口办理。", user=STEWARD, chat=STEWARD_CHAT, reply_to=card(app, ticket_id))
    (relayed,) = sent_to(app, new)
    assert "市场监管局" in relayed.params["text"]
    assert sent_to(app, STEWARD_CHAT)[0].params["text"].startswith("✅")
    assert tickets(app)[-1].help_chat_id == new and tickets(app)[-1].status == "answered"
    assert services(app).db.call(help_project, chat_id=new) == "P001"


# --------------------------------------------------------------------------- the steward and lead groups upgraded

OLD_STEWARD_CHAT, NEW_STEWARD_CHAT = -4012345690, -1001234560010  # a basic group's id, then its supergroup's
OLD_LEAD_CHAT, NEW_LEAD_CHAT = -4012345691, -1001234560011
NEW_STEWARD = 6_000_000_012  # never seen before the move


@pytest.fixture
async def basic_groups_app(settings, clock):
    """The steward and lead groups of the settings are still basic groups."""
    settings = settings.model_copy(
        update={"steward_chat_id": OLD_STEWARD_CHAT, "lead_chat_id": OLD_LEAD_CHAT, "admin_user_ids": [ADMIN]}
    )
    async with recorded_application(settings, clock) as application:
        application.bot_data["services"].db.call(lambda session: session.add(base_project()))
        await say(application, "/bind P001", user=ADMIN)
        await say(application, "/bind_dept 发改委", user=ADMIN, chat=DEPT_CHAT)
        yield application


async def test_the_steward_and_lead_groups_upgraded_to_supergroups_are_followed_there(
    basic_groups_app, clock, monkeypatch, caplog
) -> None:
    """STEWARD_CHAT_ID and LEAD_CHAT_ID still name the basic groups: the move is recorded and the settings' ids are
    resolved through it, so the supergroups are the steward and lead groups (roles, buttons, commands), the cards,
    alerts and the messages already owed go there without a call to the old ids, and the advice to update the
    settings is logged once."""
    from bot.jobs.sla_job import run_sweep
    from bot.sender import sender_of

    app = basic_groups_app
    first_id, _ = await handoff(app)
    assert len(sent_to(app, OLD_STEWARD_CHAT)) == 1  # its card, in the basic group
    refused: list[int] = []  # Telegram refuses the old ids now
    upgraded_to(app, monkeypatch, basic=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, refused=refused)
    upgraded_to(app, monkeypatch, basic=OLD_LEAD_CHAT, new=NEW_LEAD_CHAT, refused=refused)
    await sender_of(app).stop()  # the next card stays owed to the old id while the move is announced
    req(app).clear()
    await app.process_update(
        message_update(app.bot, chat_id=HELP, user_id=OTHER_MEMBER, text="社保怎么交？", date=int(clock().timestamp()))
    )
    second_id = tickets(app)[-1].id
    assert second_id is not None and second_id != first_id
    caplog.set_level("WARNING", logger="bot.services")
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=False))
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True))
    await app.process_update(migration_update(app, old=OLD_LEAD_CHAT, new=NEW_LEAD_CHAT, in_new=True))
    await delivered(app)

    assert refused == []  # the card owed to the old id went straight to the supergroup, no call wasted
    # and the first ticket's card, left in the basic group where no button or reply reaches, is posted again there
    # (once, though the move was announced twice)
    cards = sent_to(app, NEW_STEWARD_CHAT)
    assert len(cards) == 2
    assert sorted(says(texts.DESK_CARD, c.params["text"], ticket_id=first_id) for c in cards) == [False, True]
    assert any(says(texts.DESK_CARD, c.params["text"], ticket_id=second_id) for c in cards)

    # A steward never seen before, in the supergroup: a steward (buttons on the card, commands, replies).
    await press(
        app,
        chat=NEW_STEWARD_CHAT,
        user=NEW_STEWARD,
        message=card(app, second_id, NEW_STEWARD_CHAT),
        data=f"t:claim:{second_id}",
    )
    assert alert(app).params.get("show_alert") is not True
    assert tickets(app)[1].status == "claimed" and tickets(app)[1].assignee_user_id == NEW_STEWARD
    await say(app, f"/escalate {first_id} 发改委", user=NEW_STEWARD, chat=NEW_STEWARD_CHAT)
    assert tickets(app)[0].status == "escalated"
    assert says(texts.DESK_ESCALATION_HEAD, sent_to(app, DEPT_CHAT)[0].params["text"])
    # The asker follows up on the first ticket, whose card was posted again in the supergroup: the notice quotes it
    # there, with no call to the old id.
    await say(app, "请问还要多久才有答复？")
    (notice,) = sent_to(app, NEW_STEWARD_CHAT)
    assert says(texts.DESK_FOLLOW_UP_NOTICE, notice.params["text"], ticket_id=first_id)
    reposted = card(app, first_id, NEW_STEWARD_CHAT)
    assert notice.params["reply_parameters"]["message_id"] == reposted["message_id"] and refused == []
    await say(
        app,
        "请到社保窗口办理。",
        user=NEW_STEWARD,
        chat=NEW_STEWARD_CHAT,
        reply_to=card(app, second_id, NEW_STEWARD_CHAT),
    )
    assert "社保窗口" in sent_to(app, HELP)[0].params["text"]
    assert tickets(app)[1].status == "answered"
    # The lead group's supergroup is a staff group too.
    await say(app, "/stats", user=ADMIN, chat=NEW_LEAD_CHAT)
    assert sent_to(app, NEW_LEAD_CHAT) and sent_to(app, NEW_LEAD_CHAT)[0].params["text"] != texts.TICKET_STAFF_ONLY

    # The clock's alerts: to the supergroups, none to the old ids.
    req(app).clear()
    clock.advance(hours=3)
    alerts = await run_sweep(app.bot, services(app))
    await delivered(app)
    assert [a.ticket.id for a in alerts] == [first_id]
    assert any(says(texts.DESK_BREACH_ALERT, c.params["text"], ticket_id=first_id) for c in sent_to(app, NEW_LEAD_CHAT))
    assert sent_to(app, DEPT_CHAT)  # the department holding it is told as well
    assert refused == []
    # The advice to update the settings, once each (not per announcement, message or reload).
    advice = [r.getMessage() for r in caplog.records if "STEWARD_CHAT_ID" in r.getMessage()]
    assert len(advice) == 1 and f"STEWARD_CHAT_ID={NEW_STEWARD_CHAT}" in advice[0]
    assert len([r for r in caplog.records if "LEAD_CHAT_ID" in r.getMessage()]) == 1

    from desk.bindings import chat_moves  # recorded: a restart, or another process, follows them too

    moves = services(app).db.call(chat_moves)
    assert moves == {OLD_STEWARD_CHAT: NEW_STEWARD_CHAT, OLD_LEAD_CHAT: NEW_LEAD_CHAT}


async def test_the_steward_groups_cards_of_tickets_in_progress_are_posted_again_in_its_supergroup_once(
    basic_groups_app,
) -> None:
    """The steward group became a supergroup: the cards of the tickets still in progress (open, claimed) are posted
    again there, each once though Telegram announces the move in both chats at once; a closed ticket's is not. A
    steward presses the new card, and it works."""
    app = basic_groups_app
    open_id, _ = await handoff(app)
    claimed_id, _ = await handoff(app, "食品经营许可证在哪办？", user=user_id(43))
    closed_id, _ = await handoff(app, "社保怎么交？", user=OTHER_MEMBER)
    await press(
        app,
        chat=OLD_STEWARD_CHAT,
        user=STEWARD,
        message=card(app, claimed_id, OLD_STEWARD_CHAT),
        data=f"t:claim:{claimed_id}",
    )
    await press(
        app,
        chat=OLD_STEWARD_CHAT,
        user=STEWARD,
        message=card(app, closed_id, OLD_STEWARD_CHAT),
        data=f"t:close:{closed_id}",
    )
    assert [t.status for t in tickets(app)] == ["open", "claimed", "closed"]

    req(app).clear()
    await asyncio.gather(
        app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=False)),
        app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True)),
    )
    await delivered(app)
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True))
    await delivered(app)

    reposted = sent_to(app, NEW_STEWARD_CHAT)
    assert [t for t in (open_id, claimed_id, closed_id) if any(f"#{t}" in c.params["text"] for c in reposted)] == [
        open_id,
        claimed_id,
    ]
    assert len(reposted) == 2 and sent_to(app, OLD_STEWARD_CHAT) == []
    assert buttons(reposted[0]) == [f"t:claim:{open_id}", f"t:escalate:{open_id}", f"t:close:{open_id}"]
    await press(
        app,
        chat=NEW_STEWARD_CHAT,
        user=STEWARD,
        message=card(app, open_id, NEW_STEWARD_CHAT),
        data=f"t:claim:{open_id}",
    )
    assert tickets(app)[0].status == "claimed" and tickets(app)[0].assignee_user_id == STEWARD


async def test_a_move_only_the_sender_met_brings_the_steward_cards(basic_groups_app, monkeypatch):
    """The sender meets the move first (a follow-up notice to the old steward group gets Telegram's 400, and goes to
    the supergroup): the ticket gets its card again, with its buttons, in the supergroup at once, without waiting
    for Telegram's announcement (which may never come). The announcement then posts nothing twice (the notice is
    recorded as a card there, and does not count as one)."""
    app = basic_groups_app
    ticket_id, _ = await handoff(app)
    upgraded_to(app, monkeypatch, basic=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT)
    await say(app, "请问还要多久才有答复？")
    notice, reposted = sent_to(app, NEW_STEWARD_CHAT)
    assert says(texts.DESK_FOLLOW_UP_NOTICE, notice.params["text"], ticket_id=ticket_id)
    assert says(texts.DESK_CARD, reposted.params["text"], ticket_id=ticket_id)
    assert buttons(reposted) == [f"t:claim:{ticket_id}", f"t:escalate:{ticket_id}", f"t:close:{ticket_id}"]
    assert services(app).staff_chats.steward_chat_id == NEW_STEWARD_CHAT
    req(app).clear()
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=False))
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True))
    await delivered(app)
    assert sent_to(app, NEW_STEWARD_CHAT) == []
    await press(
        app,
        chat=NEW_STEWARD_CHAT,
        user=STEWARD,
        message=card(app, ticket_id, NEW_STEWARD_CHAT),
        data=f"t:claim:{ticket_id}",
    )
    assert tickets(app)[0].status == "claimed"


async def test_a_former_steward_group_bound_as_a_department_gets_no_steward_cards_when_upgraded(
    basic_groups_app, settings, clock
) -> None:
    """STEWARD_CHAT_ID now names another group; the former steward group, still holding a ticket's card, is a
    department group and is upgraded: no steward card goes to the department's supergroup."""
    first = basic_groups_app
    ticket_id, _ = await handoff(first)
    moved = settings.model_copy(
        update={"steward_chat_id": STEWARD_CHAT, "lead_chat_id": OLD_LEAD_CHAT, "admin_user_ids": [ADMIN]}
    )
    async with recorded_application(moved, clock) as app:
        await say(app, "/bind_dept 生态环境局", user=ADMIN, chat=OLD_STEWARD_CHAT)
        req(app).clear()
        await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=False))
        await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True))
        await delivered(app)
        assert not any(
            says(texts.DESK_CARD, c.params["text"], ticket_id=ticket_id) for c in sent_to(app, NEW_STEWARD_CHAT)
        )


async def test_a_card_sent_after_its_ticket_changed_is_brought_up_to_date(basic_groups_app, clock) -> None:
    """The steward group's move is announced while the sender is stopped: the answered ticket's card is owed to the
    supergroup showing 「已答复」; the asker's reply reopens the ticket before it is sent. Once sent, the card is
    edited to show the ticket as it is."""
    from bot.sender import sender_of

    app = basic_groups_app
    ticket_id, _ = await handoff(app)
    await say(
        app,
        "请到市场监管局窗口办理。",
        user=STEWARD,
        chat=OLD_STEWARD_CHAT,
        reply_to=card(app, ticket_id, OLD_STEWARD_CHAT),
    )
    assert tickets(app)[0].status == "answered"
    (relay,) = sent_to(app, HELP)
    await sender_of(app).stop()
    req(app).clear()
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=False))
    await app.process_update(migration_update(app, old=OLD_STEWARD_CHAT, new=NEW_STEWARD_CHAT, in_new=True))
    await app.process_update(
        message_update(
            app.bot,
            chat_id=HELP,
            user_id=ASKER,
            text="还是不行，窗口说不收",
            reply_to=as_shown(relay),
            date=int(clock().timestamp()),
        )
    )
    await delivered(app)
    assert tickets(app)[0].status == "open"
    (sent,) = [
        c for c in sent_to(app, NEW_STEWARD_CHAT) if says(texts.DESK_CARD, c.params["text"], ticket_id=ticket_id)
    ]
    assert texts.DESK_STATUS["answered"] in sent.params["text"]  # as owed
    edits = [c for c in req(app).sent("editMessageText") if int(c.params["chat_id"]) == NEW_STEWARD_CHAT]
    assert edits and texts.DESK_STATUS["open"] in edits[-1].params["text"]


# --------------------------------------------------------------------------- two escalations at once

ECO_CHAT = -1001234560020


async def test_an_escalation_that_loses_to_one_made_at_the_same_moment_says_so_and_posts_nothing(
    app, monkeypatch
) -> None:
    """Another steward's re-escalation (through another worker) is committed between this press's read of the
    ticket and its write: the press changes nothing, posts no card, and its alert says where the ticket went."""
    from desk import tickets as desk_tickets
    from handlers.tickets_common import chooser_markup, department_key

    await say(app, "/bind_dept 生态环境局", user=ADMIN, chat=ECO_CHAT)
    ticket_id, _ = await handoff(app)
    await say(app, f"/escalate {ticket_id} 发改委", user=STEWARD, chat=STEWARD_CHAT)
    names = {k: d.name for k, d in services(app).knowledge.kb.departments.items()}
    ecology, water = department_key(services(app), "生态环境局"), department_key(services(app), "水利局")
    assert ecology and water
    original = desk_tickets.bindings.department_chat_id

    def meanwhile(*, session, department_key):
        # what the other worker committed after this transaction read the ticket (escalated to 发改委)
        moved = update(Ticket).where(col(Ticket.id) == ticket_id).values(department_key=water)
        session.execute(moved.execution_options(synchronize_session=False))  # this transaction's read stays as it was
        return original(session=session, department_key=department_key)

    monkeypatch.setattr(desk_tickets.bindings, "department_chat_id", meanwhile)
    chooser = card(app, ticket_id, with_buttons=False)  # the card showing the departments to choose from
    chooser["reply_markup"] = chooser_markup(ticket_id, (ecology, water), names).to_dict()
    await press(app, chat=STEWARD_CHAT, user=STEWARD, message=chooser, data=f"t:escalate:{ticket_id}:{ecology}")
    refusal = alert(app)
    assert says(texts.DESK_ERR_CHANGED_DEPARTMENT, refusal.params["text"], ticket_id=ticket_id, department=names[water])
    assert sent_to(app, ECO_CHAT) == []
    assert [c.method for c in req(app).calls] == ["answerCallbackQuery"]
    assert events(app, ticket_id).count("escalate") == 1


async def test_a_code_bound_as_typed_is_the_code_the_ledger_import_stores(app) -> None:
    """The import folds full-width characters and drops blanks inside a code; /bind reads it the same way, so a code
    typed on a phone with full-width digits or a stray space binds the project rather than being unknown."""
    third = -1001234567899
    await say(app, "/bind Ｐ0 02", user=ADMIN, chat=third)
    (reply,) = req(app).sent()
    assert says(texts.DESK_BOUND_HELP, reply.params["text"], project="物流园")
