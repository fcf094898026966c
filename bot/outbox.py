"""The handlers' side of the outbox: the group-commit runner their units of work (and the
messages those owe) go through, and the moment a message's clock starts."""

from __future__ import annotations

from datetime import datetime

from telegram import Message
from telegram.ext import ContextTypes

from bot.telegram_io import services_of
from storage.batch import Batcher


def batcher_of(context: ContextTypes.DEFAULT_TYPE) -> Batcher:
    return services_of(context).delivery.batcher


def received_at(now: datetime, message: Message | None) -> datetime:
    """When the message was sent: clocks start there, not when the bot got to it (a backlog,
    a restart). A date ahead of our clock (skew) counts as now."""
    if message is None or message.date is None:
        return now
    return min(now, message.date)
