"""The ticket state machine (django-helpdesk style): which status may follow which.

    open      → claimed, escalated, answered, closed
    claimed   → answered, escalated, closed
    escalated → escalated (another hop, to a different department), claimed, answered, closed
    answered  → resolved, closed, escalated (a department must add to it),
                open (the asker followed up: the ticket goes back to the queue)
    resolved, closed: final

A further answer on an answered ticket is a relay, not a transition (status stays answered).
"""

from __future__ import annotations

from desk.errors import InvalidTransition
from desk.models import TicketStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.open: frozenset({S.claimed, S.escalated, S.answered, S.closed}),
    S.claimed: frozenset({S.answered, S.escalated, S.closed}),
    S.escalated: frozenset({S.escalated, S.claimed, S.answered, S.closed}),
    S.answered: frozenset({S.resolved, S.closed, S.escalated, S.open}),
    S.resolved: frozenset(),
    S.closed: frozenset(),
}


def can_transition(from_status: str | S, to_status: str | S) -> bool:
    return S(to_status) in TRANSITIONS[S(from_status)]


def check_transition(ticket_id: int | None, from_status: str | S, to_status: str | S) -> None:
    if not can_transition(from_status, to_status):
        raise InvalidTransition(ticket_id, str(S(from_status)), str(S(to_status)))
