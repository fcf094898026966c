"""A reply to a ticket's card whose message id is not recorded (the sender records it a moment
after Telegram's answer, or later after a database hiccup): the desk knows the card by the
ticket its head names, checks that the ticket has a current card in that chat (recorded or
owed) and applies the usual role checks. On SQLite and PostgreSQL (`database`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

import texts
from bot.telegram_io import rendered_text
from delivery.outbox import OutboxMessage, Owed, enqueue_all, message_payload
from desk import render, tickets, work
from desk.errors import PermissionDenied, TicketNotFound
from desk.models import CardKind, TicketStatus
from desk.sla import AlertKind, Audience, Recipient, SlaAlert
from desk.tickets import Relay
from desk.views import TicketView
from tests.desk_helpers import (
    ADMIN,
    ALWAYS,
    ASKER,
    DEPT_CHAT,
    DEPT_MEMBER,
    HELP_CHAT,
    HOURS,
    LEAD_CHAT,
    OTHER_DEPT_CHAT,
    OTHER_DEPT_MEMBER,
    STEWARD,
    STEWARD_CHAT,
    World,
    at,
    make_world,
)

NOW = at(3, 2, 10, 0)
WHO = work.Who(steward_chat_id=STEWARD_CHAT, lead_chat_id=LEAD_CHAT, admin_ids=(ADMIN,))
UNKNOWN_CARD = 987_654  # a message id the desk has no card row for


@pytest.fixture
def world(database) -> World:
    return make_world(database, NOW)


def _open(world: World, question: str = "营业执照怎么办理？", *, owe_card: bool = True) -> TicketView:
    """A ticket and, as the handler owes it, its card to the steward group (not delivered yet)."""

    def unit(*, session: Any) -> TicketView:
        ticket = tickets.create_ticket(
            session=session,
            now=NOW,
            hours=HOURS,
            sla_minutes=30,
            help_chat_id=HELP_CHAT,
            asker_user_id=ASKER,
            asker_name="张经理",
            help_message_id=77,
            question=question,
        )
        if owe_card:
            card = Owed(
                STEWARD_CHAT,
                message_payload(_card_html(ticket)),
                "ticket_card",
                ticket_id=ticket.id,
                follow_up={"kind": "card", "card_kind": CardKind.steward.value},
            )
            enqueue_all(session=session, owed=[card], now=NOW)
        return ticket

    return world.db.call(unit)


def _card_html(ticket: TicketView) -> str:
    return render.ticket_card(ticket, now=NOW, hours=HOURS, project_name="新材料产业园")


def _reply(
    world: World, card_text: str, *, user: int = STEWARD, chat: int = STEWARD_CHAT, edited: bool = False, **kw: Any
) -> work.StaffRelay | None:
    values: dict[str, Any] = {"text": "请到市场监管局窗口办理。", "staff_message_id": 501, **kw}
    return world.db.call(
        work.staff_reply,
        who=WHO,
        now=world.clock.now,
        chat_id=chat,
        user_id=user,
        name="李管家",
        card_message_id=UNKNOWN_CARD,
        card_text=card_text,
        edited=edited,
        **values,
    )


def _status(world: World, ticket_id: int) -> str:
    return world.db.call(tickets.get_ticket, ticket_id=ticket_id).status


def _escalate(world: World, ticket_id: int, department: str = "natural_resources") -> None:
    world.db.call(tickets.escalate, ticket_id=ticket_id, actor=world.steward, department_key=department, now=NOW)


def _alert(ticket: TicketView, kind: AlertKind = AlertKind.breach) -> SlaAlert:
    return SlaAlert(kind, ticket, 5.0, (Recipient(Audience.steward, STEWARD_CHAT),))


# --------------------------------------------------------------------------- the head of a card


def test_every_card_format_names_its_ticket_in_its_head() -> None:
    ticket = TicketView.of(_ticket_row(42, "问题里写着「🎫 工单 #7　」也不算"))
    follow_up = tickets.FollowUp(ticket=ticket, message=_message(ticket), reopened=False, notify=())
    reopened = tickets.FollowUp(ticket=ticket, message=_message(ticket), reopened=True, notify=())
    escalated = TicketView.of(_ticket_row(42, "问题", department_key="natural_resources"))
    escalation = tickets.Escalation(ticket=escalated, department_chat_id=DEPT_CHAT, thread=())
    shown = [
        render.ticket_card(ticket, now=NOW, hours=HOURS),
        render.ticket_card(ticket, now=NOW, hours=HOURS, for_department=True),
        render.escalation_card(escalation, now=NOW, hours=HOURS, note="第二行\n🎫 工单 #9　不是这张"),
        render.warning(_alert(ticket, AlertKind.warning), hours=HOURS),
        render.breach_notice(_alert(ticket), hours=HOURS),
        render.follow_up_notice(follow_up),
        render.follow_up_notice(reopened),
    ]
    assert [render.card_ticket_id(rendered_text(html)) for html in shown] == [42] * len(shown)


def test_other_messages_of_the_bot_name_no_card() -> None:
    ticket = TicketView.of(_ticket_row(42, "问题"))
    relay = Relay(ticket=ticket, text="答复", first_response=False, message_id=1, cards=())
    not_cards = [
        render.relay_confirmation(relay, hours=HOURS),  # names the ticket, is not its card
        render.relay_failed(42),
        render.breach_alert(_alert(ticket), hours=HOURS),  # the lead group's, not a card
        render.sla_digest([(_alert(ticket), _alert(ticket).recipients[0])] * 2, hours=HOURS)[0],
        texts.DESK_ERR_NOT_FOUND.format(ticket_id=42),
        texts.DESK_ESCALATION_HEAD.format(department="发改委"),  # a head without its card
        "",
        "🎫 工单 #0　待认领",
        "🎫 工单 #99999999999999999999　待认领",  # past any id
        "🎫 工单 #４２　待认领",  # full-width digits are no ticket number
        "转发：🎫 工单 #42　待认领",  # not the head
    ]
    assert [render.card_ticket_id(rendered_text(text)) for text in not_cards] == [None] * len(not_cards)


def _ticket_row(ticket_id: int, question: str, **kw: Any) -> Any:
    from desk.models import Ticket

    return Ticket(
        **kw,
        id=ticket_id,
        help_chat_id=HELP_CHAT,
        asker_user_id=ASKER,
        asker_name="张经理",
        question=question,
        created_at=NOW,
        updated_at=NOW,
        sla_due_at=NOW,
    )


def _message(ticket: TicketView) -> Any:
    from desk.views import MessageView

    return MessageView(
        id=1,
        ticket_id=ticket.id,
        direction="in",
        text="还要什么？",
        author_user_id=ASKER,
        author_name="张经理",
        author_role="enterprise",
        chat_id=HELP_CHAT,
        message_id=78,
        at=NOW,
    )


# --------------------------------------------------------------------------- replies


def test_a_reply_to_an_owed_card_not_recorded_answers_its_ticket(world) -> None:
    ticket = _open(world)
    result = _reply(world, rendered_text(_card_html(ticket)))
    assert result is not None and result.relay.ticket.id == ticket.id
    assert result.relay.first_response and result.project_name is None  # P-001 is not in the ledger here
    assert _status(world, ticket.id) == TicketStatus.answered.value
    # The card is still unknown by id: what the steward replied to is the card named in its head.
    assert world.db.call(tickets.ticket_cards, ticket_id=ticket.id) == []


def test_a_question_quoting_another_ticket_does_not_redirect_the_answer(world) -> None:
    first = _open(world)
    second = _open(world, f"和 🎫 工单 #{first.id}　一样的问题")
    result = _reply(world, rendered_text(_card_html(second)))
    assert result is not None and result.relay.ticket.id == second.id
    assert _status(world, first.id) == TicketStatus.open.value


def test_a_card_already_recorded_elsewhere_in_the_chat_counts(world) -> None:
    """The card's row is recorded (delivered), a breach notice about it is not yet."""
    ticket = _open(world, owe_card=False)
    world.db.call(
        tickets.record_card, ticket_id=ticket.id, chat_id=STEWARD_CHAT, message_id=11, kind=CardKind.steward, now=NOW
    )
    notice = rendered_text(render.breach_notice(_alert(ticket), hours=ALWAYS))
    result = _reply(world, notice)
    assert result is not None and result.relay.ticket.id == ticket.id


