"""The ledger in Telegram: /profile, /progress, status answers, /mute and /unmute, and the
scheduled reminder jobs.

A help group only ever sees its own project: the project comes from the chat's binding
(desk.bindings), never from what the user types.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session
from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

import texts
from bot.jobs import reminder_job
from bot.services import QuestionPart, Services
from bot.telegram_io import services_of, split_message
from delivery.outbox import Owed, enqueue_all, message_payload
from desk.bindings import help_project, set_muted
from desk.errors import NotBound, PermissionDenied
from desk.models import Role
from desk.roles import Actor
from knowledge.service import Reply
from ledger.errors import BadMonthDay, ProcedureNotInLedger, ProjectNotFound
from ledger.lookups import KnowledgeLookups
from ledger.profile import procedure_status, progress_summary, project_profile
from ledger.render import profile_text, profile_xlsx_bytes, progress_text, status_text

log = logging.getLogger(__name__)

XLSX_WORDS = frozenset({"xlsx", "excel", "表格", "表", "文件"})


def _today(services: Services) -> date:
    return reminder_job.local_now(services).date()


async def _reply(update: Update, text: str) -> None:
    message = update.effective_message
    if message is None:
        return
    for part in split_message(text, as_html=False):
        await message.reply_text(part)


def _is_admin(services: Services, user_id: int) -> bool:
    return user_id in set(services.settings.admin_user_ids)


def _staff_chat(update: Update, services: Services) -> bool:
    """The steward and lead groups (the settings', followed to their supergroups), or an admin's private chat: these
    may name any project (/profile P001); a help group only ever sees its own."""
    message, user = update.effective_message, update.effective_user
    chats = services.staff_chats  # where the settings' groups are now
    if message is None:
        return False
    if message.chat_id in (chats.steward_chat_id, chats.lead_chat_id):
        return True
    return message.chat.type == ChatType.PRIVATE and user is not None and _is_admin(services, user.id)


async def _project_code(update: Update, services: Services, named: list[str]) -> str | None:
    """The project the command is about, or None after telling the chat why not."""
    message = update.effective_message
    if message is None:
        return None
    if _staff_chat(update, services):
        if len(named) != 1:
            await _reply(update, texts.LEDGER_BOT_STAFF_USAGE)
            return None
        return named[0]
    if named:
        await _reply(update, texts.LEDGER_BOT_PROFILE_USAGE)
        return None
    if message.chat.type == ChatType.PRIVATE:
        await _reply(update, texts.LEDGER_BOT_GROUP_ONLY)
        return None
    code = await services.db.run(help_project, chat_id=message.chat_id)
    if code is None:
        await _reply(update, texts.LEDGER_BOT_UNBOUND)
    return code


async def _missing(update: Update, code: str, named: bool) -> None:
    await _reply(
        update, (texts.LEDGER_PROJECT_NOT_FOUND if named else texts.LEDGER_BOT_PROJECT_MISSING).format(code=code)
    )


T = TypeVar("T")


async def _project_view(
    update: Update, services: Services, code: str, named: bool, view: Callable[..., T], **kwargs: Any
) -> T | None:
    """Run a ledger view of one project (profile, progress) with the deadline settings; None after telling why not."""
    settings = services.settings
    try:
        return await services.db.run(
            view,
            code=code,
            calendar=services.calendar,
            first_half_deadline=settings.first_half_deadline,
            second_half_deadline=settings.second_half_deadline,
            **kwargs,
        )
    except ProjectNotFound:
        await _missing(update, code, named)
    except BadMonthDay as exc:
        await _reply(update, texts.LEDGER_BAD_DEADLINE_SETTING.format(value=exc.text))
    return None


async def profile_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the project profile (/profile [CODE] [xlsx]), with the Excel file if asked."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    args = list(context.args or [])
    want_xlsx = any(a.lower() in XLSX_WORDS for a in args)
    named = [a for a in args if a.lower() not in XLSX_WORDS]
    code = await _project_code(update, services, named)
    if code is None:
        return
    kb = KnowledgeLookups(services.knowledge.kb)
    today = _today(services)
    profile = await _project_view(
        update,
        services,
        code,
        bool(named),
        project_profile,
        today=today,
        materials_for=kb.materials_for,
        department_for=kb.department_for,
    )
    if profile is None:
        return
    await _reply(update, profile_text(profile))
    if want_xlsx:
        data = await asyncio.to_thread(profile_xlsx_bytes, profile)
        await message.reply_document(
            document=data,
            filename=texts.LEDGER_BOT_PROFILE_FILENAME.format(code=profile.code, today=today.isoformat()),
            caption=texts.LEDGER_BOT_PROFILE_CAPTION.format(name=profile.name, today=today.isoformat()),
        )


async def progress_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the project's short progress: counts by status and days to the deadline."""
    services = services_of(context)
    named = list(context.args or [])
    code = await _project_code(update, services, named)
    if code is None:
        return
    summary = await _project_view(update, services, code, bool(named), progress_summary, today=_today(services))
    if summary is None:
        return
    await _reply(update, progress_text(summary))


def _status_owed(message: Message, text: str, purpose: str) -> Owed:
    """A reply to the asker's message (as message.reply_text would: in its forum topic)."""
    thread_id = message.message_thread_id if message.is_topic_message else None
    return Owed(
        message.chat_id,
        message_payload(text, parse_mode=None, reply_to=message.message_id, thread_id=thread_id),
        purpose,
    )


def status_part(update: Update, context: ContextTypes.DEFAULT_TYPE) -> QuestionPart:
    """Hooks.status_answer: answer a status question (「我们环评办到哪一步了」) from the bound
    project's ledger, in the question's transaction. False when it cannot (unbound group, no
    such project or procedure): the caller hands the question off instead. A muted group is
    still answered: /mute only stops the scheduled reminders."""
    message = update.effective_message
    services = services_of(context)
    today = _today(services)

    def part(session: Session, reply: Reply) -> bool:
        item = reply.result.item
        if message is None or not item or message.chat.type == ChatType.PRIVATE:
            return False
        facts = services.facts
        code = facts.help_project(message.chat_id)
        if code is None:
            return False
        # the project's procedures from the cached facts when this transaction checked them (a group
        # transaction does), so a status answer costs no statement of its own
        checked = facts.checked_in(session)
        procedures = facts.procedures(session, code) if checked else None
        if checked and procedures is None:
            return False  # no such project in the ledger
        try:
            line = procedure_status(
                session=session,
                code=code,
                item_key=item,
                today=today,
                calendar=services.calendar,
                department_for=KnowledgeLookups(services.knowledge.kb).department_for,
                procedures=procedures,
            )
        except (ProjectNotFound, ProcedureNotInLedger):
            return False
        text = texts.LEDGER_BOT_STATUS.format(answer=status_text(line), today=today.isoformat())
        enqueue_all(session=session, owed=[_status_owed(message, text, "status_answer")], now=services.clock())
        return True

    return part


_PROJECT_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,6}-?\d{2,}[A-Za-z0-9-]*")


