"""Sending to Telegram with retries, for the ticket handlers and the jobs alike.

A send returns what happened (`Sent`) instead of raising, so one failed chat never stops a
sweep or a broadcast."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    TelegramError,
    TimedOut,
)

from bot.telegram_io import rendered_text, split_message

log = logging.getLogger(__name__)
T = TypeVar("T")

# Waits before trying a send again after a server error (5xx) or a dropped connection. A 429
# is AIORateLimiter's (it waits retry_after); 400, 403 and a timeout (the message may have
# arrived) are never retried.
RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call; after a transient error (5xx, connection) try again, at most
    len(RETRY_DELAYS) times. The last error is raised."""
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except NetworkError as exc:
            if isinstance(exc, (BadRequest, TimedOut)):
                raise
            log.info("transient Telegram error (%s); trying again in %.1f s", exc, delay)
            await asyncio.sleep(delay)
    return await call()


@dataclass(frozen=True)
class Sent:
    message: Message | None  # the last part (the one with the buttons), once all were sent
    error: TelegramError | None = None
    parts: tuple[Message, ...] = ()  # every message posted, in order (record them all)
    migrated_to: int | None = None  # Telegram said the group is now this supergroup

    @property
    def ok(self) -> bool:
        return self.message is not None

    @property
    def gone(self) -> bool:
        """Telegram said 403: the bot was removed from the chat."""
        return isinstance(self.error, Forbidden)


async def send(
    bot: Bot,
    chat_id: int | None,
    html: str,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
    markup: InlineKeyboardMarkup | None = None,
) -> Sent:
    """Send HTML split to Telegram's limit (buttons on the last part); a failure is logged
    and returned, never raised. A part Telegram would show empty (only blanks) is left out."""
    if chat_id is None:
        return Sent(None)
    parts = [p for p in split_message(html) if rendered_text(p).strip()] or [html]
    posted: list[Message] = []
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            params = (
                ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                if reply_to and index == 0
                else None
            )
            posted.append(
                await with_retry(
                    partial(
                        bot.send_message,
                        chat_id,
                        part,
                        parse_mode=ParseMode.HTML,
                        reply_parameters=params,
                        message_thread_id=thread_id,
                        reply_markup=markup if last else None,
                    )
                )
            )
    except ChatMigrated as exc:
        if posted:  # a group is not upgraded between two parts of one message
            return Sent(None, exc, tuple(posted))
        log.info("chat %s is now supergroup %s: sending there", chat_id, exc.new_chat_id)
        again = await send(bot, int(exc.new_chat_id), html, reply_to=reply_to, thread_id=thread_id, markup=markup)
        return replace(again, migrated_to=int(exc.new_chat_id))
    except TelegramError as exc:
        log.warning("could not send to chat %s: %s", chat_id, exc)
        return Sent(None, exc, tuple(posted))
    return Sent(posted[-1], None, tuple(posted))
