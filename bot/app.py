"""The application factory: settings in, a ready python-telegram-bot Application out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

import texts
from bot import shared_facts
from bot.services import Services, build_services
from bot.telegram_io import SERVICES_KEY
from config import Settings
from config.modules import import_if_present
from storage import utcnow

log = logging.getLogger(__name__)

# Each module has register(application); order matters only for handler groups.
HANDLER_MODULES = ("handlers.basics", "handlers.questions", "handlers.tickets", "handlers.ledger")


def _file_url(base_url: str) -> str:
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url.rstrip("/") + "/file/bot"


def build_application(
    settings: Settings,
    *,
    services: Services | None = None,
    clock: Callable[[], datetime] = utcnow,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> Application:  # type: ignore[type-arg]
    """Build the bot: services, handlers, command menu. Nothing runs until it is started."""
    services = services or build_services(settings, clock=clock)
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = ApplicationBuilder().token(settings.telegram_bot_token.get_secret_value())
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url).base_file_url(
            _file_url(settings.telegram_api_base_url)
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    builder = builder.post_init(_post_init)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    for name in HANDLER_MODULES:
        module = import_if_present(name)
        if module is not None:
            module.register(application)
    shared_facts.register(application)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the Chinese command menu and load what was learned before the restart."""
    services: Services = application.bot_data[SERVICES_KEY]
    learned = await services.knowledge.load_learned()
    log.info("loaded %d learned entries", learned)
    try:
        await application.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.BOT_COMMANDS])
    except TelegramError as exc:  # cosmetic: the bot works without its menu
        log.warning("could not register the command menu (%s); continuing without it", exc)
