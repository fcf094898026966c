"""Long polling of our own: every update goes through bot.ingest.accept_update, as in webhook mode.

PTB's Updater would do the polling, but on a 409 Conflict it keeps retrying, and when stopped it
confirms the last offset with one more getUpdates, which cuts the long poll of the instance that
keeps running and makes that one see a 409 too. Here a 409 ends the loop at once, without
another request, so exactly one poller is left."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter
from telegram.ext import Application

from bot.ingest import accept_update

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 10
MAX_BACKOFF_SECONDS = 30.0


async def poll(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    stop: asyncio.Event,
    on_conflict: Callable[[Conflict], None],
) -> None:
    """Fetch updates and hand them on until `stop` is set or Telegram reports another poller."""
    bot = application.bot
    offset = 0
    backoff = 0.0
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            bot.get_updates(
                offset=offset,
                timeout=LONG_POLL_SECONDS,
                allowed_updates=Update.ALL_TYPES,
                read_timeout=LONG_POLL_SECONDS + 10,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((fetch, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():  # told to stop during a long poll: what it would bring stays unconfirmed
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            break
        try:
            updates = fetch.result()
        except Conflict as exc:
            on_conflict(exc)
            return
        except RetryAfter as exc:
            await _pause(
                stop,
                float(
                    exc.retry_after if isinstance(exc.retry_after, (int, float)) else exc.retry_after.total_seconds()
                ),
            )
            continue
        except NetworkError as exc:
            backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF_SECONDS)
            log.warning("polling for updates failed (%s: %s); retrying in %.0f s", type(exc).__name__, exc, backoff)
            await _pause(stop, backoff)
            continue
        backoff = 0.0
        for update in updates:
            await accept_update(application, update)
            offset = update.update_id + 1
    if offset:  # confirm what was received, so a restart does not fetch it again
        with contextlib.suppress(Exception):
            await bot.get_updates(offset=offset, timeout=0, limit=1)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
