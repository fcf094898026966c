"""Units of work of the ticket handlers: each runs as one `services.db.run(...)` call, takes
plain values (ids, texts, `now`) and returns plain values. Each resolves who acts, then makes
one desk operation, so a Telegram update is one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Exists, and_, exists, or_, update
from sqlmodel import Session, col, select

from delivery.outbox import OutboxMessage, OutboxState
from desk import bindings, render, tickets
from desk.callbacks import TicketPress
from desk.errors import DeskError, NotACard, PermissionDenied
from desk.models import (
    ACTIVE_STATUSES,
    DEPARTMENT_CARD,
    WAITING_STATUSES,
    CardKind,
    ChatKind,
    ChatMove,
    Role,
    Ticket,
    TicketCard,
    TicketMessage,
)
from desk.roles import Action, Actor, chat_kind_of, resolve_role
from desk.tickets import Escalation, FollowUp, Relay
from desk.views import BindingView, CardRef, TicketView


@dataclass(frozen=True)
class Who:
    """Where the settings put the steward and lead chats, and who the admins are."""

    steward_chat_id: int | None
    lead_chat_id: int | None
    admin_ids: tuple[int, ...]


def _actor(session: Session, who: Who, *, user_id: int | None, chat_id: int | None, now: datetime, name: str) -> Actor:
    return resolve_role(
        session=session,
        user_id=user_id,
        chat_id=chat_id,
        now=now,
        admin_ids=who.admin_ids,
        steward_chat_id=who.steward_chat_id,
        lead_chat_id=who.lead_chat_id,
        name=name,
    )


def project_name(session: Session, code: str | None) -> str | None:
    """The project's name from the ledger (None when unknown or unbound)."""
    if not code:
        return None
    from ledger.models import Project  # the ledger is optional for the desk

    project = session.exec(select(Project).where(Project.code == code)).first()
    return project.name if project is not None else None


@dataclass(frozen=True)
class CardInfo:
    ticket: TicketView
    project_name: str | None


def open_ticket(*, session: Session, **kwargs: object) -> CardInfo:
    """desk.tickets.create_ticket, plus the project's name for the card."""
    ticket = tickets.create_ticket(session=session, **kwargs)  # type: ignore[arg-type]
    return CardInfo(ticket, project_name(session, ticket.project_code))


def ticket_for_question(*, session: Session, help_chat_id: int, help_message_id: int) -> int | None:
    """The ticket already opened for this message of a help group, if any."""
    return session.exec(
        select(Ticket.id).where(Ticket.help_chat_id == help_chat_id, Ticket.help_message_id == help_message_id)
    ).first()


def ticket_status(*, session: Session, ticket_id: int) -> str | None:
    """The ticket's status now (None: no such ticket)."""
    return session.exec(select(Ticket.status).where(Ticket.id == ticket_id)).first()


# --------------------------------------------------------------------------- help groups


@dataclass(frozen=True)
class HelpOutcome:
    """What a message in a help group is to the desk: from staff (left alone; `relay` set
    when a steward answered the asker's open ticket right there), a follow-up attached to
    the asker's ticket, or nothing (the question handler takes it)."""

    staff: bool = False
    relay: Relay | None = None
    follow_up: FollowUp | None = None


def may_concern_desk(*, question_like: bool, reply_to_user_id: int | None) -> bool:
    """Whether help_message can make anything of a message: only a question (or a reply to
    the bot) can be a follow-up or a staff question to leave alone, and only a reply to a
    person can be a steward's answer. Anything else is chat the question handler ignores."""
    return question_like or reply_to_user_id is not None


def help_message(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    text: str,
    message_id: int,
    question_like: bool,
    reply_to_bot: bool,
    reply_to_user_id: int | None,
    replied_bot_message_id: int | None = None,
) -> HelpOutcome:
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    if actor.is_staff:
        relay = None
        if reply_to_user_id is not None and reply_to_user_id != user_id and text.strip():
            ticket = tickets.open_ticket_for_asker(
                session=session, help_chat_id=chat_id, asker_user_id=reply_to_user_id, now=now
            )
            if ticket is not None and ticket.waiting:
                try:
                    relay = tickets.answer(
                        session=session,
                        ticket_id=ticket.id,
                        actor=actor,
                        text=text,
                        now=now,
                        direct=True,
                        staff_message_id=message_id,
                    )
                except DeskError:  # e.g. a department member on another department's ticket
                    relay = None
        return HelpOutcome(staff=True, relay=relay)
    if actor.chat_kind is not ChatKind.help:
        return HelpOutcome()  # follow-ups need a bound help group
    follow_up = tickets.attach_follow_up(
        session=session,
        help_chat_id=chat_id,
        asker_user_id=user_id,
        text=text,
        now=now,
        message_id=message_id,
        asker_name=name,
        question_like=question_like,
        reply_to_bot=reply_to_bot,
        replied_bot_message_id=replied_bot_message_id,
    )
    return HelpOutcome(follow_up=follow_up)


