"""Callback data for ticket buttons: `t:<action>:<ticket id>[:<department key>]`, well under
Telegram's 64 bytes. It only says what was pressed; whether the presser may is decided
again by desk.roles.check with the pressed card (never trusted from the data)."""

from __future__ import annotations

from dataclasses import dataclass

from desk.roles import Action

PREFIX = "t"
_MAX = 64


@dataclass(frozen=True)
class TicketPress:
    action: Action
    ticket_id: int
    department_key: str | None = None


def encode(action: Action | str, ticket_id: int, department_key: str | None = None) -> str:
    parts = [PREFIX, Action(action).value, str(int(ticket_id))]
    if department_key:
        parts.append(department_key)
    data = ":".join(parts)
    if len(data.encode()) > _MAX:
        raise ValueError("callback data over 64 bytes")
    return data


def decode(data: str | None) -> TicketPress | None:
    """None for anything that is not a well-formed ticket button."""
    if not data:
        return None
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX:
        return None
    try:
        action = Action(parts[1])
        ticket_id = int(parts[2])
    except ValueError:
        return None
    if ticket_id <= 0 or not parts[2].isdigit():
        return None
    department = parts[3] if len(parts) == 4 and parts[3] else None
    return TicketPress(action=action, ticket_id=ticket_id, department_key=department)
