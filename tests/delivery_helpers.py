"""Flow tests feed updates with Application.process_update; what the bot owes is then in the
outbox. `delivered(app)` lets the outbox sender deliver everything that is due (bounded)."""

from __future__ import annotations

from typing import Any

from bot.sender import sender_of
from delivery.outbox import OutboxStats


async def delivered(app: Any, *, timeout: float = 10.0) -> OutboxStats:
    """Deliver what the bot owes now; returns the outbox counts."""
    return await sender_of(app.bot_data).drain(timeout=timeout)
