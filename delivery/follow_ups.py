"""What the desk and the reminders do when an owed message reaches its final outcome; runs in
the transaction that records the outcome (delivery.outbox.finish). Importing this module
registers them (bot/sender.py does)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from delivery.outbox import (
    POSTED_PARTS,
    DeliveryOutcome,
    OutboxMessage,
    Owed,
    enqueue_all,
    on_chat_gone,
    on_chat_moved,
    on_outcome,
)
from desk import bindings, tickets
from desk.models import ACTIVE_STATUSES, WAITING_STATUSES, CardKind, ChatMove, Ticket
from scheduler.models import mark_failed, mark_sent


@on_chat_gone
def _chat_gone(session: Session, chat_id: int, now: datetime) -> None:
    """Telegram said 403: retire the chat's binding, so broadcasts skip it."""
    bindings.mark_chat_gone(session=session, chat_id=chat_id, now=now)


@on_chat_moved
def _chat_moved(session: Session, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
    """A group became a supergroup: its binding, tickets and reminders move with it."""
    bindings.migrate_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id, now=now)


@on_outcome("card")
def _card(session: Session, outcome: DeliveryOutcome, now: datetime) -> None:
    """A card (or alert) posted in a staff chat: a reply to any of its parts answers the ticket. A card that finally
    did not reach its chat owes the notice it carries (an escalation card: to the steward who escalated it), while
    the ticket still waits on that department."""
    notice = outcome.follow_up.get("undelivered")
    department = outcome.follow_up.get("department_key")
    if not outcome.sent and notice and _still_with(session, outcome.ticket_id, department):
        owed = Owed(int(notice["chat_id"]), dict(notice["payload"]), "card_undelivered", ticket_id=outcome.ticket_id)
        enqueue_all(session=session, owed=[owed], now=now)
    if outcome.sent and outcome.ticket_id is not None:
        _owe_again_if_left_behind(session, outcome, now)
        for message_id in outcome.message_ids or ((outcome.message_id,) if outcome.message_id else ()):
            tickets.record_card(
                session=session,
                ticket_id=outcome.ticket_id,
                chat_id=outcome.chat_id,
                message_id=message_id,
                kind=outcome.follow_up["card_kind"],
                now=now,
                department_key=outcome.follow_up.get("department_key"),
            )


def _owe_again_if_left_behind(session: Session, outcome: DeliveryOutcome, now: datetime) -> None:
    """A card that reached a group whose move to a supergroup was claimed already (it was sent just before the
    upgrade, and its outcome recorded after the cards left there were posted again, without it): the same card is
    owed again in the supergroup, where a reply or a press reaches, while it is still the ticket's card to show."""
    move = session.get(ChatMove, outcome.chat_id)
    if move is None or move.cards_reposted_at is None:
        return
    ticket = session.get(Ticket, outcome.ticket_id)
    row = session.get(OutboxMessage, outcome.id)
    if ticket is None or row is None:
        return
    if outcome.follow_up.get("card_kind") == CardKind.department.value:
        shown = _waits_on(ticket, outcome.follow_up.get("department_key"))
    else:
        shown = ticket.status in ACTIVE_STATUSES
    if shown:
        payload = {k: v for k, v in row.payload.items() if k != POSTED_PARTS}
        again = Owed(move.new_chat_id, payload, outcome.purpose, ticket_id=ticket.id, follow_up=outcome.follow_up)
        enqueue_all(session=session, owed=[again], now=now)


def _still_with(session: Session, ticket_id: int | None, department_key: str | None) -> bool:
    """Whether the ticket still waits on that department: a notice that its card never arrived says to escalate it
    elsewhere or answer it, which is moot once it is closed, answered or with another department."""
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    return ticket is not None and _waits_on(ticket, department_key)


def _waits_on(ticket: Ticket, department_key: str | None) -> bool:
    return ticket.department_key == department_key and ticket.status in WAITING_STATUSES


@on_outcome("relay")
def _relay(session: Session, outcome: DeliveryOutcome, now: datetime) -> None:
    """A relayed answer reached the help group, or finally did not (the clock runs on)."""
    assert outcome.ticket_id is not None
    tickets.record_delivery(
        session=session,
        ticket_id=outcome.ticket_id,
        message_id=int(outcome.follow_up["message_row"]),
        now=now,
        delivered=outcome.sent,
        help_message_id=outcome.message_id,
        error=outcome.reason,
        bot_removed=outcome.chat_gone,
        first_response=bool(outcome.follow_up.get("first_response")),
    )


@on_outcome("reminder")
def _reminder(session: Session, outcome: DeliveryOutcome, now: datetime) -> None:
    key = str(outcome.follow_up["key"])
    if outcome.sent:
        mark_sent(session=session, key=key, now=now)
    else:
        mark_failed(session=session, key=key, now=now, error=outcome.reason or "failed")
