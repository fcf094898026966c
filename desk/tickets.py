"""Ticket operations. Each takes an explicit session and `now`, checks permission and the
transition map, writes one TicketEvent per change, and returns plain values.

Status changes are compare-and-set on the row (UPDATE … WHERE status = <seen>), so two
stewards pressing 「认领」 at once cannot both win, on SQLite as on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import CursorResult, insert, update
from sqlmodel import Session, col, select

from delivery.outbox import OutboxMessage
from desk import bindings
from desk.callbacks import MAX_ID
from desk.errors import (
    AlreadyClaimed,
    EmptyAnswer,
    InvalidTransition,
    NotBound,
    PermissionDenied,
    TicketChanged,
    TicketNotFound,
)
from desk.models import (
    WAITING_STATUSES,
    CardKind,
    ChatKind,
    Role,
    Ticket,
    TicketCard,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)
from desk.roles import SYSTEM, Action, Actor, card_is_current, check
from desk.states import can_transition, check_transition
from desk.views import CardRef, EventView, HeldTicket, MessageView, TicketView
from storage.deferred import defer
from storage.ids import id_ahead
from workdays import BusinessHours

DEFAULT_REOPEN_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Relay:
    """Where an answer goes: into the help group, as a reply to the original question."""

    ticket: TicketView
    text: str
    first_response: bool
    message_id: int  # the TicketMessage row, for record_delivery
    cards: tuple[CardRef, ...]  # to update/confirm in the staff chats
    correction: bool = False  # an edited answer, relayed as 「更正」

    @property
    def help_chat_id(self) -> int:
        return self.ticket.help_chat_id

    @property
    def reply_to_message_id(self) -> int | None:
        return self.ticket.help_message_id

    @property
    def thread_id(self) -> int | None:
        return self.ticket.help_thread_id


@dataclass(frozen=True)
class Escalation:
    ticket: TicketView
    department_chat_id: int
    thread: tuple[MessageView, ...]

    @property
    def department_key(self) -> str:
        assert self.ticket.department_key is not None
        return self.ticket.department_key


@dataclass(frozen=True)
class Notify:
    """A staff chat to tell about a ticket, as a reply to its card there."""

    chat_id: int
    reply_to_message_id: int | None
    kind: str


@dataclass(frozen=True)
class FollowUp(HeldTicket):
    ticket: TicketView
    message: MessageView
    reopened: bool
    notify: tuple[Notify, ...]


# --------------------------------------------------------------------------- helpers


def _load(session: Session, ticket_id: int, actor: Actor | None = None) -> Ticket:
    """The ticket row. For an actor who does not see every ticket (anyone but stewards,
    admins and the system) a missing ticket is refused like a forbidden one, so trying ids
    tells a stranger nothing about which exist."""
    ticket = session.get(Ticket, ticket_id) if 0 < ticket_id <= MAX_ID else None
    if ticket is None:
        if actor is not None and actor.role not in (Role.steward, Role.admin, Role.system):
            raise PermissionDenied("view", "no such ticket")
        raise TicketNotFound(ticket_id)
    return ticket


def audit(
    session: Session,
    ticket: Ticket | int,
    actor: Actor,
    action: str,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    *,
    deferred: bool = False,
    **detail: Any,
) -> None:
    """Add one row to the ticket's audit trail (details that are None are left out).
    `deferred`: written with the transaction's others just before the commit (storage.deferred;
    anything in the transaction that touches the audit trail writes it first). `ticket`: the row, or its id
    when the row was not read."""
    ticket_id = ticket if isinstance(ticket, int) else ticket.id
    assert ticket_id is not None
    _audit_row(
        session,
        ticket_id,
        actor.user_id,
        actor.role.value,
        action,
        now,
        from_status,
        to_status,
        {k: v for k, v in detail.items() if v is not None},
        deferred=deferred,
    )


def _audit_row(
    session: Session,
    ticket_id: int,
    user_id: int | None,
    role: str,
    action: str,
    now: datetime,
    from_status: str | None,
    to_status: str | None,
    detail: dict[str, Any],
    *,
    deferred: bool,
) -> None:
    row: dict[str, Any] = {
        "ticket_id": ticket_id,
        "at": now,
        "actor_user_id": user_id,
        "actor_role": role,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "detail": detail,
    }
    if deferred:
        defer(session, _EVENT_INSERT, row, guard=True)
    else:
        session.add(TicketEvent(**row))


def _move(session: Session, ticket: Ticket, to: TicketStatus, now: datetime, *, same_department: bool = False) -> str:
    """Check the map and move the row from the status we read to `to`, atomically: the UPDATE's WHERE holds what was
    read (the status; with `same_department`, the department holding it too), so of two transactions that read the
    same row the second to write finds it changed and changes nothing. On PostgreSQL the second UPDATE waits for the
    first's row lock and then checks its WHERE against the row the first committed."""
    seen, seen_department = ticket.status, ticket.department_key
    check_transition(ticket.id, seen, to)
    where = [col(Ticket.id) == ticket.id, col(Ticket.status) == seen]
    if same_department:
        where.append(col(Ticket.department_key).is_not_distinct_from(seen_department))
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Ticket)
        .where(*where)
        .values(status=to.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # someone else moved it since we read it
        session.refresh(ticket)
        if same_department and can_transition(ticket.status, to):  # a change this one would have undone unseen
            raise TicketChanged(ticket.id, ticket.status, ticket.department_key)
        raise InvalidTransition(ticket.id, ticket.status, to.value)
    ticket.status = to.value
    ticket.updated_at = now
    return seen


def _cards(session: Session, ticket_id: int) -> list[TicketCard]:
    return list(
        session.exec(select(TicketCard).where(TicketCard.ticket_id == ticket_id).order_by(col(TicketCard.id))).all()
    )


def _plain_candidates(candidates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in dict(c).items()} for c in candidates]


