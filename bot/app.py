"""The application factory: settings in, a ready python-telegram-bot Application out."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

import texts
from bot.inbox import ChatOrderedProcessor, Inbox, InboxRequest
from bot.jobs import reminder_job, sla_job
from bot.sender import Limits, Sender
from bot.services import Delivery, Hooks, Services, build_services
from bot.telegram_io import SERVICES_KEY, services_of_app
from config import Settings
from handlers import basics, ledger, questions, tickets
from storage import utcnow
from storage.batch import Batcher

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
    # Updates: stored before they are acknowledged, processed per chat in order (bot/inbox.py).
    inbox = Inbox(services.db, instance=settings.instance_name, lease_seconds=settings.inbox_lease_seconds, clock=clock)
    updates_request = request if request is not None else HTTPXRequest(connection_pool_size=1)
    if request is not None:
        builder = builder.request(request)
    builder = builder.get_updates_request(InboxRequest(updates_request, inbox.store))
    builder = builder.concurrent_updates(ChatOrderedProcessor(inbox))
    # Sends: through the outbox; the sender paces per chat and overall (bot/sender.py), so no
    # handler waits for a rate limiter. rate_limit=False lifts the pacing (flow tests).
    limits = _limits(settings) if rate_limit else Limits.lifted()
    builder = builder.post_init(_post_init).post_stop(_post_stop)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    services.wire(
        Hooks(
            handoff=tickets.handoff_part,
            status_answer=ledger.status_part,
            project_status=ledger.project_status_part,
            answer_markup=tickets.answer_markup,
        ),
        Delivery(
            inbox=inbox,
            sender=Sender(bot=application.bot, db=services.db, limits=limits),
            # Every group-committed transaction first checks the cached shared facts (bot/shared_facts.py).
            batcher=Batcher(services.db, before=services.facts.check, concurrency=settings.db_transactions_in_flight),
        ),
    )
    for module in HANDLER_MODULES:
        module.register(application)
    sla_job.register(application)
    reminder_job.schedule(application)
    return application


def settle_start_up_heap() -> None:
    """Collect start-up's garbage once and exempt what start-up built (the knowledge base, the model, the
    application) from later full collections. Each full collection walked all of it: 90-160 ms with every
    update waiting, the longest pause of a running bot (README, "Delivery"); after the freeze, 4 ms."""
    gc.collect()
    gc.freeze()


def _limits(settings: Settings) -> Limits:
    return Limits(
        per_second=settings.outbox_per_second,
        group_per_minute=settings.outbox_group_per_minute,
        lease_seconds=settings.outbox_lease_seconds,
        keep_days=settings.outbox_keep_days,
    )


async def start_delivery(application: Application) -> None:  # type: ignore[type-arg]
    """Replay the inbox, start the outbox sender (post_init; before polling starts)."""
    delivery = services_of_app(application).delivery
    await delivery.inbox.replay(application)
    await delivery.inbox.start()
    await delivery.sender.start()


async def stop_delivery(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the sender (sends in flight finish, outcomes recorded) and flush the inbox."""
    delivery = services_of_app(application).delivery
    await delivery.sender.stop()
    await delivery.inbox.stop()


async def _post_stop(application: Application) -> None:  # type: ignore[type-arg]
    """After the application stopped (polling, webhook and the runtime's drain all call it)."""
    await stop_delivery(application)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the Chinese command menu, load what was learned, start delivery and the question reader's training."""
    services = services_of_app(application)
    services.knowledge.start_question_reader()  # in a thread, while the rest of the start-up waits on the network
    await start_delivery(application)
    learned = await services.knowledge.load_learned()
    log.info("loaded %d learned entries", learned)
    try:
        await application.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.BOT_COMMANDS])
    except TelegramError as exc:  # cosmetic: the bot works without its menu
        log.warning("could not register the command menu (%s); continuing without it", exc)
