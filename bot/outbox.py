"""The handlers' side of the outbox: owe messages in one transaction with what the update
changes, and — when the database is down — still answer from memory (bot/sender.py sends
without a row) while the database work waits in memory for its return."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import Message
from telegram.ext import ContextTypes

from bot.sender import sender_of
from bot.telegram_io import services_of
from delivery.outbox import Owed, enqueue_all
from storage.batch import Batcher

log = logging.getLogger(__name__)


def batcher_of(context: ContextTypes.DEFAULT_TYPE) -> Batcher:
    return services_of(context).delivery.batcher


def received_at(now: datetime, message: Message | None) -> datetime:
    """When the message was sent: clocks start there, not when the bot got to it (a backlog,
    a restart). A date ahead of our clock (skew) counts as now."""
    if message is None or message.date is None:
        return now
    return min(now, message.date)


def _owe(*, session: Session, owed: Sequence[Owed], now: datetime, unit: Callable[..., Any] | None) -> None:
    if unit is not None:
        unit(session=session)
    enqueue_all(session=session, owed=owed, now=now)


async def owe(
    context: ContextTypes.DEFAULT_TYPE, owed: Sequence[Owed], *, unit: Callable[..., Any] | None = None
) -> None:
    """Write `unit` (e.g. the question log row) and the owed messages in one transaction.
    If the database cannot be reached, send the messages anyway (in memory, retried) and
    keep `unit` until the database is back."""
    services = services_of(context)
    try:
        await batcher_of(context).run(_owe, owed=list(owed), now=services.clock(), unit=unit)
    except SQLAlchemyError as exc:
        log.warning("database unavailable (%s): answering from memory", type(exc).__name__)
        sender = sender_of(context.application)
        for message in owed:
            sender.send_volatile(message)
        if unit is not None:
            sender.later(unit)
