"""Webhook mode: a small Starlette app served by uvicorn, as in python-telegram-bot's
custom-webhook example (PTB's own tornado server cannot serve a health check).

- POST <path of TELEGRAM_WEBHOOK_URL>: an update from Telegram. Refused with 403 unless the
  `X-Telegram-Bot-Api-Secret-Token` header equals WEBHOOK_SECRET; handed to bot.ingest.
- GET /healthz: database reachable, knowledge loaded, who holds the scheduler; 200 or 503.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.ingest import accept_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


def build_webhook_app(
    *, application: Application[Any, Any, Any, Any, Any, Any], path: str, secret: str, health: Health
) -> Starlette:
    """The ASGI app of one webhook worker."""

    async def telegram(request: Request) -> Response:
        """Take one update from Telegram; anything without the secret is refused."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning(
                "webhook request without the right secret refused (from %s)",
                request.client.host if request.client else "?",
            )
            return Response(status_code=HTTPStatus.FORBIDDEN)
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("webhook request that is not an update refused (%s)", type(exc).__name__)
            return Response(status_code=HTTPStatus.BAD_REQUEST)
        if update is None:
            return Response(status_code=HTTPStatus.BAD_REQUEST)
        await accept_update(application, update)
        return Response(status_code=HTTPStatus.OK)

    async def healthz(_request: Request) -> Response:
        """Say whether this worker can serve: 200 when healthy, 503 with the reason when not."""
        healthy, detail = await health()
        return JSONResponse(detail, status_code=HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)

    return Starlette(
        routes=[
            Route(path, telegram, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
        ]
    )
