"""Where every update enters the bot: store it in the inbox, then queue it for processing.

The webhook handler (issue 9's bot/webhook.py) calls `accept_update` before it answers 200;
polling stores each getUpdates batch in bot.inbox.InboxRequest before PTB acknowledges it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot.telegram_io import services_of_app


async def accept_update(application: Application, update: Update) -> None:  # type: ignore[type-arg]
    """Store `update` (so a crash cannot lose it), then queue it."""
    await services_of_app(application).delivery.inbox.store([update.to_dict()])
    await application.update_queue.put(update)