# --------------------------------------------------------------------------- create / read


_MESSAGE_INSERT = insert(TicketMessage.__table__)  # type: ignore[attr-defined]  # built once
_EVENT_INSERT = insert(TicketEvent.__table__)  # type: ignore[attr-defined]
_CARD_INSERT = insert(TicketCard.__table__)  # type: ignore[attr-defined]
_TICKET_TABLE = Ticket.__table__  # type: ignore[attr-defined]
_TICKET_INSERT = insert(_TICKET_TABLE)
_TICKET_COLUMNS = tuple(c.name for c in _TICKET_TABLE.columns if c.name != "id")


def create_ticket(
    *,
    session: Session,
    now: datetime,
    hours: BusinessHours,
    sla_minutes: float,
    help_chat_id: int,
    asker_user_id: int,
    question: str,
    asker_name: str = "",
    help_message_id: int | None = None,
    help_thread_id: int | None = None,
    project_code: str | None = None,
    candidates: Iterable[Mapping[str, Any]] = (),
    lookup_project: bool = True,
) -> TicketView:
    """Open a ticket for a question the knowledge base could not answer. The deadline is
    `sla_minutes` business minutes from now (a Friday-evening question is due Monday).
    Without a `project_code` the help group's binding gives it, unless `lookup_project` is
    False (the caller read the binding already: bot.shared_facts)."""
    if project_code is None and lookup_project:
        binding = bindings.get_binding(session=session, chat_id=help_chat_id)
        project_code = binding.project_code if binding and binding.kind == ChatKind.help.value else None
    # One Core INSERT from plain values: neither an ORM object to flush nor a model to build (both cost
    # more than the statement).
    values: dict[str, Any] = dict.fromkeys(_TICKET_COLUMNS) | {
        "project_code": project_code,
        "help_chat_id": help_chat_id,
        "help_message_id": help_message_id,
        "help_thread_id": help_thread_id,
        "asker_user_id": asker_user_id,
        "asker_name": asker_name[:200],
        "question": question,
        "candidates": _plain_candidates(candidates),
        "status": TicketStatus.open.value,
        "created_at": now,
        "updated_at": now,
        "sla_due_at": hours.add_minutes(now, sla_minutes),
    }
    ticket_id = id_ahead(session, _TICKET_TABLE.name)
    if ticket_id is None:
        inserted: CursorResult[Any] = session.execute(_TICKET_INSERT, values)  # type: ignore[assignment]
        ticket_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    else:
        # PostgreSQL: the id taken ahead (storage.ids), the row written with the transaction's others, before
        # the rows that refer to it; anything in the transaction that reads tickets writes it first
        defer(session, _TICKET_INSERT, {"id": ticket_id, **values}, guard=True, first=True)
    ticket = SimpleNamespace(id=ticket_id, **values)
    # The thread's first row and the audit row are written with the transaction's others in one
    # statement each just before the commit (storage.deferred); anything in the transaction
    # that touches those tables first writes them.
    defer(
        session,
        _MESSAGE_INSERT,
        {
            "ticket_id": ticket.id,
            "direction": "in",
            "text": question,
            "author_user_id": asker_user_id,
            "author_name": asker_name[:200],
            "author_role": Role.enterprise.value,
            "chat_id": help_chat_id,
            "message_id": help_message_id,
            "at": now,
        },
        guard=True,
    )
    detail = {"sla_due_at": ticket.sla_due_at.isoformat(), "sla_minutes": sla_minutes, "project_code": project_code}
    _audit_row(
        session,
        ticket.id,
        asker_user_id,
        Role.enterprise.value,
        "create",
        now,
        None,
        TicketStatus.open.value,
        {k: v for k, v in detail.items() if v is not None},
        deferred=True,
    )
    return TicketView.of(ticket)  # type: ignore[arg-type]  # the row's values, as the model would hold them


