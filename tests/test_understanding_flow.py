"""Understanding in Telegram, as a conversation through the real Application (process_update):
follow-ups in context (also across a restart), several asks in one message, and a waiting ticket
that keeps only what the bot cannot answer."""

from __future__ import annotations

from typing import Any

import pytest

import texts
from bot.app import build_application
from desk.models import Ticket
from knowledge.context import ConversationContext
from tests import test_tickets_flow
from tests.delivery_helpers import delivered
from tests.recording_request import RecordingRequest
from tests.test_tickets_flow import (
    ASKER,
    BOT_USER,
    HELP,
    OTHER_MEMBER,
    OUT_OF_SCOPE,
    STEWARD_CHAT,
    _card,
    _handoff,
    _say,
    _sent_to,
)
from tests.updates import bot_message, message_update

app = test_tickets_flow.app  # the ticket conversation's fixture


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


def _answer(app, chat: int = HELP) -> str:
    sent = _sent_to(app, chat)
    assert len(sent) == 1, [c.params.get("text") for c in sent]
    return str(sent[0].params["text"])


async def test_a_follow_up_takes_the_item_of_the_previous_question(app) -> None:
    await _say(app, "环评要什么材料")
    assert texts.ASPECT["materials"] in _answer(app)
    await _say(app, "那得多长时间")
    answer = _answer(app)
    assert "环境影响评价" in answer and texts.ASPECT["time_limit"] in answer
    await _say(app, "去哪儿交")
    assert "环境影响评价" in _answer(app) and texts.ASPECT["department"] in _answer(app)
    # Another member of the group asking the same has no context of theirs: a steward gets it.
    await _say(app, "那得多长时间", user=OTHER_MEMBER)
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")


async def test_a_follow_up_after_an_out_of_scope_question_joins_its_ticket_not_the_earlier_item(app) -> None:
    await _say(app, "环评要什么材料")
    assert texts.ASPECT["materials"] in _answer(app)
    await _say(app, "排污许可要交哪些东西")  # another matter, which the knowledge base lacks
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")
    await _say(app, "那要多久")  # of 排污许可: its ticket gets it, no answer about 环评's time limit
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=1)


async def test_context_expires_and_lives_in_the_database(app) -> None:
    await _say(app, "节能审查要什么材料")
    rows = app.bot_data["services"].db.call(lambda session: session.query(ConversationContext).all())
    assert [(r.chat_id, r.user_id, r.item, r.intent) for r in rows] == [(HELP, ASKER, "energy_review", "materials")]
    app.bot_data["clock"].advance(minutes=11)  # CONTEXT_MINUTES defaults to 10
    await _say(app, "那要多久")
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")


async def test_context_holds_across_a_restart(settings, clock) -> None:
    first = build_application(settings, clock=clock, request=RecordingRequest(), rate_limit=False)
    await first.initialize()
    await first.process_update(message_update(first.bot, chat_id=HELP, user_id=ASKER, text="取水许可要什么材料"))
    await delivered(first)
    await first.shutdown()
    first.bot_data["services"].db.dispose()

    request = RecordingRequest()
    second = build_application(settings, clock=clock, request=request, rate_limit=False)
    await second.initialize()
    await second.process_update(message_update(second.bot, chat_id=HELP, user_id=ASKER, text="要钱吗"))
    await delivered(second)
    sent = [c.params["text"] for c in request.sent() if int(c.params["chat_id"]) == HELP]
    await second.shutdown()
    assert len(sent) == 1 and "取水许可" in sent[0] and texts.ASPECT["fee"] in sent[0]


async def test_several_asks_get_one_answer(app) -> None:
    await _say(app, "水保和林草分别几个工作日")
    answer = _answer(app)
    assert "水土保持方案审批" in answer and "林地" in answer
    assert answer.count(texts.ASPECT["time_limit"]) == 2
    await _say(app, "施工许可证在哪办,要多久")
    answer = _answer(app)
    assert texts.ASPECT["department"] in answer and texts.ASPECT["time_limit"] in answer


