"""Scheduled messages to many groups: each one owed once, delivered by the outbox sender.

One send is one transaction: skip a muted or inactive chat (nothing claimed), claim the
reminder key (scheduler.models.claim_reminder, so a second run, a restart or the catch-up
never owes it twice) and write the message to the outbox (delivery.outbox) — a claim never
exists without its message. The sender (bot/sender.py) paces and retries it (429 after
retry_after, 5xx with backoff), and records the outcome in the reminder log: sent, or failed
with the reason (403 also retires the chat's binding, so later broadcasts skip it).
"""

from __future__ import annotations

import base64
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Bot

from delivery.outbox import Owed, Priority, enqueue_all, message_payload
from desk.bindings import get_binding
from scheduler.models import claim_reminder
from storage import Database

log = logging.getLogger(__name__)

# An owed reminder is never claimed again while its message waits in the outbox.
NEVER_STALE = timedelta(days=3650)


class Outcome(str, enum.Enum):
    sent = "sent"  # owed: written to the outbox with its claim
    already = "already"  # claimed by an earlier run: not sent again
    skipped = "skipped"  # muted or inactive chat
    failed = "failed"
    gone = "gone"  # 403: the chat was marked inactive


@dataclass(frozen=True, slots=True)
class Message:
    """What to send: a text (split into parts if long), then a photo with a caption."""

    text: str = ""
    photo: bytes | None = None
    caption: str = ""
    filename: str = "chart.png"


def _chat_usable(*, session: Any, chat_id: int) -> bool:
    """A chat is usable unless its binding is muted or inactive (an unbound chat is)."""
    binding = get_binding(session=session, chat_id=chat_id)
    return binding is None or (binding.active and not binding.muted)


def _owed(chat_id: int, key: str, message: Message) -> list[Owed]:
    follow_up = {"kind": "reminder", "key": key}
    rows = []
    if message.text:
        rows.append(
            Owed(
                chat_id,
                message_payload(message.text, parse_mode=None),
                "reminder",
                Priority.reminder,
                follow_up=None if message.photo else follow_up,
            )
        )
    if message.photo is not None:
        rows.append(
            Owed(
                chat_id,
                {
                    "photo_b64": base64.b64encode(message.photo).decode(),
                    "caption": message.caption,
                    "filename": message.filename,
                },
                "reminder",
                Priority.reminder,
                method="sendPhoto",
                follow_up=follow_up,
            )
        )
    return rows


def owe_reminder(*, session: Any, chat_id: int, key: str, message: Message, now: datetime, day: date | None) -> Outcome:
    """Skip, or claim the key and owe the message, in one transaction."""
    if not _chat_usable(session=session, chat_id=chat_id):
        return Outcome.skipped
    if not claim_reminder(session=session, key=key, now=now, day=day, stale_after=NEVER_STALE):
        return Outcome.already
    enqueue_all(session=session, owed=_owed(chat_id, key, message), now=now)
    return Outcome.sent


class Broadcaster:
    """Owes keyed messages; the outbox sender delivers them (`bot` is kept for callers)."""

    def __init__(self, *, bot: Bot | None, db: Database, clock: Callable[[], datetime]) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock

    async def send(self, *, chat_id: int, key: str, message: Message, day: date | None = None) -> Outcome:
        """Owe `message` to `chat_id` once per `key`. Never raises."""
        try:
            return await self.db.run(owe_reminder, chat_id=chat_id, key=key, message=message, now=self.clock(), day=day)
        except Exception:
            log.exception("could not owe %s", key)
            return Outcome.failed