def get_ticket(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor | None = None,
    action: Action = Action.view,
    card_message_id: int | None = None,
) -> TicketView:
    """The ticket; with an actor, only if they may do `action` on it, from the pressed card
    when `card_message_id` is given (PermissionDenied otherwise)."""
    ticket = _load(session, ticket_id, actor)
    if actor is not None:
        check(session=session, actor=actor, action=action, ticket=ticket, card_message_id=card_message_id)
    return TicketView.of(ticket)


def ticket_events(*, session: Session, ticket_id: int) -> list[EventView]:
    rows = session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    ).all()
    return [EventView.of(e) for e in rows]


def ticket_thread(*, session: Session, ticket_id: int) -> list[MessageView]:
    rows = session.exec(
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id)
        .order_by(col(TicketMessage.at), col(TicketMessage.id))
    ).all()
    return [MessageView.of(m) for m in rows]


def ticket_cards(*, session: Session, ticket_id: int) -> list[CardRef]:
    return [CardRef.of(c) for c in _cards(session, ticket_id)]


def record_card(
    *,
    session: Session,
    ticket_id: int,
    chat_id: int,
    message_id: int,
    kind: CardKind | str,
    now: datetime,
    department_key: str | None = None,
) -> CardRef:
    """Remember a message the bot posted about the ticket in a staff chat, so a reply to it
    finds the ticket. Record every such message (card, follow-up notice, warning)."""
    kind = CardKind(kind)
    if kind is CardKind.department and department_key is None:
        department_key = _load(session, ticket_id).department_key
    # Otherwise the ticket is not read (the sender records a card a round, and this read was a
    # statement of its own each): the card's foreign key still refuses a ticket that is not there.
    # The card row and its audit row are written with the transaction's others just before the
    # commit (a round records many cards); anything in it that reads the cards writes them first.
    card = CardRef(
        ticket_id=ticket_id, chat_id=chat_id, message_id=message_id, kind=kind.value, department_key=department_key
    )
    defer(
        session,
        _CARD_INSERT,
        {
            "ticket_id": ticket_id,
            "chat_id": chat_id,
            "message_id": message_id,
            "kind": kind.value,
            "department_key": department_key,
            "posted_at": now,
        },
        guard=True,
    )
    audit(
        session,
        ticket_id,
        SYSTEM,
        "card",
        now,
        deferred=True,
        chat_id=chat_id,
        message_id=message_id,
        kind=kind.value,
        department_key=department_key,
    )
    return card


