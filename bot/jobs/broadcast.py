"""Sending scheduled messages to many groups: once each, politely, and on to the next.

Every send goes through the application's bot, so python-telegram-bot's AIORateLimiter (on
in production: 30 messages/s overall, 20 per minute per group) paces a broadcast. On top of
it, one send:

- skips a chat whose binding is muted or inactive (nothing is claimed, nothing recorded);
- claims its reminder key first (scheduler.models.claim_reminder), so a second run, a
  restart or a catch-up never sends it twice;
- on 429 (telegram.error.RetryAfter) waits the server's retry_after and tries once more;
- on 403 (telegram.error.Forbidden: the bot was removed) marks the chat inactive
  (desk.bindings.mark_chat_gone) so later broadcasts skip it;
- records every failure (scheduler.models.mark_failed; the next run may retry it) and never
  raises, so the rest of the broadcast goes on.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.telegram_io import split_message
from desk.bindings import get_binding, mark_chat_gone
from scheduler.models import claim_reminder, mark_failed, mark_sent
from storage import Database

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
MAX_RETRY_AFTER = 600.0  # never park a broadcast longer than this on one 429


class Outcome(str, enum.Enum):
    sent = "sent"
    already = "already"      # claimed by an earlier run: not sent again
    skipped = "skipped"      # muted or inactive chat
    failed = "failed"
    gone = "gone"            # 403: the chat was marked inactive


@dataclass(frozen=True, slots=True)
class Message:
    """What to send: a text (split into parts if long), then a photo with a caption."""

    text: str = ""
    photo: bytes | None = None
    caption: str = ""
    filename: str = "chart.png"


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22.2+: int now, timedelta in a future major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = error.retry_after
    if hasattr(retry_after, "total_seconds"):
        return float(retry_after.total_seconds())
    return float(retry_after)


def _chat_usable(*, session: Any, chat_id: int) -> bool:
    """A chat is usable unless its binding is muted or inactive (an unbound chat is)."""
    binding = get_binding(session=session, chat_id=chat_id)
    return binding is None or (binding.active and not binding.muted)


class Broadcaster:
    """Sends keyed messages through `bot`, texts split to Telegram's limit; `sleep` is
    injectable for tests."""

    def __init__(self, *, bot: Bot, db: Database, clock: Callable[[], datetime],
                 sleep: Sleep = asyncio.sleep) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.sleep = sleep

    async def usable(self, chat_id: int) -> bool:
        return await self.db.run(_chat_usable, chat_id=chat_id)

    async def send(self, *, chat_id: int, key: str, message: Message,
                   day: date | None = None) -> Outcome:
        """Send `message` to `chat_id` once per `key`. Never raises a Telegram error."""
        try:
            if not await self.usable(chat_id):
                return Outcome.skipped
            if not await self.db.run(claim_reminder, key=key, now=self.clock(), day=day):
                return Outcome.already
        except Exception:
            log.exception("could not claim %s", key)
            return Outcome.failed
        try:
            await self._deliver(chat_id, message)
        except Forbidden as exc:
            log.warning("chat %s removed the bot (%s); marking it inactive", chat_id, exc)
            await self._record_failure(key, f"403 {exc.message}")
            try:
                await self.db.run(mark_chat_gone, chat_id=chat_id, now=self.clock())
            except Exception:
                log.exception("could not mark chat %s inactive", chat_id)
            return Outcome.gone
        except TelegramError as exc:
            log.warning("send of %s to %s failed: %s", key, chat_id, exc)
            await self._record_failure(key, f"{type(exc).__name__}: {exc.message}")
            return Outcome.failed
        except Exception as exc:
            log.exception("send of %s to %s failed", key, chat_id)
            await self._record_failure(key, f"{type(exc).__name__}: {exc}")
            return Outcome.failed
        try:
            await self.db.run(mark_sent, key=key, now=self.clock())
        except Exception:
            log.exception("could not mark %s sent", key)
        return Outcome.sent

    async def _record_failure(self, key: str, error: str) -> None:
        try:
            await self.db.run(mark_failed, key=key, now=self.clock(), error=error)
        except Exception:
            log.exception("could not record the failure of %s", key)

    async def _deliver(self, chat_id: int, message: Message) -> None:
        parts = split_message(message.text, as_html=False) if message.text else []
        for part in parts:
            await self._with_retry(partial(self.bot.send_message, chat_id, part))
        if message.photo is not None:
            await self._with_retry(partial(
                self.bot.send_photo, chat_id, photo=message.photo,
                caption=message.caption or None, filename=message.filename))

    async def _with_retry(self, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except RetryAfter as exc:
            wait = min(_seconds(exc), MAX_RETRY_AFTER)
            log.info("429: waiting %.1f s before retrying once", wait)
            await self.sleep(wait)
            return await call()