async def test_a_waiting_ticket_does_not_swallow_answerable_questions(app) -> None:
    ticket_id, _ = await _handoff(app, OUT_OF_SCOPE)
    # The knowledge base answers this at once, though the asker's ticket waits.
    await _say(app, "环评要什么材料")
    answer = _answer(app)
    assert texts.ASPECT["materials"] in answer and answer != texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    assert _sent_to(app, STEWARD_CHAT) == []
    # What the bot cannot answer joins the waiting ticket.
    await _say(app, "那个执照要本人去吗？")
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    assert "本人去吗" in _sent_to(app, STEWARD_CHAT)[0].params["text"]
    # And so does a reply to the ticket's acknowledgement, even one the knowledge base could answer.
    ack = _posted(app, ticket_id=ticket_id)
    await _say(app, "施工许可要什么材料", reply_to=ack)
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    # and a reply to a message of the bot not on record (a later part of a long answer, one pruned) as before
    unrecorded = bot_message(BOT_USER, chat_id=HELP, message_id=987_654, text="…")
    await _say(app, "能评要什么材料", reply_to=unrecorded)
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)


async def test_a_reply_to_the_bots_answer_is_no_follow_up_of_a_ticket_waiting_on_another_matter(app) -> None:
    ticket_id, _ = await _handoff(app, OUT_OF_SCOPE)
    await _say(app, "环评要什么材料？")
    answer = _posted(app)  # the knowledge base's answer: no ticket's
    # 「那要多久？」 replying to it asks about 环评 (its conversation), answered as if no ticket waited
    await _say(app, "那要多久？", reply_to=answer)
    reply = _answer(app)
    assert texts.ASPECT["time_limit"] in reply and reply != texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    assert _sent_to(app, STEWARD_CHAT) == []
    # and so without replying: the asker's conversation is about 环评
    await _say(app, "去哪交？")
    reply = _answer(app)
    assert texts.ASPECT["department"] in reply and reply != texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)
    assert _sent_to(app, STEWARD_CHAT) == []


async def test_a_reply_to_an_earlier_tickets_answer_joins_that_ticket_not_the_newest(app) -> None:
    first, _ = await _handoff(app, OUT_OF_SCOPE)
    await _say(
        app, "请到市场监管局窗口办理。", user=test_tickets_flow.STEWARD, chat=STEWARD_CHAT, reply_to=_card(app, first)
    )
    relayed = _posted(app, ticket_id=first)
    second, _ = await _handoff(app, "社保怎么交？")
    assert second != first
    await _say(app, "窗口周六开吗？", reply_to=relayed)
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=first)
    assert f"#{first}" in _sent_to(app, STEWARD_CHAT)[0].params["text"]
    assert test_tickets_flow._ticket(app, first).status == "open"  # answered → open again
    assert test_tickets_flow._ticket(app, second).status == "open"


def _posted(app, *, ticket_id: int | None = None) -> dict[str, Any]:
    """The bot's newest message in the help group that Telegram took (of `ticket_id`, or of none), as a message."""
    from sqlmodel import col, select

    from delivery.outbox import OutboxMessage

    def newest(session):
        rows = select(OutboxMessage).where(OutboxMessage.chat_id == HELP, col(OutboxMessage.message_id).is_not(None))
        rows = rows.where(
            OutboxMessage.ticket_id == ticket_id if ticket_id is not None else col(OutboxMessage.ticket_id).is_(None)
        )
        return session.exec(rows.order_by(col(OutboxMessage.id).desc())).first().message_id

    return bot_message(BOT_USER, chat_id=HELP, message_id=test_tickets_flow._services(app).db.call(newest), text="…")


async def test_the_item_named_next_completes_a_question_handed_off_without_one(app) -> None:
    await _say(app, "这个要多久")  # no item: a steward gets it
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")
    await _say(app, "环评的呢")  # the item it lacked: answered at once, though its ticket waits
    answer = _answer(app)
    assert "环境影响评价" in answer and texts.ASPECT["time_limit"] in answer
    # a bare name does not ask in a group: a colleague naming a procedure in passing is left alone (the learned
    # reader may take it as asking, but the bot only speaks up unasked with an answer about an aspect of an item)
    await _say(app, "环评")
    assert _sent_to(app, HELP) == []
    await _say(app, "好的 我下午把环评报告送过去")
    assert _sent_to(app, HELP) == []