def main_cards(ticket: TicketView, cards: Iterable[CardRef]) -> tuple[CardRef, ...]:
    """The message that shows the ticket in each staff chat: the first one posted there (the
    notices and warnings posted after it are left alone); a department's card only while the
    ticket is still with that department."""
    shown: dict[int, CardRef] = {}
    for card in sorted(cards, key=lambda c: c.message_id):
        if card.chat_id in shown or not card_is_current(card, ticket):  # type: ignore[arg-type]
            continue
        shown[card.chat_id] = card
    return tuple(shown.values())


def find_ticket_by_card(*, session: Session, chat_id: int, message_id: int) -> TicketView | None:
    card = session.exec(
        select(TicketCard).where(TicketCard.chat_id == chat_id, TicketCard.message_id == message_id)
    ).first()
    if card is None:
        return None
    return TicketView.of(_load(session, card.ticket_id))


def _check_unrecorded_card(session: Session, actor: Actor, action: Action, ticket: Ticket) -> None:
    """The replied message is the bot's and names this ticket as its cards do (render.card_ticket_id),
    but its message id is not recorded: the sender records a card a moment after Telegram's
    answer, in the transaction that records the send (later still when the database hiccups).
    It counts as the ticket's card when the ticket has a current card in the actor's chat,
    recorded or owed: in the steward group a card row or an outbox row owing a card there; in a
    department group the ticket being with that department (its escalation card is owed with the
    escalation and recorded when sent; any older department's card is not current)."""
    if actor.chat_kind is ChatKind.department:
        if not ticket.department_key or ticket.department_key != actor.chat_department_key:
            raise PermissionDenied(str(action), "card of a department the ticket has left")
        return
    if actor.chat_kind is not ChatKind.steward:
        raise PermissionDenied(str(action), "cards are in staff chats only")
    assert ticket.id is not None
    if any(card_is_current(card, ticket) for card in _cards(session, ticket.id) if card.chat_id == actor.chat_id):
        return
    owed = session.exec(
        select(OutboxMessage.follow_up).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.chat_id == actor.chat_id
        )
    ).all()
    for follow_up in owed:
        card = follow_up or {}
        if card.get("kind") == "card" and (
            card.get("card_kind") != CardKind.department.value or card.get("department_key") == ticket.department_key
        ):
            return
    raise PermissionDenied(str(action), "no card of this ticket here")


# Newest by when it was opened: ids are unique but, taken ahead by several processes (storage.ids), not in order.
_NEWEST_FIRST = (col(Ticket.created_at).desc(), col(Ticket.id).desc())


def open_ticket_for_asker(
    *,
    session: Session,
    help_chat_id: int,
    asker_user_id: int,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    ticket_id: int | None = None,
) -> TicketView | None:
    """The asker's ticket a new message of theirs belongs to: the newest one still waiting
    for a response, else the newest answered one touched within `reopen_window`. `ticket_id`:
    that ticket only (the one whose message the asker replied to), on the same terms."""
    base = select(Ticket).where(Ticket.help_chat_id == help_chat_id, Ticket.asker_user_id == asker_user_id)
    if ticket_id is not None:
        base = base.where(Ticket.id == ticket_id)
    waiting = session.exec(
        base.where(col(Ticket.status).in_([s.value for s in WAITING_STATUSES])).order_by(*_NEWEST_FIRST)
    ).first()
    if waiting is not None:
        return TicketView.of(waiting)
    answered = session.exec(
        base.where(
            Ticket.status == TicketStatus.answered.value, col(Ticket.updated_at) >= now - reopen_window
        ).order_by(*_NEWEST_FIRST)
    ).first()
    return TicketView.of(answered) if answered is not None else None


