"""What the desk and the reminders do when an owed message reaches its final outcome; runs in
the transaction that records the outcome (delivery.outbox.finish). Importing this module
registers them (bot/sender.py does)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from delivery.outbox import (
    DeliveryOutcome,
    Owed,
    enqueue_all,
    message_payload,
    on_chat_gone,
    on_chat_moved,
    on_outcome,
)
from desk import bindings, tickets
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
    did not reach its chat owes the notice it carries (an escalation card: to the steward who escalated it)."""
    notice = outcome.follow_up.get("undelivered")
    if not outcome.sent and notice:
        owed = Owed(
            int(notice["chat_id"]),
            message_payload(str(notice["text"])),
            "card_undelivered",
            ticket_id=outcome.ticket_id,
        )
        enqueue_all(session=session, owed=[owed], now=now)
    if outcome.sent and outcome.ticket_id is not None:
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