def project_status_part(update: Update, context: ContextTypes.DEFAULT_TYPE) -> QuestionPart:
    """Hooks.project_status: answer a whole-project progress question (「咱们项目还有哪些手续没办完」)
    with the /progress answer, in the question's transaction.

    False when it cannot: a private chat, an unbound group, or a message naming another project's code
    (a group only ever sees its own project); the caller hands the question off instead."""
    message = update.effective_message
    services = services_of(context)
    settings = services.settings
    today = _today(services)

    def part(session: Session, reply: Reply) -> bool:
        if message is None or message.chat.type == ChatType.PRIVATE:
            return False
        code = services.facts.help_project(message.chat_id)
        if code is None:
            return False
        if any(named.upper() != code.upper() for named in _PROJECT_CODE.findall(reply.result.question)):
            return False
        try:
            summary = progress_summary(
                session=session,
                code=code,
                calendar=services.calendar,
                today=today,
                first_half_deadline=settings.first_half_deadline,
                second_half_deadline=settings.second_half_deadline,
            )
        except (ProjectNotFound, BadMonthDay):
            return False
        owed = _status_owed(message, progress_text(summary), "project_status")
        enqueue_all(session=session, owed=[owed], now=services.clock())
        return True

    return part


async def _set_muted(update: Update, context: ContextTypes.DEFAULT_TYPE, muted: bool) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = services_of(context)
    role = Role.admin if _is_admin(services, user.id) else Role.enterprise
    actor = Actor(user_id=user.id, chat_id=message.chat_id, role=role, name=user.full_name)
    try:
        await services.db.run(set_muted, actor=actor, chat_id=message.chat_id, muted=muted, now=services.clock())
    except PermissionDenied:
        await _reply(update, texts.LEDGER_BOT_MUTE_DENIED)
        return
    except NotBound:
        await _reply(update, texts.LEDGER_BOT_MUTE_NOT_BOUND)
        return
    await _reply(update, texts.LEDGER_BOT_MUTED if muted else texts.LEDGER_BOT_UNMUTED)


async def mute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the scheduled ledger reminders in this group (admins only)."""
    await _set_muted(update, context, True)


async def unmute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Resume the scheduled ledger reminders in this group (admins only)."""
    await _set_muted(update, context, False)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("profile", profile_command))
    application.add_handler(CommandHandler("progress", progress_command))
    application.add_handler(CommandHandler("mute", mute_command))
    application.add_handler(CommandHandler("unmute", unmute_command))
