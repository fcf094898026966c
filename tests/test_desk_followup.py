"""Follow-ups from the same asker attach to their open ticket and reach whoever holds it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk import tickets
from desk.models import TicketStatus
from tests.desk_helpers import (
    ASKER,
    DEPT_CHAT,
    HELP_CHAT,
    HOURS,
    OTHER_ASKER,
    OTHER_DEPT_CHAT,
    OTHER_HELP_CHAT,
    STEWARD_CHAT,
    at,
    make_world,
)

NOW = at(3, 2, 10, 0)


@pytest.fixture
def world(database):
    return make_world(database, NOW)


def _ticket(world, asker=ASKER, chat=HELP_CHAT):
    return world.db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=chat,
        asker_user_id=asker,
        asker_name="张经理",
        help_message_id=100,
        help_thread_id=7,
        question="施工许可要什么？",
    )


def _follow(world, text, asker=ASKER, chat=HELP_CHAT, minutes=1.0):
    return world.db.call(
        tickets.attach_follow_up,
        help_chat_id=chat,
        asker_user_id=asker,
        text=text,
        now=world.clock.advance(minutes),
        message_id=101,
        asker_name="张经理",
    )


def test_follow_up_reaches_the_current_holders(world) -> None:
    t = _ticket(world)
    db, now = world.db, world.clock.now
    db.call(tickets.record_card, ticket_id=t.id, chat_id=STEWARD_CHAT, message_id=1, kind="steward", now=now)
    db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=now)
    fu = _follow(world, "还要图纸吗？")
    assert fu is not None and fu.ticket.id == t.id and not fu.reopened
    assert fu.holder_user_id == world.steward.user_id
    assert [(n.chat_id, n.reply_to_message_id) for n in fu.notify] == [(STEWARD_CHAT, 1)]
    assert fu.message.text == "还要图纸吗？" and fu.message.direction == "in"

    db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=world.clock.now
    )
    db.call(
        tickets.record_card, ticket_id=t.id, chat_id=DEPT_CHAT, message_id=2, kind="department", now=world.clock.now
    )
    db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=world.clock.now)
    db.call(
        tickets.record_card,
        ticket_id=t.id,
        chat_id=OTHER_DEPT_CHAT,
        message_id=3,
        kind="department",
        now=world.clock.now,
    )
    db.call(
        tickets.record_card, ticket_id=t.id, chat_id=STEWARD_CHAT, message_id=4, kind="steward", now=world.clock.now
    )  # e.g. the warning, posted later
    fu = _follow(world, "急！")
    assert fu is not None and fu.holder_user_id is None  # the department holds it now
    # Newest card per chat; the department it left is not told.
    assert sorted((n.chat_id, n.reply_to_message_id) for n in fu.notify) == sorted(
        [(STEWARD_CHAT, 4), (OTHER_DEPT_CHAT, 3)]
    )
    thread = db.call(tickets.ticket_thread, ticket_id=t.id)
    assert [m.text for m in thread] == ["施工许可要什么？", "还要图纸吗？", "急！"]
    # The follow-up does not move the deadline.
    assert db.call(tickets.get_ticket, ticket_id=t.id).sla_due_at == t.sla_due_at


def test_other_askers_and_other_groups_are_not_attached(world) -> None:
    _ticket(world)
    assert _follow(world, "我也想问", asker=OTHER_ASKER) is None
    assert _follow(world, "别的群", chat=OTHER_HELP_CHAT) is None


def test_follow_up_after_an_answer_reopens_within_the_window(world) -> None:
    t = _ticket(world)
    relay = world.db.call(
        tickets.answer, ticket_id=t.id, actor=world.steward, text="要以下材料…", now=world.clock.advance(5)
    )
    assert (relay.help_chat_id, relay.reply_to_message_id, relay.thread_id) == (HELP_CHAT, 100, 7)
    fu = _follow(world, "那第3项去哪开？", minutes=60)
    assert fu is not None and fu.reopened and fu.ticket.status is TicketStatus.open
    assert fu.holder_user_id == world.steward.user_id  # the one who answered keeps it
    again = world.db.call(
        tickets.answer, ticket_id=t.id, actor=world.steward, text="去大厅", now=world.clock.advance(3)
    )
    assert not again.first_response
    # A day later the same person asks again: that is a new question, not a follow-up.
    assert _follow(world, "新问题", minutes=24 * 60 + 1) is None


def test_no_follow_up_after_resolve(world) -> None:
    t = _ticket(world)
    world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="a", now=world.clock.advance(1))
    world.db.call(tickets.resolve, ticket_id=t.id, actor=world.steward, now=world.clock.advance(1))
    assert _follow(world, "谢谢") is None


def test_follow_up_goes_to_the_newest_waiting_ticket(world) -> None:
    first = _ticket(world)
    world.clock.advance(2)
    second = _ticket(world)
    fu = _follow(world, "补充")
    assert fu is not None and fu.ticket.id == second.id != first.id
    view = world.db.call(
        tickets.open_ticket_for_asker,
        help_chat_id=HELP_CHAT,
        asker_user_id=ASKER,
        now=world.clock.now,
        reopen_window=timedelta(0),
    )
    assert view is not None and view.id == second.id


def test_card_lookup_finds_the_ticket(world) -> None:
    t = _ticket(world)
    world.db.call(
        tickets.record_card, ticket_id=t.id, chat_id=STEWARD_CHAT, message_id=55, kind="steward", now=world.clock.now
    )
    found = world.db.call(tickets.find_ticket_by_card, chat_id=STEWARD_CHAT, message_id=55)
    assert found is not None and found.id == t.id
    assert world.db.call(tickets.find_ticket_by_card, chat_id=STEWARD_CHAT, message_id=56) is None
    assert world.db.call(tickets.find_ticket_by_card, chat_id=DEPT_CHAT, message_id=55) is None
    cards = world.db.call(tickets.ticket_cards, ticket_id=t.id)
    assert [(c.chat_id, c.message_id, c.kind) for c in cards] == [(STEWARD_CHAT, 55, "steward")]
