"""Desk tables: tickets, their cards in staff chats, their thread, their audit trail,
chat bindings and the staff seen in staff chats.

Chat, user and message ids are BigInteger: Telegram supergroup ids (-100…) do not fit
in 32 bits. Every time column is UTCDateTime (aware in, aware out)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class TicketStatus(str, enum.Enum):
    open = "open"  # waiting for a steward
    claimed = "claimed"  # a person holds it
    escalated = "escalated"  # sent to a department's group (管家吹哨)
    answered = "answered"  # a response was relayed to the help group
    resolved = "resolved"  # done, the question is settled
    closed = "closed"  # done without (further) answer: duplicate, spam, withdrawn

    def __str__(self) -> str:
        return self.value


# Statuses whose first-response clock may still be running.
WAITING_STATUSES = (TicketStatus.open, TicketStatus.claimed, TicketStatus.escalated)
# Statuses of a ticket that is not finished (follow-ups attach to these).
ACTIVE_STATUSES = (*WAITING_STATUSES, TicketStatus.answered)
FINAL_STATUSES = (TicketStatus.resolved, TicketStatus.closed)


class ChatKind(str, enum.Enum):
    help = "help"
    department = "department"
    steward = "steward"
    lead = "lead"

    def __str__(self) -> str:
        return self.value


class Role(str, enum.Enum):
    admin = "admin"
    steward = "steward"
    department = "department"
    lead = "lead"
    enterprise = "enterprise"
    system = "system"  # the SLA sweep and other automatic changes

    def __str__(self) -> str:
        return self.value


def _bigint(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(BigInteger, nullable=nullable, index=index))


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Ticket(SQLModel, table=True):
    __tablename__ = "desk_ticket"
    __table_args__ = (Index("ix_desk_ticket_asker", "help_chat_id", "asker_user_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    project_code: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    help_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    help_message_id: int | None = _bigint()
    help_thread_id: int | None = _bigint()
    asker_user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    asker_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    question: str = Field(sa_column=Column(Text, nullable=False))
    # What the matcher offered: [{"key":…, "title":…, "score":…, "department":…}, …]
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=TicketStatus.open.value, sa_column=Column(String(16), nullable=False, index=True))
    assignee_user_id: int | None = _bigint()
    assignee_name: str | None = Field(default=None, sa_column=Column(String(200)))
    department_key: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sla_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    warned_at: datetime | None = _when()
    breached_at: datetime | None = _when()
    first_response_at: datetime | None = _when()
    first_response_by: int | None = _bigint()
    first_response_by_name: str | None = Field(default=None, sa_column=Column(String(200)))
    first_response_role: str | None = Field(default=None, sa_column=Column(String(16)))
    # Set when the ticket reaches resolved or closed (cleared if it is ever reopened).
    resolved_at: datetime | None = _when()


class CardKind(str, enum.Enum):
    steward = "steward"
    department = "department"

    def __str__(self) -> str:
        return self.value


# The outbox purposes of the rows that post the cards (`desk.work.claim_left_cards` looks for those owed to a chat)
STEWARD_CARD = "ticket_card"
DEPARTMENT_CARD = "department_card"


class TicketCard(SQLModel, table=True):
    """A message in a staff chat that shows the ticket; a reply to it answers the ticket."""

    __tablename__ = "desk_ticket_card"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_desk_ticket_card_msg"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(
        sa_column=Column(Integer, ForeignKey("desk_ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    department_key: str | None = Field(default=None, sa_column=Column(String(64)))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TicketMessage(SQLModel, table=True):
    """The thread: the question's follow-ups (in) and the answers relayed (out)."""

    __tablename__ = "desk_ticket_message"
    __table_args__ = (Index("ix_desk_ticket_message_posted", "chat_id", "message_id"),)  # a reply to a relayed answer

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(
        sa_column=Column(Integer, ForeignKey("desk_ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    direction: str = Field(sa_column=Column(String(3), nullable=False))  # "in" | "out"
    text: str = Field(sa_column=Column(Text, nullable=False))
    author_user_id: int | None = _bigint()
    author_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    author_role: str = Field(default="", sa_column=Column(String(16), nullable=False))
    chat_id: int | None = _bigint()
    message_id: int | None = _bigint()
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TicketEvent(SQLModel, table=True):
    """The audit trail: one row per change, never updated or deleted."""

    __tablename__ = "desk_ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(
        sa_column=Column(Integer, ForeignKey("desk_ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor_user_id: int | None = _bigint()
    actor_role: str = Field(sa_column=Column(String(16), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str | None = Field(default=None, sa_column=Column(String(16)))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChatBinding(SQLModel, table=True):
    """What a Telegram chat is to the desk. The steward and lead chats come from settings
    but may be recorded here too (for `active`/`muted`)."""

    __tablename__ = "desk_chat_binding"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    project_code: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    department_key: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    title: str = Field(default="", sa_column=Column(String(255), nullable=False))
    # False once Telegram said the bot is no longer there (403); kept for history.
    active: bool = Field(default=True, nullable=False)
    muted: bool = Field(default=False, nullable=False)
    bound_by: int | None = _bigint()
    bound_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StaffMember(SQLModel, table=True):
    """A user seen in a staff chat. One row per (user, role, department): a person may be
    a steward and sit in a department group too. department_key is '' unless role is
    department (NULLs would make the unique constraint useless)."""

    __tablename__ = "desk_staff_member"
    __table_args__ = (UniqueConstraint("user_id", "role", "department_key", name="uq_desk_staff_member"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    department_key: str = Field(default="", sa_column=Column(String(64), nullable=False))
    name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ChatMove(SQLModel, table=True):
    """A group Telegram upgraded to a supergroup (migrate_to_chat_id): the old id and the new one. The steward and
    lead chats are set in the settings, which stay as they are: their ids are resolved through these rows at use
    (desk.bindings.current_chat_id), so the bot goes on in the supergroup without a restart or a change of setting."""

    __tablename__ = "desk_chat_move"

    old_chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    new_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    moved_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # when the cards left in the old chat were posted again in the new one (desk.work.claim_left_cards):
    # once, whoever learns of the move first (either of Telegram's two announcements, or the sender meeting its 400)
    cards_reposted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
