"""Plain, immutable values handed out of the desk (no ORM objects leave it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from desk.models import (
    WAITING_STATUSES,
    ChatBinding,
    Ticket,
    TicketCard,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)


@overload
def _utc(value: datetime) -> datetime: ...


@overload
def _utc(value: None) -> None: ...


def _utc(value: datetime | None) -> datetime | None:
    """Views always carry UTC, whether the row was just written (caller's zone) or read."""
    return value.astimezone(UTC) if value is not None else None


@dataclass(frozen=True)
class TicketView:
    id: int
    project_code: str | None
    help_chat_id: int
    help_message_id: int | None
    help_thread_id: int | None
    asker_user_id: int
    asker_name: str
    question: str
    candidates: tuple[dict[str, Any], ...]
    status: TicketStatus
    assignee_user_id: int | None
    assignee_name: str | None
    department_key: str | None
    created_at: datetime
    updated_at: datetime
    sla_due_at: datetime
    warned_at: datetime | None
    breached_at: datetime | None
    first_response_at: datetime | None
    first_response_by: int | None
    first_response_by_name: str | None
    first_response_role: str | None
    resolved_at: datetime | None

    @property
    def waiting(self) -> bool:
        """True while the first-response clock runs (no response yet, not finished)."""
        return self.first_response_at is None and self.status in WAITING_STATUSES

    @property
    def answered_in_time(self) -> bool:
        return self.first_response_at is not None and self.first_response_at <= self.sla_due_at

    @classmethod
    def of(cls, t: Ticket) -> TicketView:
        assert t.id is not None
        return cls(
            id=t.id,
            project_code=t.project_code,
            help_chat_id=t.help_chat_id,
            help_message_id=t.help_message_id,
            help_thread_id=t.help_thread_id,
            asker_user_id=t.asker_user_id,
            asker_name=t.asker_name,
            question=t.question,
            candidates=tuple(dict(c) for c in (t.candidates or ())),
            status=TicketStatus(t.status),
            assignee_user_id=t.assignee_user_id,
            assignee_name=t.assignee_name,
            department_key=t.department_key,
            created_at=_utc(t.created_at),
            updated_at=_utc(t.updated_at),
            sla_due_at=_utc(t.sla_due_at),
            warned_at=_utc(t.warned_at),
            breached_at=_utc(t.breached_at),
            first_response_at=_utc(t.first_response_at),
            first_response_by=t.first_response_by,
            first_response_by_name=t.first_response_by_name,
            first_response_role=t.first_response_role,
            resolved_at=_utc(t.resolved_at),
        )


class HeldTicket:
    """For results about one ticket: who holds it, read from the ticket itself."""

    ticket: TicketView

    @property
    def holder_user_id(self) -> int | None:
        return self.ticket.assignee_user_id

    @property
    def holder_name(self) -> str | None:
        return self.ticket.assignee_name


@dataclass(frozen=True)
class CardRef:
    ticket_id: int
    chat_id: int
    message_id: int
    kind: str
    department_key: str | None = None

    @classmethod
    def of(cls, c: TicketCard) -> CardRef:
        return cls(
            ticket_id=c.ticket_id,
            chat_id=c.chat_id,
            message_id=c.message_id,
            kind=c.kind,
            department_key=c.department_key,
        )


@dataclass(frozen=True)
class MessageView:
    id: int
    ticket_id: int
    direction: str
    text: str
    author_user_id: int | None
    author_name: str
    author_role: str
    at: datetime
    chat_id: int | None = None
    message_id: int | None = None

    @classmethod
    def of(cls, m: TicketMessage) -> MessageView:
        assert m.id is not None
        return cls(
            id=m.id,
            ticket_id=m.ticket_id,
            direction=m.direction,
            text=m.text,
            author_user_id=m.author_user_id,
            author_name=m.author_name,
            author_role=m.author_role,
            at=_utc(m.at),
            chat_id=m.chat_id,
            message_id=m.message_id,
        )


@dataclass(frozen=True)
class EventView:
    id: int
    ticket_id: int
    at: datetime
    actor_user_id: int | None
    actor_role: str
    action: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, e: TicketEvent) -> EventView:
        assert e.id is not None
        return cls(
            id=e.id,
            ticket_id=e.ticket_id,
            at=_utc(e.at),
            actor_user_id=e.actor_user_id,
            actor_role=e.actor_role,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            detail=dict(e.detail or {}),
        )


@dataclass(frozen=True)
class BindingView:
    chat_id: int
    kind: str
    project_code: str | None
    department_key: str | None
    title: str
    active: bool
    muted: bool

    @classmethod
    def of(cls, b: ChatBinding) -> BindingView:
        return cls(
            chat_id=b.chat_id,
            kind=b.kind,
            project_code=b.project_code,
            department_key=b.department_key,
            title=b.title,
            active=b.active,
            muted=b.muted,
        )
