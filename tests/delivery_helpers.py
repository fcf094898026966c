"""Flow tests feed updates with Application.process_update; what the bot owes is then in the
outbox. `delivered(app)` lets the outbox sender deliver everything that is due (bounded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.app import build_application, stop_delivery
from bot.sender import sender_of
from config import Settings
from delivery.outbox import OutboxStats
from tests.recording_request import RecordingRequest


async def delivered(app: Any, *, timeout: float = 10.0) -> OutboxStats:
    """Deliver what the bot owes now; returns the outbox counts."""
    return await sender_of(app).drain(timeout=timeout)


@asynccontextmanager
async def sender_held(app: Any) -> AsyncIterator[None]:
    """The outbox sender stopped inside the block (what the bot owes waits in the outbox), started again after it: the
    block's database work is the handling's alone, not a send the handling's commit woke."""
    sender = sender_of(app)
    await sender.stop()
    try:
        yield
    finally:
        await sender.start()


@asynccontextmanager
async def recorded_application(settings: Settings, clock: Any) -> AsyncIterator[Application]:
    """The real Application with a recording request (`bot_data["request"]`), started as the bot
    starts (post_init: learned answers, the outbox sender) and stopped the same way."""
    request = RecordingRequest()
    application = build_application(settings, clock=clock, request=request, rate_limit=False)
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    application.bot_data["request"] = request
    try:
        yield application
    finally:
        await stop_delivery(application)
        await application.shutdown()