# --------------------------------------------------------------------------- changes


def claim(
    *, session: Session, ticket_id: int, actor: Actor, now: datetime, card_message_id: int | None = None
) -> TicketView:
    """Take the ticket. Claiming one's own ticket again changes nothing; claiming someone
    else's raises AlreadyClaimed."""
    ticket = _load(session, ticket_id, actor)
    check(session=session, actor=actor, action=Action.claim, ticket=ticket, card_message_id=card_message_id)
    if ticket.status == TicketStatus.claimed.value:
        if ticket.assignee_user_id == actor.user_id:
            return TicketView.of(ticket)
        raise AlreadyClaimed(ticket.id, ticket.assignee_name or "")
    seen = _move(session, ticket, TicketStatus.claimed, now)
    ticket.assignee_user_id = actor.user_id
    ticket.assignee_name = actor.name[:200] or None
    audit(
        session,
        ticket,
        actor,
        "claim",
        now,
        seen,
        ticket.status,
        assignee_user_id=actor.user_id,
        assignee_name=actor.name or None,
        department_key=ticket.department_key,
    )
    return TicketView.of(ticket)


def _add_staff_message(
    session: Session,
    ticket_id: int,
    actor: Actor,
    text: str,
    *,
    chat_id: int | None,
    message_id: int | None,
    now: datetime,
) -> TicketMessage:
    """Add a staff member's message (an answer, or a correction of one) to the ticket's thread."""
    msg = TicketMessage(
        ticket_id=ticket_id,
        direction="out",
        text=text,
        author_user_id=actor.user_id,
        author_name=actor.name[:200],
        author_role=actor.role.value,
        chat_id=chat_id,
        message_id=message_id,
        at=now,
    )
    session.add(msg)
    session.flush()
    return msg


def answer(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor,
    text: str,
    now: datetime,
    card_message_id: int | None = None,
    staff_message_id: int | None = None,
    direct: bool = False,
    unrecorded_card: bool = False,
) -> Relay:
    """Record an answer. The first one stops the clock (first_response_*). `direct`: it was
    written in the help group itself, so there is nothing to relay. `unrecorded_card`: it
    replies to a card of the ticket whose message id is not recorded (yet), see
    _check_unrecorded_card."""
    if not text or not text.strip():
        raise EmptyAnswer()
    ticket = _load(session, ticket_id, actor)
    check(session=session, actor=actor, action=Action.answer, ticket=ticket, card_message_id=card_message_id)
    if unrecorded_card:
        _check_unrecorded_card(session, actor, Action.answer, ticket)
    seen = ticket.status
    if seen != TicketStatus.answered.value:
        _move(session, ticket, TicketStatus.answered, now)
    else:
        ticket.updated_at = now
    first = ticket.first_response_at is None
    if first:
        ticket.first_response_at = now
        ticket.first_response_by = actor.user_id
        ticket.first_response_by_name = actor.name[:200] or None
        ticket.first_response_role = actor.role.value
    if ticket.assignee_user_id is None and ticket.department_key is None:
        ticket.assignee_user_id = actor.user_id
        ticket.assignee_name = actor.name[:200] or None
    msg = _add_staff_message(
        session,
        ticket_id,
        actor,
        text,
        chat_id=ticket.help_chat_id if direct else actor.chat_id,
        message_id=staff_message_id,
        now=now,
    )
    audit(
        session,
        ticket,
        actor,
        "answer_direct" if direct else "relay",
        now,
        seen,
        ticket.status,
        first_response=first,
        message_row=msg.id,
        from_chat_id=actor.chat_id,
        staff_message_id=staff_message_id,
        late=(first and now > ticket.sla_due_at) or None,
    )
    assert msg.id is not None
    return Relay(
        ticket=TicketView.of(ticket),
        text=text,
        first_response=first,
        message_id=msg.id,
        cards=tuple(CardRef.of(c) for c in _cards(session, ticket_id)),
    )


