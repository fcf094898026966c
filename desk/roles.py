"""Who is acting, and may they? Telegram group membership is the access control:
the chat a message comes from decides the role, and a role once seen in a staff chat
is remembered (StaffMember) so the same person is recognised in help groups.

Resolution order: admin (ADMIN_USER_IDS) > steward (in the steward chat, listed in
staff_user_ids, or seen there before) > department (in a bound department chat, or seen
in one) > lead (in the lead chat, or seen there) > enterprise (anyone else).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from desk.errors import PermissionDenied
from desk.models import (
    CardKind,
    ChatBinding,
    ChatKind,
    Role,
    StaffMember,
    Ticket,
    TicketCard,
)


class Action(str, enum.Enum):
    view = "view"
    claim = "claim"
    answer = "answer"
    escalate = "escalate"
    resolve = "resolve"
    close = "close"
    follow_up = "follow_up"
    learn = "learn"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Actor:
    """Who acts and where. chat_kind is None for a chat the desk does not know (a private
    chat, an unbound group). department_key is the person's department (for role
    department); chat_department_key is the department of the chat they act in."""

    user_id: int | None
    chat_id: int | None
    role: Role
    chat_kind: ChatKind | None = None
    department_key: str | None = None
    chat_department_key: str | None = None
    chat_project_code: str | None = None
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin, Role.steward, Role.department, Role.lead, Role.system)


SYSTEM = Actor(user_id=None, chat_id=None, role=Role.system, name="system")


def chat_kind_of(
    *,
    session: Session,
    chat_id: int | None,
    steward_chat_id: int | None,
    lead_chat_id: int | None,
) -> tuple[ChatKind | None, ChatBinding | None]:
    """The kind of a chat: the steward and lead chats from settings win over bindings;
    an inactive binding counts as unknown."""
    if chat_id is None:
        return None, None
    if steward_chat_id is not None and chat_id == steward_chat_id:
        return ChatKind.steward, None
    if lead_chat_id is not None and chat_id == lead_chat_id:
        return ChatKind.lead, None
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is None or not binding.active:
        return None, binding
    return ChatKind(binding.kind), binding


def resolve_role(
    *,
    session: Session,
    user_id: int | None,
    chat_id: int | None,
    now: datetime,
    admin_ids: Collection[int] = (),
    steward_chat_id: int | None = None,
    lead_chat_id: int | None = None,
    staff_user_ids: Collection[int] = (),
    name: str = "",
) -> Actor:
    """Resolve the actor of one message or button press, and remember staff seen in staff
    chats (last_seen = now)."""
    kind, binding = chat_kind_of(
        session=session, chat_id=chat_id, steward_chat_id=steward_chat_id, lead_chat_id=lead_chat_id
    )
    chat_dept = binding.department_key if kind is ChatKind.department and binding else None
    chat_project = binding.project_code if kind is ChatKind.help and binding else None

    if user_id is not None:
        if kind is ChatKind.steward:
            _seen(session, user_id=user_id, role=Role.steward, department_key="", name=name, now=now)
        elif kind is ChatKind.department and chat_dept:
            _seen(session, user_id=user_id, role=Role.department, department_key=chat_dept, name=name, now=now)
        elif kind is ChatKind.lead:
            _seen(session, user_id=user_id, role=Role.lead, department_key="", name=name, now=now)

    known = _known_roles(session, user_id)
    role: Role
    department: str | None = None
    if user_id is not None and user_id in admin_ids:
        role = Role.admin
    elif kind is ChatKind.steward or user_id in staff_user_ids or Role.steward in known:
        role = Role.steward
    elif kind is ChatKind.department and chat_dept:
        role, department = Role.department, chat_dept
    elif Role.department in known:
        role, department = Role.department, known[Role.department]
    elif kind is ChatKind.lead or Role.lead in known:
        role = Role.lead
    else:
        role = Role.enterprise
    return Actor(
        user_id=user_id,
        chat_id=chat_id,
        role=role,
        chat_kind=kind,
        department_key=department,
        chat_department_key=chat_dept,
        chat_project_code=chat_project,
        name=name,
    )


def _known_roles(session: Session, user_id: int | None) -> dict[Role, str]:
    """Role → department key (the most recently seen department for role department)."""
    if user_id is None:
        return {}
    rows = session.exec(
        select(StaffMember).where(StaffMember.user_id == user_id).order_by(col(StaffMember.last_seen).desc())
    ).all()
    out: dict[Role, str] = {}
    for row in rows:
        out.setdefault(Role(row.role), row.department_key)
    return out


def _seen(session: Session, *, user_id: int, role: Role, department_key: str, name: str, now: datetime) -> None:
    """Insert or refresh one StaffMember row; ON CONFLICT so two first messages at once
    cannot collide on the unique key."""
    values = {
        "user_id": user_id,
        "role": role.value,
        "department_key": department_key,
        "name": name[:200],
        "last_seen": now,
    }
    dialect = session.get_bind().dialect.name
    update = {"last_seen": now, **({"name": name[:200]} if name else {})}
    stmt: Any
    if dialect == "postgresql":
        stmt = (
            postgresql.insert(StaffMember)
            .values(**values)
            .on_conflict_do_update(constraint="uq_desk_staff_member", set_=update)
        )
    elif dialect == "sqlite":
        stmt = (
            sqlite.insert(StaffMember)
            .values(**values)
            .on_conflict_do_update(index_elements=["user_id", "role", "department_key"], set_=update)
        )
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    session.execute(stmt)


def staff_members(*, session: Session, role: Role | None = None) -> list[tuple[int, str, str, str]]:
    """(user_id, role, department_key, name) of the staff seen so far."""
    query = select(StaffMember)
    if role is not None:
        query = query.where(StaffMember.role == role.value)
    return [
        (m.user_id, m.role, m.department_key, m.name)
        for m in session.exec(query.order_by(col(StaffMember.user_id))).all()
    ]


# --------------------------------------------------------------------------- checks

_DEPARTMENT_ACTIONS = frozenset({Action.view, Action.claim, Action.answer})
_ENTERPRISE_ACTIONS = frozenset({Action.view, Action.follow_up})


def check(
    *,
    session: Session,
    actor: Actor,
    action: Action | str,
    ticket: Ticket,
    card_message_id: int | None = None,
) -> None:
    """Raise PermissionDenied unless `actor` may do `action` on `ticket` from where they are.

    card_message_id: set for a button press; the pressed message must be a card of this
    very ticket in the actor's chat, and a department card only counts while the ticket
    is still with that department. This is what makes a forged ticket id in callback data
    useless."""
    action = Action(action)
    role = actor.role
    if role is Role.system:
        return

    # Where: a help chat only sees its own tickets, a department chat only its department's.
    if actor.chat_kind is ChatKind.help:
        if ticket.help_chat_id != actor.chat_id:
            raise PermissionDenied(str(action), "ticket of another help group")
    elif actor.chat_kind is ChatKind.department:
        if not ticket.department_key or ticket.department_key != actor.chat_department_key:
            raise PermissionDenied(str(action), "ticket not escalated to this department")
    elif actor.chat_kind is None and role not in (Role.admin, Role.steward, Role.department):
        raise PermissionDenied(str(action), "not a desk chat")

    # Who.
    if role is Role.enterprise:
        if action not in _ENTERPRISE_ACTIONS or ticket.asker_user_id != actor.user_id:
            raise PermissionDenied(str(action), "enterprise")
    elif role is Role.lead:
        if action is not Action.view:
            raise PermissionDenied(str(action), "lead reads only")
    elif role is Role.department:
        dept = actor.chat_department_key or actor.department_key
        if action not in _DEPARTMENT_ACTIONS:
            raise PermissionDenied(str(action), "department")
        if not ticket.department_key or ticket.department_key != dept:
            raise PermissionDenied(str(action), "ticket not escalated to this department")
    elif role in (Role.admin, Role.steward):
        if action is Action.follow_up:
            raise PermissionDenied(str(action), "staff do not follow up")
    else:  # pragma: no cover
        raise PermissionDenied(str(action), f"role {role}")

    if card_message_id is not None:
        _check_card(session=session, actor=actor, action=action, ticket=ticket, card_message_id=card_message_id)


def _check_card(*, session: Session, actor: Actor, action: Action, ticket: Ticket, card_message_id: int) -> None:
    if actor.chat_kind not in (ChatKind.steward, ChatKind.department):
        raise PermissionDenied(str(action), "buttons work in staff chats only")
    card = session.exec(
        select(TicketCard).where(TicketCard.chat_id == actor.chat_id, TicketCard.message_id == card_message_id)
    ).first()
    if card is None or card.ticket_id != ticket.id:
        raise PermissionDenied(str(action), "not this ticket's card")
    if not card_is_current(card, ticket):
        raise PermissionDenied(str(action), "card of a department the ticket has left")


def card_is_current(card: TicketCard, ticket: Ticket) -> bool:
    """A department's card only counts while the ticket is still with that department."""
    return card.kind != CardKind.department.value or card.department_key == ticket.department_key


def require_admin(actor: Actor, action: str) -> None:
    if actor.role is not Role.admin:
        raise PermissionDenied(action, "admins only")
