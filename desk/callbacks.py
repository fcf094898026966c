"""Callback data of the bot's buttons, and the checks a press must pass before anything
changes. Telegram lets a client send any callback data on any message of the bot, so a
press is only taken when the pressed message is the bot's own, the data is one of the
buttons that message really carries, and the message serves the button's purpose:

- ticket buttons `t:<action>:<ticket id>[:<department key>]` (whether the presser may is
  decided again by desk.roles.check with the pressed card, never trusted from the data);
- clarify choices `kb:<item>:<intent>` only on the bot's clarify prompt, by the asker it offers them to;
- feedback `fb:ok` / `fb:no[:<item>]` only under an answer (or `fb:no[:<item>]` under a choice
  of items), by the asker it answered, and never in a staff chat;
- the /learn scope `ln:a|p:<message id>` only on the bot's prompt, by who sent that /learn.

Plain values only: the edge turns the pressed Telegram message into a `PressedMessage`.
A press that fails any check (including data that does not parse, or a ticket id out of
range) gets one and the same refusal, so a stranger learns nothing about which ids exist."""

from __future__ import annotations

from dataclasses import dataclass

from desk.roles import Action

PREFIX = "t"
CLARIFY_PREFIX = "kb"
FEEDBACK_PREFIX = "fb"
LEARN_PREFIX = "ln"
_MAX = 64
# The largest id a database integer holds; anything above is no ticket (and would overflow
# SQLite's INTEGER if it reached a query).
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class TicketPress:
    action: Action
    ticket_id: int
    department_key: str | None = None


@dataclass(frozen=True)
class PressedMessage:
    """The message a button was pressed on, as Telegram showed it."""

    chat_id: int
    message_id: int
    by_bot: bool  # sent by this bot
    buttons: frozenset[str]  # callback data of the buttons it carries now
    text: str = ""
    replied_user_id: int | None = None  # author of the message it replies to
    staff_chat: bool = False  # the steward, lead or a department group


@dataclass(frozen=True)
class ClarifyChoice:
    item: str
    intent: str


@dataclass(frozen=True)
class Feedback:
    solved: bool
    item: str | None = None


@dataclass(frozen=True)
class LearnChoice:
    for_project: bool  # only the ticket's project, else every project
    message_id: int  # the answer or card the /learn replied to


def learn_data(*, for_project: bool, message_id: int) -> str:
    return f"{LEARN_PREFIX}:{'p' if for_project else 'a'}:{int(message_id)}"


def learn_choice(data: str | None, pressed: PressedMessage, *, presser_id: int) -> LearnChoice | None:
    """The scope chosen on the bot's /learn prompt, by the person who sent that /learn."""
    if not _on_its_message(data, pressed) or pressed.replied_user_id is None or pressed.replied_user_id != presser_id:
        return None
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != LEARN_PREFIX or parts[1] not in ("a", "p"):
        return None
    message_id = parse_id(parts[2])
    return None if message_id is None else LearnChoice(parts[1] == "p", message_id)


def parse_id(text: str) -> int | None:
    """A positive decimal id that fits a database integer, else None (「#12」 is 12)."""
    digits = text.strip().removeprefix("#")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None
    value = int(digits)
    return value if 0 < value <= MAX_ID else None


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
    except ValueError:
        return None
    ticket_id = parse_id(parts[2]) if not parts[2].startswith("#") else None
    if ticket_id is None:
        return None
    department = parts[3] if len(parts) == 4 and parts[3] else None
    return TicketPress(action=action, ticket_id=ticket_id, department_key=department)


def _on_its_message(data: str | None, pressed: PressedMessage) -> bool:
    return bool(data) and pressed.by_bot and data in pressed.buttons


def ticket_press(data: str | None, pressed: PressedMessage) -> TicketPress | None:
    """The ticket button, if it is one the pressed message of the bot carries in a staff chat."""
    if not _on_its_message(data, pressed) or not pressed.staff_chat:
        return None
    return decode(data)


def clarify_choice(data: str | None, pressed: PressedMessage, *, prompt: str, presser_id: int) -> ClarifyChoice | None:
    """The chosen item, if pressed on the bot's own clarify prompt (text `prompt`) by the asker it offers the choice
    to: another member's press would take the asker's 「都不是，转人工」 away with the buttons. When the asker cannot be
    told (the question was deleted) anyone's press is taken, as before there was a button to a person."""
    if (
        not _on_its_message(data, pressed)
        or pressed.text != prompt
        or (pressed.replied_user_id is not None and pressed.replied_user_id != presser_id)
    ):
        return None
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != CLARIFY_PREFIX or not parts[1]:
        return None
    return ClarifyChoice(item=parts[1], intent=parts[2] or "other")


def feedback(data: str | None, pressed: PressedMessage, *, presser_id: int) -> Feedback | None:
    """「已解决」/「没解决」 (or 「都不是」 under a choice), if pressed under the bot's reply by the asker it answered —
    in a private chat by its user (the chat's id is theirs), also when the question it answered was deleted."""
    own_chat = pressed.chat_id == presser_id
    if (
        not _on_its_message(data, pressed)
        or pressed.staff_chat
        or not (own_chat or (pressed.replied_user_id is not None and pressed.replied_user_id == presser_id))
    ):
        return None
    parts = (data or "").split(":")
    if parts[0] != FEEDBACK_PREFIX or len(parts) not in (2, 3):
        return None
    if parts[1] == "ok" and len(parts) == 2:
        return Feedback(solved=True)
    if parts[1] == "no":
        return Feedback(solved=False, item=parts[2] if len(parts) == 3 and parts[2] else None)
    return None
