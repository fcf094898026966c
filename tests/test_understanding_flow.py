"""Understanding in Telegram, as a conversation through the real Application (process_update):
follow-ups in context (also across a restart), several asks in one message, and a waiting ticket
that keeps only what the bot cannot answer."""

from __future__ import annotations

import pytest

import texts
from bot.app import build_application
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
    # And so does a reply to the bot, even one the knowledge base could answer.
    ack = bot_message(BOT_USER, chat_id=HELP, message_id=7000, text=texts.HANDOFF_ACK.format(minutes="30"))
    await _say(app, "施工许可要什么材料", reply_to=ack)
    assert _answer(app) == texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket_id)


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
