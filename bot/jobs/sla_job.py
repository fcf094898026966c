"""The SLA sweep job: every SLA_SWEEP_SECONDS, desk.sla.sweep_owing marks warnings and
breaches in the database (at most once each, across restarts) and, in the same transaction,
owes their messages to the outbox: a warning to whoever holds the ticket, a breach to the
lead group (the ticket and who held it) and a notice to the steward group (and the
department holding it); a chat owed several alerts by one sweep gets them in one digest. The person holding the ticket is mentioned, so Telegram notifies
them. The outbox sender delivers them ahead of replies and reminders and retries them until
they arrive; the sweep itself never waits for Telegram."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import Bot
from telegram.ext import Application, ContextTypes

import texts
from bot.services import Services, department_names
from bot.telegram_io import services_of, services_of_app
from desk import render
from desk.sla import AlertKind, Audience, Recipient, SlaAlert, sweep_owing

log = logging.getLogger(__name__)

JOB_NAME = "desk_sla_sweep"


def _text(alert: SlaAlert, recipient: Recipient, *, services: Services, names: dict[str, str]) -> str:
    if recipient.audience is Audience.lead:
        return render.breach_alert(alert, hours=services.hours, departments=names)
    if alert.kind is AlertKind.warning:
        text = render.warning(alert, hours=services.hours, departments=names)
    else:
        text = render.breach_notice(alert, hours=services.hours, departments=names)
    if recipient.mention_user_id is not None:  # ping the person holding the ticket
        text += "\n" + texts.DESK_HOLDER_MENTION.format(
            user_id=int(recipient.mention_user_id), name=render.esc(alert.holder_name or recipient.mention_user_id)
        )
    return text


async def run_sweep(bot: Bot | None, services: Services) -> list[SlaAlert]:
    """One sweep: mark and owe in one transaction. Returns the alerts (for tests and logs)."""
    settings = services.settings
    names = department_names(services)
    now = services.clock()

    def unit(session: Session) -> list[SlaAlert]:
        # The steward and lead groups where they are now: a move recorded by another process is read here (the
        # copy's check, one statement a sweep), not learned from Telegram's 400 on each alert.
        services.facts.check(session)
        chats = services.staff_chats
        return sweep_owing(
            session=session,
            now=now,
            hours=services.hours,
            warn_before_minutes=settings.sla_warn_before_minutes,
            steward_chat_id=chats.steward_chat_id,
            lead_chat_id=chats.lead_chat_id,
            compose=partial(_text, services=services, names=names),
            digest=partial(render.sla_digest, hours=services.hours, departments=names),
        )

    return await services.db.run(lambda session: unit(session))


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run one SLA sweep; log a failure and keep the job scheduled."""
    services = services_of(context)
    try:
        await run_sweep(context.bot, services)
    except SQLAlchemyError as exc:  # the database is down: the next sweep catches up
        log.warning("SLA sweep skipped: database unavailable (%s)", type(exc).__name__)
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
