"""The one door every update from Telegram comes in by (webhook now; polling can follow)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application


async def accept_update(application: Application[Any, Any, Any, Any, Any, Any], update: Update) -> None:
    """Hand one update to the application; it is processed in the order received."""
    await application.update_queue.put(update)