# --------------------------------------------------------------------------- staff chats


def seen(*, session: Session, who: Who, now: datetime, chat_id: int, user_id: int, name: str) -> Role:
    """A message in a staff chat: resolve_role remembers the person as staff."""
    return _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name).role


@dataclass(frozen=True)
class StaffRelay:
    relay: Relay
    role: Role
    department_key: str | None
    project_name: str | None


def staff_reply(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    card_message_id: int,
    text: str,
    staff_message_id: int,
    card_text: str = "",
    edited: bool = False,
) -> StaffRelay | None:
    """A reply in a staff chat to a message of the bot: if that is a ticket's card, answer the
    ticket. An `edited` reply is a correction of the answer it relayed (None if it relayed none).

    A card is known by its recorded message id, or — when that is not recorded (yet: the
    sender records it a moment after Telegram's answer) — by the ticket its text (`card_text`,
    the replied message's plain text) names in its head (render.card_ticket_id), accepted when
    the ticket has a current card in this chat, recorded or owed (tickets.answer's
    `unrecorded_card`), and after the same role checks. Any other message is no card: None."""
    ticket = tickets.find_ticket_by_card(session=session, chat_id=chat_id, message_id=card_message_id)
    card: dict[str, object]
    if ticket is not None:
        ticket_id, card = ticket.id, {"card_message_id": card_message_id}
    else:
        named = render.card_ticket_id(card_text)
        if named is None:
            confirmed = tickets.ticket_of_bot_message(
                session=session, chat_id=chat_id, message_id=card_message_id, purposes=("relay_confirmation",)
            )
            if confirmed is not None:
                raise NotACard(confirmed)  # 「补充：需带原件」 to the confirmation: say it went nowhere
            return None
        ticket_id, card = named, {"unrecorded_card": True}
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    kw = {
        "session": session,
        "ticket_id": ticket_id,
        "actor": actor,
        "text": text,
        "now": now,
        "staff_message_id": staff_message_id,
        **card,
    }
    relay = tickets.correct(**kw) if edited else tickets.answer(**kw)  # type: ignore[arg-type]
    if relay is None:
        return None
    department = actor.chat_department_key or actor.department_key
    return StaffRelay(relay, actor.role, department, project_name(session, relay.ticket.project_code))


@dataclass(frozen=True)
class PressResult:
    ticket: TicketView
    project_name: str | None
    escalation: Escalation | None = None
    departments: tuple[str, ...] = ()  # for the department chooser


def press(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    card_message_id: int,
    pressed: TicketPress,
) -> PressResult:
    """A ticket button: claim, close, escalate (to the chosen department), or — escalate
    without a department — the bound departments to choose from (after the same check)."""
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    escalation = None
    departments: tuple[str, ...] = ()
    kw = {
        "session": session,
        "ticket_id": pressed.ticket_id,
        "actor": actor,
        "now": now,
        "card_message_id": card_message_id,
    }
    if pressed.action is Action.claim:
        ticket = tickets.claim(**kw)  # type: ignore[arg-type]
    elif pressed.action is Action.close:
        ticket = tickets.close(**kw)  # type: ignore[arg-type]
    elif pressed.action is Action.resolve:
        ticket = tickets.resolve(**kw)  # type: ignore[arg-type]
    elif pressed.action is Action.escalate and pressed.department_key:
        escalation = tickets.escalate(department_key=pressed.department_key, **kw)  # type: ignore[arg-type]
        ticket = escalation.ticket
    elif pressed.action in (Action.escalate, Action.view):
        ticket = tickets.get_ticket(
            session=session,
            ticket_id=pressed.ticket_id,
            actor=actor,
            action=pressed.action,
            card_message_id=card_message_id,
        )
        if pressed.action is Action.escalate:
            departments = tuple(
                b.department_key
                for b in bindings.list_bindings(session=session, kind=ChatKind.department)
                if b.department_key
            )
    else:
        raise PermissionDenied(str(pressed.action), "no such button")
    return PressResult(ticket, project_name(session, ticket.project_code), escalation, departments)


def escalate_command(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    ticket_id: int,
    department_key: str,
) -> PressResult:
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    escalation = tickets.escalate(
        session=session, ticket_id=ticket_id, actor=actor, department_key=department_key, now=now
    )
    return PressResult(escalation.ticket, project_name(session, escalation.ticket.project_code), escalation)


