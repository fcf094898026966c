"""The first-response clock. A sweep, run every SLA_SWEEP_SECONDS by a scheduler, finds
tickets whose warning or deadline has come and marks them in the same transaction, so a
second sweep, a second worker or a restart repeats nothing: the state is warned_at /
breached_at in the database.

Each mark is a compare-and-set (UPDATE … WHERE warned_at IS NULL), and on PostgreSQL the
candidate rows are locked with FOR UPDATE SKIP LOCKED, so two workers sweeping at the same
moment never both alert. `sweep_owing` writes the alerts' messages to the outbox in the
same transaction as the marks, so a crash can lose neither (delivery.outbox); the sender
retries them until they arrive or Telegram refuses them for good."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from delivery.outbox import Owed, Priority, enqueue_all, message_payload
from desk.bindings import list_bindings
from desk.models import WAITING_STATUSES, ChatKind, Ticket
from desk.roles import SYSTEM
from desk.tickets import audit
from desk.views import HeldTicket, TicketView
from workdays import BusinessHours


class AlertKind(str, enum.Enum):
    warning = "warning"  # the deadline is near: tell the holder
    breach = "breach"  # the deadline passed without a response: tell the lead group and stewards

    def __str__(self) -> str:
        return self.value


class Audience(str, enum.Enum):
    steward = "steward"  # the steward group
    department = "department"  # the department group holding the ticket
    lead = "lead"  # the lead group (专班)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Recipient:
    audience: Audience
    chat_id: int | None  # None when the chat is not configured / not bound
    mention_user_id: int | None = None


@dataclass(frozen=True)
class SlaAlert(HeldTicket):
    kind: AlertKind
    ticket: TicketView
    minutes_left: float  # business minutes to the deadline (0 for a breach)
    recipients: tuple[Recipient, ...]

    @property
    def department_key(self) -> str | None:
        return self.ticket.department_key


def _holder_recipients(
    ticket: Ticket, department_chat: int | None, steward_chat_id: int | None
) -> tuple[Recipient, ...]:
    """A warning goes to whoever holds the ticket: the department group when escalated,
    else the steward group (mentioning the assignee if there is one)."""
    if ticket.department_key:
        out = [Recipient(Audience.department, department_chat, ticket.assignee_user_id)]
        if department_chat is None:  # nobody would hear it: fall back to the stewards
            out.append(Recipient(Audience.steward, steward_chat_id))
        return tuple(out)
    return (Recipient(Audience.steward, steward_chat_id, ticket.assignee_user_id),)


def _department_chats(session: Session) -> dict[str, int]:
    return {
        b.department_key: b.chat_id
        for b in list_bindings(session=session, kind=ChatKind.department)
        if b.department_key
    }


def _mark(session: Session, ticket: Ticket, column: str, now: datetime) -> bool:
    """Set warned_at/breached_at if still NULL and the ticket still waits (it may have been
    answered or closed since we read it); True if this sweep won the row."""
    attr = getattr(Ticket, column)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            col(attr).is_(None),
            col(Ticket.first_response_at).is_(None),
            col(Ticket.status).in_([s.value for s in WAITING_STATUSES]),
        )
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    setattr(ticket, column, now)
    return True


def sweep(
    *,
    session: Session,
    now: datetime,
    hours: BusinessHours,
    warn_before_minutes: float,
    steward_chat_id: int | None = None,
    lead_chat_id: int | None = None,
) -> list[SlaAlert]:
    """Warn once `warn_before_minutes` business minutes before a deadline, and breach once at
    it. A ticket answered, resolved or closed never warns or breaches. No warning is given
    when the warning window is as long as the whole commitment (it would fire at creation).
    """
    query = (
        select(Ticket)
        .where(
            col(Ticket.status).in_([s.value for s in WAITING_STATUSES]),
            col(Ticket.first_response_at).is_(None),
            col(Ticket.breached_at).is_(None),
        )
        .order_by(col(Ticket.sla_due_at), col(Ticket.id))
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only; SQLite ignores it
    )
    tickets = session.exec(query).all()
    if not tickets:
        return []
    departments = _department_chats(session)
    alerts: list[SlaAlert] = []
    for ticket in tickets:
        dept_chat = departments.get(ticket.department_key) if ticket.department_key else None
        if ticket.sla_due_at <= now:
            if not _mark(session, ticket, "breached_at", now):
                continue
            recipients = [
                Recipient(Audience.lead, lead_chat_id),
                Recipient(Audience.steward, steward_chat_id, ticket.assignee_user_id),
            ]
            if ticket.department_key:
                recipients.append(Recipient(Audience.department, dept_chat))
            audit(
                session,
                ticket,
                SYSTEM,
                "breach",
                now,
                ticket.status,
                ticket.status,
                held_by=ticket.assignee_user_id,
                held_by_name=ticket.assignee_name,
                department_key=ticket.department_key,
                sla_due_at=ticket.sla_due_at.isoformat(),
            )
            alerts.append(SlaAlert(AlertKind.breach, TicketView.of(ticket), 0.0, tuple(recipients)))
            continue
        if ticket.warned_at is not None or warn_before_minutes <= 0:
            continue
        left = hours.minutes_between(now, ticket.sla_due_at)
        total = hours.minutes_between(ticket.created_at, ticket.sla_due_at)
        if left > warn_before_minutes or warn_before_minutes >= total:
            continue
        if not _mark(session, ticket, "warned_at", now):
            continue
        audit(
            session,
            ticket,
            SYSTEM,
            "warn",
            now,
            ticket.status,
            ticket.status,
            minutes_left=round(left, 2),
            held_by=ticket.assignee_user_id,
            department_key=ticket.department_key,
        )
        alerts.append(
            SlaAlert(
                AlertKind.warning, TicketView.of(ticket), left, _holder_recipients(ticket, dept_chat, steward_chat_id)
            )
        )
    return alerts


Digest = Callable[[list[tuple[SlaAlert, Recipient]]], list[str]]


def owed_alerts(
    alerts: list[SlaAlert], compose: Callable[[SlaAlert, Recipient], str], digest: Digest | None = None
) -> list[Owed]:
    """The messages the alerts owe: the lead group's alert, and the holder's notice, which
    is remembered as a card (a reply to it answers the ticket).

    With `digest`, a chat owed several alerts by this sweep gets one message for them all
    (`digest(entries)` gives its text, split at Telegram's limit), owed where its first alert
    would be: 30 breaches at once reach the lead group in one send, not in 90 seconds of
    Telegram's 20 messages a minute per group. A digest is not a card (the tickets' own cards
    are); a chat owed a single alert gets it as before."""
    per_chat: dict[int, list[tuple[SlaAlert, Recipient]]] = {}
    for alert in alerts:
        for recipient in alert.recipients:
            if recipient.chat_id is not None:
                per_chat.setdefault(recipient.chat_id, []).append((alert, recipient))
    owed: list[Owed] = []
    for alert in alerts:
        for recipient in alert.recipients:
            if recipient.chat_id is None:
                continue
            entries = per_chat[recipient.chat_id]
            if digest is not None and len(entries) > 1:
                if entries[0][0] is alert and entries[0][1] is recipient:  # where its first alert would be
                    owed.extend(
                        Owed(recipient.chat_id, message_payload(text), "sla_digest", Priority.alert)
                        for text in digest(entries)
                    )
                continue
            follow_up = None
            if recipient.audience is Audience.department:
                follow_up = {"kind": "card", "card_kind": "department", "department_key": alert.department_key}
            elif recipient.audience is Audience.steward:
                follow_up = {"kind": "card", "card_kind": "steward"}
            owed.append(
                Owed(
                    recipient.chat_id,
                    message_payload(compose(alert, recipient)),
                    f"sla_{alert.kind.value}_{recipient.audience.value}",
                    Priority.alert,
                    ticket_id=alert.ticket.id,
                    follow_up=follow_up,
                )
            )
    return owed


def sweep_owing(
    *,
    session: Session,
    now: datetime,
    compose: Callable[[SlaAlert, Recipient], str],
    digest: Digest | None = None,
    **kwargs: Any,
) -> list[SlaAlert]:
    """`sweep`, and the alerts' messages owed in the same transaction (the marks and the
    messages, a digest included, commit together or not at all)."""
    alerts = sweep(session=session, now=now, **kwargs)
    enqueue_all(session=session, owed=owed_alerts(alerts, compose, digest), now=now)
    return alerts