async def test_a_switch_read_unsure_offers_both_items_and_a_press_answers(app) -> None:
    await _say(app, "不动产权证要带啥材料")
    assert texts.ASPECT["materials"] in _answer(app)
    question = await _say(app, "能先出个电子证照不 银行那边急着要做抵押")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    offered = [data.split(":")[1] for _, data in test_tickets_flow._buttons(prompt)[:-1]]
    assert offered == ["online_portal", "property_cert"]  # the new reading first, the earlier item beside it
    assert _sent_to(app, STEWARD_CHAT) == []  # no ticket until the asker says neither
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8101, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    await test_tickets_flow._press(
        app, chat=HELP, user=ASKER, message=shown, data=test_tickets_flow._buttons(prompt)[1][1]
    )
    edited = test_tickets_flow._req(app).sent("editMessageText")[0].params
    assert "不动产" in edited["text"]


async def test_a_follow_up_the_doubt_questions_offers_the_earlier_item_and_a_person(app) -> None:
    await _say(app, "竣工验收备案要什么材料")
    assert texts.ASPECT["materials"] in _answer(app)
    await _say(app, "燃气开户找谁")  # answered with 竣工验收备案 by the readers; the learned doubt offers it instead
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [label for label, _ in test_tickets_flow._buttons(prompt)]
    assert len(labels) == 2 and labels[-1] == texts.CLARIFY_NONE  # the earlier item, then 「都不是，转人工」
    assert _sent_to(app, STEWARD_CHAT) == []


async def test_a_follow_up_the_doubt_finds_more_likely_wrong_goes_to_a_steward(app) -> None:
    """「周六你们上不上班」 after 能评: the doubt finds the kept answer more likely wrong than right, so the bot offers no
    choice: the question is handed to a steward; the conversation stays on 能评 for the asker's next question."""
    await _say(app, "节能审查找哪个部门")
    assert texts.ASPECT["department"] in _answer(app)
    await _say(app, "周六你们上不上班")
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "周六你们上不上班" in card.params["text"]
    await _say(app, "那得多长时间")  # an answer of the knowledge base: no line of the waiting ticket
    assert texts.ASPECT["time_limit"] in _answer(app)
    assert _sent_to(app, STEWARD_CHAT) == []


async def test_the_card_of_a_follow_up_the_doubt_hands_off_names_the_earlier_item_as_such(app) -> None:
    """The conversation's item is what the asker was asking about before, not the knowledge base's guess of this
    message (the doubt finds it more likely wrong than right)."""
    await _say(app, "节能审查找哪个部门")
    await _say(app, "周六你们上不上班")
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert texts.DESK_CARD_EARLIER.format(item="节能审查") in card.params["text"]
    assert texts.DESK_CARD_CANDIDATES.format(candidates="节能审查") not in card.params["text"]


async def test_the_conversation_a_doubted_hand_off_keeps_counts_its_minutes_from_it(app) -> None:
    """The context the hand-off keeps is written again: 「那得多长时间」 11 minutes after the first answer, 2 after the
    hand-off, is still the earlier item's (as in `steward ask --batch`, which keeps no clock)."""
    clock = app.bot_data["clock"]
    await _say(app, "节能审查找哪个部门")
    clock.advance(minutes=9)
    await _say(app, "周六你们上不上班")
    assert _answer(app) == texts.HANDOFF_ACK.format(minutes="30")
    clock.advance(minutes=2)
    await _say(app, "那得多长时间")
    assert texts.ASPECT["time_limit"] in _answer(app)


async def test_a_doubted_follow_up_naming_another_item_alone_is_a_choice_and_no_second_ticket(app) -> None:
    """「取水那个也在水利局办吧？」 after 洪评: the doubt finds 洪评 more likely wrong, and the message read alone names
    取水许可: the two are offered (the bot's own reply), so a ticket waiting on another matter takes nothing and no
    second ticket opens."""
    ticket_id, _ = await _handoff(app, OUT_OF_SCOPE)
    await _say(app, "洪水影响评价要什么材料")
    assert texts.ASPECT["materials"] in _answer(app)
    await _say(app, "取水那个也在水利局办吧？")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [label for label, _ in test_tickets_flow._buttons(prompt)]
    assert "取水许可" in labels[0] and "洪水影响评价" in labels[1] and labels[-1] == texts.CLARIFY_NONE
    tickets = app.bot_data["services"].db.call(lambda session: session.query(Ticket).count())
    assert (ticket_id, tickets) == (1, 1)