def waiting_on_department_chat(*, session: Session, chat_id: int) -> list[PressResult]:
    """The tickets waiting on the department bound to `chat_id` (escalated to it, or claimed there), each
    as its escalation (thread included), to post their cards again in that chat: a group
    upgraded to a supergroup keeps its old messages in the old chat, where no reply reaches."""
    binding = bindings.get_binding(session=session, chat_id=chat_id)
    if (
        binding is None
        or not binding.active
        or binding.kind != ChatKind.department.value
        or binding.department_key is None
    ):
        return []
    waiting = session.exec(
        select(Ticket)
        .where(  # escalated, or taken (or reopened) while the department holds it
            col(Ticket.status).in_([s.value for s in WAITING_STATUSES]),
            Ticket.department_key == binding.department_key,
        )
        .order_by(col(Ticket.created_at), col(Ticket.id))  # as opened (ids from several processes are not in order)
    ).all()
    results = []
    for ticket in waiting:
        assert ticket.id is not None
        view = TicketView.of(ticket)
        thread = tuple(tickets.ticket_thread(session=session, ticket_id=ticket.id))
        results.append(PressResult(view, project_name(session, view.project_code), Escalation(view, chat_id, thread)))
    return results


def record_cards(
    *, session: Session, ticket_id: int, now: datetime, cards: list[tuple[int, int, str, str | None]]
) -> None:
    """record_card for each (chat id, message id, kind, department key) the bot posted."""
    for chat_id, message_id, kind, department in cards:
        tickets.record_card(
            session=session,
            ticket_id=ticket_id,
            chat_id=chat_id,
            message_id=message_id,
            kind=kind,
            now=now,
            department_key=department,
        )


@dataclass(frozen=True)
class ShownCards:
    """A ticket as it is now and the cards that show it, to refresh them."""

    ticket: TicketView
    project_name: str | None
    cards: tuple[CardRef, ...]


def shown_cards(*, session: Session, ticket_id: int) -> ShownCards:
    ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
    cards = tickets.main_cards(ticket, tickets.ticket_cards(session=session, ticket_id=ticket_id))
    return ShownCards(ticket, project_name(session, ticket.project_code), cards)


@dataclass(frozen=True)
class LeftCard:
    """A ticket still in progress whose steward card was left in a group upgraded to a supergroup."""

    ticket: TicketView
    project_name: str | None


@dataclass(frozen=True)
class LeftCards:
    """What a group upgraded to a supergroup left behind: the steward cards to post again there (the steward group's)
    and the tickets waiting on the department bound to it (a department group's), each as its escalation."""

    steward: list[LeftCard]
    department: list[PressResult]


