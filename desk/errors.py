"""Domain errors of the desk. The Telegram edge turns each into a Chinese sentence
(see desk.render.error_message); none of them carries user text that is unescaped."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every desk error."""


class TicketNotFound(DeskError):
    def __init__(self, ticket_id: int | str | None) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id} not found")


class PermissionDenied(DeskError):
    def __init__(self, action: str, reason: str = "") -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"{action} refused" + (f": {reason}" if reason else ""))


class InvalidTransition(DeskError):
    def __init__(self, ticket_id: int | None, from_status: str, to_status: str) -> None:
        self.ticket_id = ticket_id
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"ticket {ticket_id}: {from_status} -> {to_status} not allowed")


class TicketChanged(DeskError):
    """Someone else changed the ticket between this action's read and its write, and committed first (two stewards
    escalating it to different departments at once, through two webhook workers): this action is not made. The
    ticket as it is now: `status`, and the department holding it."""

    def __init__(self, ticket_id: int | None, status: str, department_key: str | None) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.department_key = department_key
        super().__init__(f"ticket {ticket_id} changed meanwhile: now {status}, department {department_key!r}")


class AlreadyClaimed(DeskError):
    def __init__(self, ticket_id: int | None, holder_name: str) -> None:
        self.ticket_id = ticket_id
        self.holder_name = holder_name
        super().__init__(f"ticket {ticket_id} already claimed by {holder_name}")


class NotBound(DeskError):
    """A chat the action needs (e.g. the department's group) is not bound, or no longer active."""

    def __init__(self, kind: str, key: str | int | None) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no active {kind} chat bound for {key!r}")


class UnknownProject(DeskError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"project {code!r} not in the ledger")


class UnknownDepartment(DeskError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"department {key!r} unknown")


class NotACard(DeskError):
    """A reply in a staff chat to the bot's confirmation of a ticket's relayed answer, not to its card: nothing is
    relayed, and the staff member is told where to reply (they would believe their addition was sent)."""

    def __init__(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"a reply to ticket {ticket_id}'s confirmation, not its card")


class EmptyAnswer(DeskError):
    def __init__(self) -> None:
        super().__init__("empty answer")