async def test_a_follow_up_the_doubt_would_hand_off_is_a_choice_of_the_earlier_item_in_a_private_chat(app) -> None:
    """No person takes a private chat's question: the conversation's item is offered, one button and 「都不是」."""
    for text in ("节能审查找哪个部门", "周六你们上不上班"):
        test_tickets_flow._req(app).clear()
        await app.process_update(message_update(app.bot, chat_id=ASKER, user_id=ASKER, text=text, chat_type="private"))
        await delivered(app)
    (prompt,) = _sent_to(app, ASKER)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [label for label, _ in test_tickets_flow._buttons(prompt)]
    assert len(labels) == 2 and "节能审查" in labels[0] and labels[1] == texts.CLARIFY_NONE_PRIVATE


async def test_a_waiting_ticket_takes_a_follow_up_the_doubt_hands_off(app) -> None:
    """A follow-up the doubt hands off is something the bot cannot answer: a ticket waiting on another matter takes
    it, as it takes any question the bot cannot answer."""
    ticket_id, _ = await _handoff(app, OUT_OF_SCOPE)
    await _say(app, "节能审查找哪个部门")
    assert texts.ASPECT["department"] in _answer(app)
    await _say(app, "周六你们上不上班")
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)


async def test_a_waiting_ticket_does_not_take_a_choice_the_bot_offers_of_its_own_answers(app) -> None:
    """An answer the bot doubts (a follow-up of 竣工验收备案) or a switch it is unsure of is offered as a choice; the bot
    holds those answers, so a ticket waiting on another matter does not take them (as it does not take answers)."""
    ticket_id, _ = await _handoff(app, OUT_OF_SCOPE)
    await _say(app, "竣工验收备案要什么材料")
    assert texts.ASPECT["materials"] in _answer(app)
    await _say(app, "燃气开户找谁")
    assert _answer(app) == texts.CLARIFY_PROMPT
    await _say(app, "不动产权证要带啥材料")
    await _say(app, "能先出个电子证照不 银行那边急着要做抵押")
    assert _answer(app) == texts.CLARIFY_PROMPT
    await _say(app, "竣工验收备案要什么材料")
    await _say(app, "消防那边验收是不是得先弄完才能去备案")  # a switch the doubt questions: the two offered
    assert _answer(app) == texts.CLARIFY_PROMPT
    await _say(app, "要多久")  # no button pressed: the two offered again, not a line of the ticket
    assert _answer(app) == texts.CLARIFY_PROMPT
    assert _sent_to(app, STEWARD_CHAT) == []  # nothing added to ticket #1
    assert ticket_id == 1


async def test_a_switch_the_doubt_questions_offers_the_item_named_the_earlier_one_and_a_person(app) -> None:
    await _say(app, "竣工验收备案要什么材料")
    await _say(app, "消防那边验收是不是得先弄完才能去备案")
    (prompt,) = _sent_to(app, HELP)
    assert prompt.params["text"] == texts.CLARIFY_PROMPT
    labels = [label for label, _ in test_tickets_flow._buttons(prompt)]
    assert len(labels) == 3 and "消防验收" in labels[0] and "竣工验收备案" in labels[1]
    assert labels[-1] == texts.CLARIFY_NONE
    assert _sent_to(app, STEWARD_CHAT) == []


async def test_after_neither_of_a_choice_a_follow_up_joins_the_ticket_not_the_item_turned_down(app) -> None:
    await _say(app, "竣工验收备案要什么材料")
    question = await _say(app, "燃气开户找谁")  # doubted: 竣工验收备案 offered, beside 「都不是，转人工」
    (prompt,) = _sent_to(app, HELP)
    shown = bot_message(BOT_USER, chat_id=HELP, message_id=8201, text=texts.CLARIFY_PROMPT)
    shown["reply_to_message"] = question
    shown["reply_markup"] = prompt.params["reply_markup"]
    await test_tickets_flow._press(
        app, chat=HELP, user=ASKER, message=shown, data=test_tickets_flow._buttons(prompt)[-1][1]
    )
    (card,) = _sent_to(app, STEWARD_CHAT)
    assert "燃气开户找谁" in card.params["text"]
    await _say(app, "那要多久")  # no longer 竣工验收备案's time limit: the asker turned it down; the ticket takes it
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=1)