def claim_left_cards(
    *, session: Session, old_chat_id: int, new_chat_id: int, now: datetime, steward_group: bool
) -> LeftCards:
    """The cards left in `old_chat_id`, a group Telegram upgraded to `new_chat_id` (its old messages stay there, where
    no press or reply reaches), to post again there: the steward cards of the tickets still in progress when the
    supergroup is the steward group (`steward_group`), and the department cards of the tickets waiting on the
    department bound to it.

    Once per move, whoever learns of it first (Telegram's two announcements, a send the sender found refused): the
    move's row is marked by one UPDATE that only an unmarked row matches (the second waits on its lock, then matches
    none). A move not recorded yet (`desk.bindings.migrate_chat` records it) has none. A department card already in
    the supergroup, or owed to it (the send that found the move goes there), or still on its way to the old id (a
    send in flight when the move is announced: its 400 takes it to the supergroup), is not posted again; a steward card is,
    whatever the supergroup holds (a follow-up notice the sender took there before the announcement is recorded as a
    card too)."""

    claimed = session.execute(
        update(ChatMove)
        .where(
            col(ChatMove.old_chat_id) == old_chat_id,
            col(ChatMove.new_chat_id) == new_chat_id,
            col(ChatMove.cards_reposted_at).is_(None),
        )
        .values(cards_reposted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return LeftCards([], [])

    def card_in(chat_id: int, kind: CardKind) -> Exists:
        return exists().where(
            col(TicketCard.ticket_id) == Ticket.id,
            col(TicketCard.chat_id) == chat_id,
            col(TicketCard.kind) == kind.value,
        )

    left: list[LeftCard] = []
    if steward_group:
        in_progress = session.exec(
            select(Ticket)
            .where(col(Ticket.status).in_([s.value for s in ACTIVE_STATUSES]), card_in(old_chat_id, CardKind.steward))
            .order_by(col(Ticket.created_at), col(Ticket.id))  # as opened
        ).all()
        left = [LeftCard(TicketView.of(t), project_name(session, t.project_code)) for t in in_progress]
    there = set(
        session.exec(
            select(TicketCard.ticket_id).where(
                col(TicketCard.chat_id) == new_chat_id, col(TicketCard.kind) == CardKind.department.value
            )
        ).all()
    ) | set(
        session.exec(
            select(OutboxMessage.ticket_id).where(
                col(OutboxMessage.purpose) == DEPARTMENT_CARD,
                or_(
                    and_(
                        col(OutboxMessage.chat_id) == new_chat_id,
                        col(OutboxMessage.status) != OutboxState.failed.value,
                    ),
                    # still on its way to the old id (a send in flight is left there: Telegram's 400 takes it to
                    # the supergroup)
                    and_(
                        col(OutboxMessage.chat_id) == old_chat_id,
                        col(OutboxMessage.status).in_([OutboxState.pending.value, OutboxState.sending.value]),
                    ),
                ),
            )
        ).all()
    )
    waiting = [w for w in waiting_on_department_chat(session=session, chat_id=new_chat_id) if w.ticket.id not in there]
    return LeftCards(left, waiting)


def unfollowed_moves(*, session: Session, since: datetime) -> list[tuple[int, int]]:
    """The moves recorded since `since` whose left cards no one has claimed yet (`claim_left_cards`): a move the
    sender met, whose follow-up did not run (the database failed it, the process stopped first), as (old, new)."""
    rows = session.exec(
        select(ChatMove.old_chat_id, ChatMove.new_chat_id)
        .where(col(ChatMove.cards_reposted_at).is_(None), col(ChatMove.moved_at) >= since)
        .order_by(col(ChatMove.moved_at))
    ).all()
    return [(int(old), int(new)) for old, new in rows]


def chat_gone(*, session: Session, chat_id: int, now: datetime) -> bool:
    return bindings.mark_chat_gone(session=session, chat_id=chat_id, now=now)


# --------------------------------------------------------------------------- admin, stats, learn


def bind(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    title: str,
    project_code: str | None = None,
    department_key: str | None = None,
    department_exists: Callable[[str], bool] | None = None,
    unbind: bool = False,
) -> tuple[BindingView, str | None]:
    """/bind, /bind_dept or /unbind; returns the binding and the project's name."""
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    if unbind:
        return bindings.unbind_chat(session=session, actor=actor, chat_id=chat_id, now=now), None
    if department_key is not None:
        view = bindings.bind_department_chat(
            session=session,
            actor=actor,
            chat_id=chat_id,
            department_key=department_key,
            now=now,
            title=title,
            department_exists=department_exists,
        )
        return view, None
    view = bindings.bind_help_chat(
        session=session, actor=actor, chat_id=chat_id, project_code=project_code or "", now=now, title=title
    )
    return view, project_name(session, view.project_code)


def department_chat_ids(*, session: Session) -> set[int]:
    return {b.chat_id for b in bindings.list_bindings(session=session, kind=ChatKind.department)}


def department_of_chat(*, session: Session, who: Who, chat_id: int) -> str | None:
    """The department whose bound group this chat is (None for any other chat)."""
    kind, binding = chat_kind_of(
        session=session, chat_id=chat_id, steward_chat_id=who.steward_chat_id, lead_chat_id=who.lead_chat_id
    )
    return binding.department_key if kind is ChatKind.department and binding else None


@dataclass(frozen=True)
class Lesson:
    ticket_id: int
    question: str
    answer: str
    project_code: str | None = None  # the ticket's project: the narrower scope on offer
    project_name: str | None = None


def lesson(
    *,
    session: Session,
    who: Who,
    now: datetime,
    chat_id: int,
    user_id: int,
    name: str,
    replied_message_id: int,
) -> Lesson | None:
    """/learn in reply to a relayed answer (in the help group) or to a ticket's card (in a
    staff chat, taking the ticket's latest answer). Stewards and admins only."""
    row = session.exec(
        select(TicketMessage).where(
            TicketMessage.direction == "out",
            TicketMessage.chat_id == chat_id,
            TicketMessage.message_id == replied_message_id,
        )
    ).first()
    if row is not None:
        ticket_id, answer_text = row.ticket_id, row.text
    else:
        ticket = tickets.find_ticket_by_card(session=session, chat_id=chat_id, message_id=replied_message_id)
        if ticket is None:
            return None
        latest = session.exec(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id, TicketMessage.direction == "out")
            .order_by(col(TicketMessage.id).desc())
        ).first()
        if latest is None:
            return None
        ticket_id, answer_text = ticket.id, latest.text
    actor = _actor(session, who, user_id=user_id, chat_id=chat_id, now=now, name=name)
    if actor.role not in (Role.steward, Role.admin):
        raise PermissionDenied(str(Action.learn), "stewards only")
    ticket = tickets.get_ticket(session=session, ticket_id=ticket_id, actor=actor)
    return Lesson(
        ticket.id, ticket.question, answer_text, ticket.project_code, project_name(session, ticket.project_code)
    )