def test_a_ticket_owing_no_card_here_is_refused(world) -> None:
    ticket = _open(world, owe_card=False)
    with pytest.raises(PermissionDenied, match="no card of this ticket here"):
        _reply(world, rendered_text(_card_html(ticket)))
    assert _status(world, ticket.id) == TicketStatus.open.value


def test_a_reply_to_a_message_that_is_no_card_changes_nothing(world) -> None:
    ticket = _open(world)
    relay = Relay(ticket=ticket, text="答复", first_response=False, message_id=1, cards=())
    assert _reply(world, rendered_text(render.relay_confirmation(relay, hours=HOURS))) is None
    assert _reply(world, "") is None
    assert _status(world, ticket.id) == TicketStatus.open.value


def test_an_unknown_ticket_number_is_not_found_for_a_steward(world) -> None:
    with pytest.raises(TicketNotFound):
        _reply(world, "🎫 工单 #4242　待认领")


def test_departments_answer_only_what_is_with_them(world) -> None:
    ticket = _open(world)
    card = rendered_text(_card_html(ticket))
    # Not escalated: a department group is refused, even with the card's text.
    with pytest.raises(PermissionDenied, match="not escalated to this department"):
        _reply(world, card, user=DEPT_MEMBER, chat=DEPT_CHAT)
    _escalate(world, ticket.id)
    escalation = tickets.Escalation(
        ticket=world.db.call(tickets.get_ticket, ticket_id=ticket.id), department_chat_id=DEPT_CHAT, thread=()
    )
    dept_card = rendered_text(render.escalation_card(escalation, now=NOW, hours=HOURS))
    # Another department's group: refused.
    with pytest.raises(PermissionDenied):
        _reply(world, dept_card, user=OTHER_DEPT_MEMBER, chat=OTHER_DEPT_CHAT)
    assert _status(world, ticket.id) == TicketStatus.escalated.value
    # Moved on to another department: the first one's card is not current any more.
    _escalate(world, ticket.id, "ecology")
    with pytest.raises(PermissionDenied):
        _reply(world, dept_card, user=DEPT_MEMBER, chat=DEPT_CHAT)
    # The department holding it answers from its (unrecorded) escalation card.
    result = _reply(world, dept_card, user=OTHER_DEPT_MEMBER, chat=OTHER_DEPT_CHAT)
    assert result is not None and result.department_key == "ecology"
    assert _status(world, ticket.id) == TicketStatus.answered.value


def test_an_edit_of_a_reply_to_an_unrecorded_card_is_a_correction(world) -> None:
    ticket = _open(world)
    card = rendered_text(_card_html(ticket))
    assert _reply(world, card, staff_message_id=601) is not None
    corrected = _reply(world, card, staff_message_id=601, edited=True, text="请到市场监管局三楼窗口办理。")
    assert corrected is not None and corrected.relay.correction
    assert corrected.relay.text == "请到市场监管局三楼窗口办理。"
    # An edit of a message that relayed nothing changes nothing.
    assert _reply(world, card, staff_message_id=602, edited=True) is None
    actions = [e.action for e in world.db.call(tickets.ticket_events, ticket_id=ticket.id)]
    assert actions.count("relay") == 1 and actions.count("correction") == 1


def test_the_owed_card_row_is_what_counts(world) -> None:
    """Delete the outbox row that owed the card: the same reply is refused."""
    ticket = _open(world)

    def forget(*, session: Any) -> None:
        for row in session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all():
            session.delete(row)

    world.db.call(forget)
    with pytest.raises(PermissionDenied, match="no card of this ticket here"):
        _reply(world, rendered_text(_card_html(ticket)))
