"""The SLA sweep job: every SLA_SWEEP_SECONDS, desk.sla.sweep marks warnings and breaches in
the database (at most once each, across restarts) and this sends them: a warning to whoever
holds the ticket, a breach to the lead group (the ticket and who held it) and a notice to the
steward group (and the department holding it). The person holding the ticket is mentioned,
so Telegram notifies them. A send that meets a server error (5xx) is tried again twice
(bot.sending.send; a 429 is AIORateLimiter's); a send that still fails is
logged, never raised; an alert that reached nobody for a passing reason (a server error, not
a 403) has its mark cleared, so the next sweep sends it again."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application, ContextTypes

import texts
from bot.sending import send
from bot.services import Services, department_names
from bot.telegram_io import services_of, services_of_app
from desk import render, work
from desk.models import CardKind
from desk.sla import AlertKind, Audience, Recipient, SlaAlert, release_alert, sweep

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
    names = department_names(services)
    for alert in alerts:
        posted: list[tuple[int, int, str, str | None]] = []
        delivered, retryable = False, []
        for recipient in alert.recipients:
            if recipient.chat_id is None:
                log.warning("ticket %s: no %s chat for the %s", alert.ticket.id,
                            recipient.audience, alert.kind)
                continue
            sent = await send(bot, recipient.chat_id,
                              _text(alert, recipient, services, names))
            if sent.message is None:
                log.warning("ticket %s: the %s did not reach chat %s", alert.ticket.id,
                            alert.kind, recipient.chat_id)
                if sent.error is not None and not sent.gone:
                    retryable.append(str(sent.error))
                continue
            delivered = True
            if recipient.audience is Audience.lead:
                continue
            # A reply to the warning in a staff chat answers the ticket, like a reply to its card.
            if recipient.audience is Audience.department:
                posted.append((recipient.chat_id, sent.message.message_id,
                               CardKind.department.value, alert.department_key))
            else:
                posted.append((recipient.chat_id, sent.message.message_id,
                               CardKind.steward.value, None))
        if not delivered and retryable:  # reached nobody, for a reason that may pass: try again next sweep
            await services.db.run(release_alert, ticket_id=alert.ticket.id, kind=alert.kind,
                                  now=services.clock(), error="; ".join(retryable)[:500])
        if not posted:
            continue
        try:
            await services.db.run(work.record_cards, ticket_id=alert.ticket.id,
                                  now=services.clock(), cards=posted)
        except Exception:
            log.exception("ticket %s: could not record the alert messages", alert.ticket.id)
    return alerts


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run one SLA sweep; log a failure and keep the job scheduled."""
    services = services_of(context)
    try:
        await run_sweep(context.bot, services)
    except Exception:
        log.exception("SLA sweep failed")


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run the sweep every SLA_SWEEP_SECONDS on python-telegram-bot's JobQueue."""
    services = services_of_app(application)
    if application.job_queue is None:
        log.warning("no JobQueue (python-telegram-bot[job-queue] missing): SLA sweep not scheduled")
        return
    seconds = services.settings.sla_sweep_seconds
    application.job_queue.run_repeating(_job, interval=seconds, first=seconds, name=JOB_NAME)
