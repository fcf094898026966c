"""The ledger's scheduled jobs on python-telegram-bot's JobQueue (APScheduler).

- every day at REMINDER_TIME (TIMEZONE): on a working day of the Chinese calendar, today's
  reminders (scheduler.reminders.plan_reminders) to the help groups, department groups and
  the steward group; on REPORT_WEEKDAY also the completion report with a chart photo to the
  lead group;
- once shortly after start-up: the same, if today's time has already passed, so what was
  missed while the bot was down goes out (the reminder log lets nothing out twice).

Every send is keyed and claimed in the reminder log (bot.jobs.broadcast), so the daily run,
a second run, a restart and the start-up catch-up together send each reminder once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram.ext import Application, ContextTypes

import texts
from bot.jobs.broadcast import Broadcaster, Message, Outcome
from bot.services import Services
from bot.telegram_io import SERVICES_KEY
from desk.bindings import department_chat_id, help_project
from ledger.lookups import KnowledgeLookups
from ledger.render import report_text
from ledger.report import compute_report
from scheduler.charts import completion_chart
from scheduler.models import ReminderState, record_failure, reminder_log
from scheduler.reminder_text import render_reminder
from scheduler.reminders import AudienceKind, Reminder, plan_day

log = logging.getLogger(__name__)

DAILY_JOB = "ledger-daily"
STARTUP_JOB = "ledger-catch-up"
RETRY_JOB = "ledger-retry"
CONCURRENCY = 8  # units of work in flight; the outbox sender paces the sends
CAPTION_LIMIT = 1024


# --------------------------------------------------------------------------- settings


def parse_time_of_day(text: str) -> time:
    """REMINDER_TIME as a time, read as the settings validate it (HH:MM)."""
    try:
        return datetime.strptime(text.strip(), "%H:%M").time()
    except ValueError:
        raise ValueError(f"REMINDER_TIME must be HH:MM, got {text!r}") from None


def local_now(services: Services) -> datetime:
    return services.clock().astimezone(services.settings.tz)


def broadcaster_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Broadcaster:
    services: Services = application.bot_data[SERVICES_KEY]
    return Broadcaster(bot=application.bot, db=services.db, clock=services.clock)


# --------------------------------------------------------------------------- reminders


async def _target(services: Services, reminder: Reminder, cache: dict[str, int | None]) -> int | None:
    audience = reminder.audience
    if audience.kind is AudienceKind.help_group:
        chat_id = int(audience.key)
        code = reminder.project.code if reminder.project else ""
        # Still this project's help group? Muted or retired ones are left to the broadcaster, which skips them.
        bound = await services.db.run(help_project, chat_id=chat_id, active_only=False)
        return chat_id if bound == code else None
    if audience.kind is AudienceKind.steward:
        return services.staff_chats.steward_chat_id  # where it is now (run_round refreshed the moves)
    if audience.key not in cache:
        cache[audience.key] = await services.db.run(department_chat_id, department_key=audience.key)
    return cache[audience.key]


async def _record(services: Services, key: str, error: str, day: date) -> None:
    """Put a failure that happened before any send into the reminder log (never raises)."""
    try:
        await services.db.run(record_failure, key=key, now=services.clock(), error=error, day=day)
    except Exception:
        log.exception("could not record the failure of %s", key)


async def send_reminders(
    application: Application[Any, Any, Any, Any, Any, Any], *, broadcaster: Broadcaster | None = None
) -> Counter[str]:
    """Plan today's reminders and send each one not sent yet. Returns outcome counts
    (`no_chat` for an audience without a group)."""
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    today = local_now(services).date()
    outcomes: Counter[str] = Counter()
    if not services.calendar.is_working_day(today):
        return outcomes
    kb = KnowledgeLookups(services.knowledge.kb)
    planned = await services.db.run(
        plan_day,
        today=today,
        calendar=services.calendar,
        first_half_deadline=settings.first_half_deadline,
        second_half_deadline=settings.second_half_deadline,
        department_key_for=kb.department_key_for,
        resolve_department=kb.resolve_department,
    )
    for problem in planned.problems:  # that project's group only; everything else goes out
        log.error("reminders of project %s could not be planned: %s", problem.project_code, problem.error)
        outcomes["plan_failed"] += 1
        await _record(services, problem.key, problem.error, today)
    plan = planned.reminders
    sender = broadcaster or broadcaster_of(application)
    cache: dict[str, int | None] = {}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(reminder: Reminder) -> str:
        async with gate:
            try:
                chat_id = await _target(services, reminder, cache)
                if chat_id is None:
                    return "no_chat"
                text = render_reminder(reminder)
                return (
                    await sender.send(chat_id=chat_id, key=reminder.key, message=Message(text=text), day=reminder.day)
                ).value
            except Exception as exc:
                log.exception("reminder %s failed", reminder.key)
                await _record(services, reminder.key, repr(exc), reminder.day)
                return Outcome.failed.value

    for outcome in await asyncio.gather(*(one(r) for r in plan)):
        outcomes[outcome] += 1
    log.info("reminders for %s: %s", today, dict(outcomes))
    return outcomes


# --------------------------------------------------------------------------- weekly report


def report_day(today: date, weekday: int) -> date:
    """The most recent report day on or before `today`."""
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def report_key(chat_id: int, day: date) -> str:
    return f"lead:{chat_id}|report|{day.isoformat()}"


def _caption(legend: tuple[str, ...]) -> str:
    caption = texts.LEDGER_CHART_CAPTION
    if legend:
        caption += "\n" + texts.LEDGER_CHART_LEGEND.format(items="，".join(legend))
    if len(caption) > CAPTION_LIMIT:
        caption = caption[: CAPTION_LIMIT - 1] + "…"
    return caption


async def send_weekly_report(
    application: Application[Any, Any, Any, Any, Any, Any], *, broadcaster: Broadcaster | None = None
) -> Outcome | None:
    """The completion report and its chart to the lead group, once per report week.
    None when no lead group is set or the ledger is empty."""
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    chat_id = services.staff_chats.lead_chat_id  # the setting's group, followed to its supergroup
    if chat_id is None:
        return None
    day = report_day(local_now(services).date(), settings.report_weekday)
    key = report_key(chat_id, day)
    logged = await services.db.run(reminder_log, key=key)
    if logged is not None and logged.status == ReminderState.sent.value:
        return Outcome.already  # no need to draw the chart again
    report = await services.db.run(compute_report)
    if report.overall.projects == 0:
        return None  # an empty ledger: nothing to report
    chart = await asyncio.to_thread(completion_chart, report)
    message = Message(
        text=report_text(report),
        photo=chart.png,
        caption=_caption(chart.legend),
        filename=f"report-{day.isoformat()}.png",
    )
    sender = broadcaster or broadcaster_of(application)
    return await sender.send(chat_id=chat_id, key=key, message=message, day=day)


# --------------------------------------------------------------------------- the jobs


async def run_round(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    catch_up: bool = False,
    broadcaster: Broadcaster | None = None,
) -> dict[str, Any]:
    """One round: today's reminders (working days), and the weekly report when it is due.
    With catch_up (start-up), only what is already due at this time of day."""
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    now = local_now(services)
    at = parse_time_of_day(settings.reminder_time)
    result: dict[str, Any] = {"reminders": Counter(), "report": None, "incomplete": False}
    try:  # the steward and lead groups where they are now (a move recorded by another process)
        await services.db.run(services.facts.check)
    except Exception:  # the database: the sends below meet it too, and say so
        log.warning("could not refresh the shared facts before the round", exc_info=True)
    past_time = now.time().replace(tzinfo=None) >= at
    if not catch_up or past_time:
        try:
            result["reminders"] = await send_reminders(application, broadcaster=broadcaster)
        except Exception:  # the report still goes out
            log.exception("today's reminders failed")
            result["incomplete"] = True
        # a reminder that could not be owed (the database) is owed by a later round; a plan failure is bad data
        result["incomplete"] |= result["reminders"][Outcome.failed.value] > 0
    day = report_day(now.date(), settings.report_weekday)
    if (day == now.date() and (not catch_up or past_time)) or (catch_up and day < now.date()):
        try:
            result["report"] = await send_weekly_report(application, broadcaster=broadcaster)
        except Exception:
            log.exception("the weekly report failed")
            result["incomplete"] = True
    return result


async def run_and_retry(
    application: Application[Any, Any, Any, Any, Any, Any], *, catch_up: bool, attempt: int = 0
) -> dict[str, Any]:
    """`run_round`; one cut short (a database blip at reminder time) runs again `REMINDER_RETRY_SECONDS` later, up to
    `REMINDER_RETRIES` times — the reminder log keys make a rerun send only what is not sent yet."""
    result = await run_round(application, catch_up=catch_up)
    settings = application.bot_data[SERVICES_KEY].settings
    queue = application.job_queue
    if result["incomplete"] and queue is not None and attempt < settings.reminder_retries:
        log.warning("today's round was cut short: again in %g s", settings.reminder_retry_seconds)
        queue.run_once(
            retry_job,
            when=settings.reminder_retry_seconds,
            data={"attempt": attempt + 1},
            name=RETRY_JOB,
            job_kwargs={"misfire_grace_time": None},
        )
    return result


async def daily_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await run_and_retry(context.application, catch_up=False)


async def startup_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await run_and_retry(context.application, catch_up=True)


async def retry_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    attempt = int(context.job.data["attempt"]) if context.job is not None and context.job.data else 1  # type: ignore[index]
    await run_and_retry(context.application, catch_up=True, attempt=attempt)


def schedule(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Put the daily round and the start-up catch-up on the application's JobQueue."""
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    queue = application.job_queue
    if queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]); no reminders")
        return
    at = parse_time_of_day(settings.reminder_time).replace(tzinfo=settings.tz)
    queue.run_daily(daily_job, time=at, name=DAILY_JOB, job_kwargs={"misfire_grace_time": 3600, "coalesce": True})
    queue.run_once(
        startup_job, when=settings.reminder_catch_up_seconds, name=STARTUP_JOB, job_kwargs={"misfire_grace_time": None}
    )


__all__ = [
    "daily_job",
    "parse_time_of_day",
    "report_day",
    "retry_job",
    "run_and_retry",
    "run_round",
    "schedule",
    "send_reminders",
    "send_weekly_report",
    "startup_job",
]