def _relayed_row(session: Session, ticket_id: int, chat_id: int | None, staff_message_id: int) -> int | None:
    """The thread row of the answer a staff message relayed (from the audit trail: the row
    itself is re-pointed at the help group's copy once delivered)."""
    for event in session.exec(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, col(TicketEvent.action).in_(("relay", "correction"))
        )
    ).all():
        detail = event.detail or {}
        if detail.get("staff_message_id") == staff_message_id and detail.get("from_chat_id") == chat_id:
            row = detail.get("message_row")
            return int(row) if row is not None else None
    return None


def correct(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor,
    text: str,
    now: datetime,
    staff_message_id: int,
    card_message_id: int | None = None,
    unrecorded_card: bool = False,
) -> Relay | None:
    """A relayed answer was edited in the staff chat: record the new text in the thread as a
    correction of it, to relay as 「更正」. None when that message was never relayed. The
    ticket's status and clock are left as they are. `unrecorded_card` as for `answer`."""
    if not text or not text.strip():
        raise EmptyAnswer()
    ticket = _load(session, ticket_id, actor)
    check(session=session, actor=actor, action=Action.answer, ticket=ticket, card_message_id=card_message_id)
    if unrecorded_card:
        _check_unrecorded_card(session, actor, Action.answer, ticket)
    original = _relayed_row(session, ticket_id, actor.chat_id, staff_message_id)
    if original is None:
        return None
    msg = _add_staff_message(
        session, ticket_id, actor, text, chat_id=actor.chat_id, message_id=staff_message_id, now=now
    )
    assert msg.id is not None
    audit(
        session,
        ticket,
        actor,
        "correction",
        now,
        message_row=msg.id,
        corrects_row=original,
        from_chat_id=actor.chat_id,
        staff_message_id=staff_message_id,
    )
    return Relay(
        ticket=TicketView.of(ticket),
        text=text,
        first_response=False,
        message_id=msg.id,
        cards=tuple(CardRef.of(c) for c in _cards(session, ticket_id)),
        correction=True,
    )


def record_delivery(
    *,
    session: Session,
    ticket_id: int,
    message_id: int,
    now: datetime,
    delivered: bool,
    help_message_id: int | None = None,
    error: str | None = None,
    bot_removed: bool = False,
    first_response: bool = False,
) -> TicketView:
    """After the edge tried to post a relay: note the help-group message id, or the failure.
    `bot_removed` (Telegram said 403): the help group's binding is retired as well.
    A first response that never reached the enterprise is no response: the clock runs on and
    the ticket is open again, so the sweep still warns and breaches."""
    ticket = _load(session, ticket_id)
    if bot_removed:
        bindings.mark_chat_gone(session=session, chat_id=ticket.help_chat_id, now=now)
    row = session.get(TicketMessage, message_id)
    if row is not None and row.ticket_id == ticket_id and delivered and help_message_id:
        row.chat_id, row.message_id = ticket.help_chat_id, help_message_id
    audit(
        session,
        ticket,
        SYSTEM,
        "delivered" if delivered else "delivery_failed",
        now,
        message_row=message_id,
        help_message_id=help_message_id,
        error=error,
    )
    if not delivered and first_response and ticket.first_response_at is not None:
        ticket.first_response_at = None
        ticket.first_response_by = None
        ticket.first_response_by_name = None
        ticket.first_response_role = None
        if ticket.status == TicketStatus.answered.value:
            seen = _move(session, ticket, TicketStatus.open, now)
            audit(session, ticket, SYSTEM, "reopen_undelivered", now, seen, ticket.status, message_row=message_id)
    return TicketView.of(ticket)


