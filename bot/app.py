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
from bot.jobs import reminder_job, sla_job
from bot.services import Hooks, Services, build_services
from bot.telegram_io import SERVICES_KEY, services_of_app
from config import Settings
from handlers import basics, ledger, questions, tickets
from storage import utcnow

log = logging.getLogger(__name__)

# Each module has register(application); order matters only for handler groups.
HANDLER_MODULES = (basics, questions, tickets, ledger)


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
        # PTB types a builder made by ApplicationBuilder() as one without a rate limiter
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    builder = builder.post_init(_post_init)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    services.wire(Hooks(
        handoff=tickets.on_handoff,
        status_answer=ledger.answer_status,
        project_status=ledger.answer_project_status,
        answer_markup=tickets.answer_markup,
    ))
    for module in HANDLER_MODULES:
        module.register(application)
    sla_job.register(application)
    reminder_job.schedule(application)
    shared_facts.register(application)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the Chinese command menu and load what was learned before the restart."""
    services = services_of_app(application)
    learned = await services.knowledge.load_learned()
    log.info("loaded %d learned entries", learned)
    try:
        await application.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.BOT_COMMANDS])
    except TelegramError as exc:  # cosmetic: the bot works without its menu
        log.warning("could not register the command menu (%s); continuing without it", exc)
