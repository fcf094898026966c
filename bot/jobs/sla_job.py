"""The SLA sweep job: every SLA_SWEEP_SECONDS, desk.sla.sweep marks warnings and breaches in
the database (at most once each, across restarts) and this sends them: a warning to whoever
holds the ticket, a breach to the lead group (the ticket and who held it) and a notice to the
steward group (and the department holding it). The person holding the ticket is mentioned,
so Telegram notifies them. A send that meets a server error (5xx) is tried again twice
(handlers.tickets_common.with_retry; a 429 is AIORateLimiter's); a send that still fails is
logged, never raised, and never retried by a later sweep (the mark is already committed)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

import texts
from bot.services import Services
from desk import render
from desk.models import CardKind
from desk.sla import AlertKind, Audience, Recipient, SlaAlert, sweep
from desk.tickets import record_card
from handlers.tickets_common import with_retry

log = logging.getLogger(__name__)

JOB_NAME = "desk_sla_sweep"


def _text(alert: SlaAlert, recipient: Recipient, services: Services,
          names: dict[str, str]) -> str:
    if recipient.audience is Audience.lead:
        return render.breach_alert(alert, hours=services.hours, departments=names)
    if alert.kind is AlertKind.warning:
        text = render.warning(alert, hours=services.hours, departments=names)
    else:
        text = render.breach_notice(alert, hours=services.hours, departments=names)
    if recipient.mention_user_id is not None:  # ping the person holding the ticket
        text += "\n" + texts.DESK_HOLDER_MENTION.format(
            user_id=int(recipient.mention_user_id),
            name=render.esc(alert.holder_name or recipient.mention_user_id))
    return text


async def run_sweep(bot: Bot, services: Services) -> list[SlaAlert]:
    """One sweep: mark in the database, then send. Returns the alerts (for tests and logs)."""
    settings = services.settings
    alerts = await services.db.run(
        sweep, now=services.clock(), hours=services.hours,
        warn_before_minutes=settings.sla_warn_before_minutes,
        steward_chat_id=settings.steward_chat_id, lead_chat_id=settings.lead_chat_id)
    if not alerts:
        return alerts
    names = {key: d.name for key, d in services.knowledge.kb.departments.items()}
    for alert in alerts:
        for recipient in alert.recipients:
            if recipient.chat_id is None:
                log.warning("ticket %s: no %s chat for the %s", alert.ticket.id,
                            recipient.audience, alert.kind)
                continue
            try:
                sent = await with_retry(partial(
                    bot.send_message, recipient.chat_id,
                    _text(alert, recipient, services, names), parse_mode=ParseMode.HTML))
            except TelegramError as exc:
                log.warning("ticket %s: %s to chat %s failed: %s", alert.ticket.id, alert.kind,
                            recipient.chat_id, exc)
                continue
            if recipient.audience is Audience.lead:
                continue
            # A reply to the warning in a staff chat answers the ticket, like a reply to its card.
            kind = (CardKind.department if recipient.audience is Audience.department
                    else CardKind.steward)
            try:
                await services.db.run(record_card, ticket_id=alert.ticket.id,
                                      chat_id=recipient.chat_id, message_id=sent.message_id,
                                      kind=kind, now=services.clock(),
                                      department_key=alert.department_key
                                      if kind is CardKind.department else None)
            except Exception:
                log.exception("ticket %s: could not record the alert message", alert.ticket.id)
    return alerts


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data["services"]
    try:
        await run_sweep(context.bot, services)
    except Exception:
        log.exception("SLA sweep failed")


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run the sweep every SLA_SWEEP_SECONDS on python-telegram-bot's JobQueue."""
    services: Services = application.bot_data["services"]
    if application.job_queue is None:
        log.warning("no JobQueue (python-telegram-bot[job-queue] missing): SLA sweep not scheduled")
        return
    seconds = services.settings.sla_sweep_seconds
    application.job_queue.run_repeating(_job, interval=seconds, first=seconds, name=JOB_NAME)