def escalate(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor,
    department_key: str,
    now: datetime,
    card_message_id: int | None = None,
    note: str | None = None,
) -> Escalation:
    """Blow the whistle: hand the ticket to a department's group. The department then holds
    it (assignee cleared); every hop is one event."""
    ticket = _load(session, ticket_id, actor)
    check(session=session, actor=actor, action=Action.escalate, ticket=ticket, card_message_id=card_message_id)
    department_chat_id = bindings.department_chat_id(session=session, department_key=department_key)
    if department_chat_id is None:
        raise NotBound("department", department_key)
    previous = ticket.department_key
    if ticket.status == TicketStatus.escalated.value and previous == department_key:
        raise InvalidTransition(ticket.id, ticket.status, TicketStatus.escalated.value)
    previous_holder = (ticket.assignee_user_id, ticket.assignee_name)
    # Compare-and-set on the department too: two stewards re-escalating it at once (to different departments,
    # through two workers) both read escalated-to-A; the second write finds it with B and raises TicketChanged,
    # instead of moving it on unseen (B's card posted, then taken away; the audit saying A → C).
    seen = _move(session, ticket, TicketStatus.escalated, now, same_department=True)
    ticket.department_key = department_key
    ticket.assignee_user_id = None
    ticket.assignee_name = None
    audit(
        session,
        ticket,
        actor,
        "escalate",
        now,
        seen,
        ticket.status,
        from_department=previous,
        to_department=department_key,
        department_chat_id=department_chat_id,
        previous_assignee=previous_holder[0],
        previous_assignee_name=previous_holder[1],
        note=note,
    )
    thread = tuple(ticket_thread(session=session, ticket_id=ticket_id))
    return Escalation(ticket=TicketView.of(ticket), department_chat_id=department_chat_id, thread=thread)


def ticket_of_bot_message(
    *, session: Session, chat_id: int, message_id: int, purposes: tuple[str, ...] | None = None
) -> int | None:
    """The ticket a message the bot posted in a chat belongs to (its acknowledgement, a relayed answer, a notice of
    it): None for one of no ticket's (an answer of the knowledge base) or one not recorded. `purposes`: only
    messages posted for these (the outbox's purpose: "relay_confirmation" …)."""
    if purposes is None:
        relayed = session.exec(
            select(TicketMessage.ticket_id).where(
                TicketMessage.chat_id == chat_id,
                TicketMessage.message_id == message_id,
                TicketMessage.direction == "out",
            )
        ).first()
        if relayed is not None:
            return relayed
    of_outbox = (
        col(OutboxMessage.ticket_id).is_not(None) if purposes is None else col(OutboxMessage.purpose).in_(purposes)
    )
    return session.exec(
        select(OutboxMessage.ticket_id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id, of_outbox
        )
    ).first()


def bot_message_on_record(*, session: Session, chat_id: int, message_id: int) -> bool:
    """Whether the outbox holds the message the bot posted in a chat (sent through it and not pruned yet)."""
    found = session.exec(
        select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id)
    ).first()
    return found is not None


def attach_follow_up(
    *,
    session: Session,
    help_chat_id: int,
    asker_user_id: int,
    text: str,
    now: datetime,
    message_id: int | None = None,
    asker_name: str = "",
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    question_like: bool = True,
    reply_to_bot: bool = True,
    replied_bot_message_id: int | None = None,
) -> FollowUp | None:
    """Attach a new message of the asker to their open ticket in this help group (None if
    there is none, or the message does not belong to it). A ticket still waiting takes the
    asker's next question (`question_like`) or reply to the bot; an answered one only an
    explicit reply to the bot, so 「谢谢」 does not reopen it. A reply to a message of the bot
    (`replied_bot_message_id`, when known) belongs to that message's ticket alone: one to an
    answer of the knowledge base is no ticket's reply (the question handler answers it), one to
    an earlier ticket's relayed answer goes to that ticket, not the newest. A follow-up on an
    answered ticket puts it back in the queue (open), keeping its holder. The first-response
    clock is not restarted (see README)."""
    view = open_ticket_for_asker(
        session=session, help_chat_id=help_chat_id, asker_user_id=asker_user_id, now=now, reopen_window=reopen_window
    )
    if view is not None and reply_to_bot and replied_bot_message_id is not None:
        replied = ticket_of_bot_message(session=session, chat_id=help_chat_id, message_id=replied_bot_message_id)
        if replied is None:
            # a message of no ticket's (an answer of the knowledge base) is no follow-up; one not on record (a later
            # part of a long answer, one pruned, one sent while the database was down) is taken as before
            reply_to_bot = not bot_message_on_record(
                session=session, chat_id=help_chat_id, message_id=replied_bot_message_id
            )
        elif replied != view.id:
            view = open_ticket_for_asker(
                session=session,
                help_chat_id=help_chat_id,
                asker_user_id=asker_user_id,
                now=now,
                reopen_window=reopen_window,
                ticket_id=replied,
            )
            if view is None:
                return None
    if view is None or not (reply_to_bot or (question_like and view.waiting)):
        return None
    ticket = _load(session, view.id)
    asker = Actor(
        user_id=asker_user_id, chat_id=help_chat_id, role=Role.enterprise, chat_kind=ChatKind.help, name=asker_name
    )
    check(session=session, actor=asker, action=Action.follow_up, ticket=ticket)
    msg = TicketMessage(
        ticket_id=view.id,
        direction="in",
        text=text,
        author_user_id=asker_user_id,
        author_name=asker_name[:200],
        author_role=Role.enterprise.value,
        chat_id=help_chat_id,
        message_id=message_id,
        at=now,
    )
    session.add(msg)
    session.flush()
    reopened = ticket.status == TicketStatus.answered.value
    seen = ticket.status
    if reopened:
        _move(session, ticket, TicketStatus.open, now)
    else:
        ticket.updated_at = now
    audit(
        session,
        ticket,
        asker,
        "follow_up",
        now,
        seen,
        ticket.status,
        message_row=msg.id,
        help_message_id=message_id,
        reopened=reopened or None,
    )
    newest: dict[int, Notify] = {}  # the newest card per chat, in the order they were posted
    for card in _cards(session, view.id):
        if card_is_current(card, ticket):  # not a department that no longer holds it
            newest.pop(card.chat_id, None)
            newest[card.chat_id] = Notify(chat_id=card.chat_id, reply_to_message_id=card.message_id, kind=card.kind)
    return FollowUp(
        ticket=TicketView.of(ticket), message=MessageView.of(msg), reopened=reopened, notify=tuple(newest.values())
    )


def resolve(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    card_message_id: int | None = None,
    note: str | None = None,
) -> TicketView:
    return _finish(session, ticket_id, actor, now, TicketStatus.resolved, Action.resolve, card_message_id, note)


def close(
    *,
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    card_message_id: int | None = None,
    reason: str | None = None,
) -> TicketView:
    """Close without (further) answer. A ticket closed before its deadline never breaches
    and does not count in compliance (see desk.stats)."""
    return _finish(session, ticket_id, actor, now, TicketStatus.closed, Action.close, card_message_id, reason)


def _finish(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    to: TicketStatus,
    action: Action,
    card_message_id: int | None,
    note: str | None,
) -> TicketView:
    ticket = _load(session, ticket_id, actor)
    check(session=session, actor=actor, action=action, ticket=ticket, card_message_id=card_message_id)
    seen = _move(session, ticket, to, now)
    ticket.resolved_at = now
    audit(session, ticket, actor, action.value, now, seen, ticket.status, note=note)
    return TicketView.of(ticket)
