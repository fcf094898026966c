"""Admin binding commands (/bind, /bind_dept, /unbind — ADMIN_USER_IDS only), /stats in
staff groups, and /learn in reply to a relayed answer (stewards only)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import texts
from bot.telegram_io import keyboard, pressed_message, replied_message, send_html, services_of
from desk import callbacks, render, work
from desk.bindings import migrate_chat
from desk.errors import DeskError, UnknownDepartment
from desk.stats import compute_stats
from handlers import tickets_common as common

log = logging.getLogger(__name__)


async def _bind(update: Update, context: ContextTypes.DEFAULT_TYPE, mode: str) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = services_of(context)
    names = common.department_names(services)
    arg = " ".join(context.args or []).strip()
    kwargs: dict[str, object] = {}
    if mode == "help":
        if not arg:
            await message.reply_text(texts.TICKET_BIND_USAGE)
            return
        kwargs["project_code"] = arg
    elif mode == "department":
        if not arg:
            await message.reply_text(texts.TICKET_BIND_DEPT_USAGE.format(departments="、".join(names.values())))
            return
        kwargs["department_key"] = common.department_key(services, arg) or arg
        kwargs["department_exists"] = lambda key: key in names
    else:
        kwargs["unbind"] = True
    try:
        binding, project_name = await services.db.run(
            work.bind,
            who=common.who(services),
            now=services.clock(),
            chat_id=message.chat_id,
            user_id=user.id,
            name=user.full_name,
            title=message.chat.title or "",
            **kwargs,
        )
    except UnknownDepartment as exc:
        await message.reply_text(
            render.error_message(exc)
            + "\n"
            + texts.TICKET_BIND_DEPT_USAGE.format(departments="、".join(names.values())),
            parse_mode=ParseMode.HTML,
        )
        return
    except DeskError as exc:
        await message.reply_text(render.error_message(exc, departments=names), parse_mode=ParseMode.HTML)
        return
    await common.refresh_department_chats(context)
    text = (
        render.unbound_notice()
        if mode == "unbind"
        else render.bound_notice(binding, project_name=project_name, departments=names)
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def bind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Bind this help group to a project: /bind <project code> (admins)."""
    await _bind(update, context, "help")


async def bind_dept_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Bind this group to a department: /bind_dept <department> (admins)."""
    await _bind(update, context, "department")


async def unbind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unbind this group (admins)."""
    await _bind(update, context, "unbind")


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the response numbers in a staff group: /stats [days] (a department, its own only)."""
    message = update.effective_message
    if message is None:
        return
    if message.chat_id not in services_of(context).staff_chats:
        await message.reply_text(texts.TICKET_STAFF_ONLY)
        return
    services = services_of(context)
    args = context.args or []
    days = int(args[0]) if args and args[0].isdigit() and 0 < int(args[0]) < 3660 else None
    now = services.clock()
    stats = await services.db.run(
        compute_stats, hours=services.hours, now=now, since=now - timedelta(days=days) if days else None
    )
    department = await services.db.run(work.department_of_chat, who=common.who(services), chat_id=message.chat_id)
    if department is not None:
        # A department group sees its own line and the totals, never other tickets' questions
        # or the stewards' numbers.
        stats = replace(
            stats,
            by_steward=(),
            top_handoffs=(),
            by_department=tuple(g for g in stats.by_department if g.key == department),
        )
    await send_html(message, render.stats_text(stats, days=days, departments=common.department_names(services)))


async def learn_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask whether the answer this /learn replies to holds for every project or only this one."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    replied = replied_message(message)
    if replied is None:
        await message.reply_text(texts.TICKET_LEARN_USAGE)
        return
    services = services_of(context)
    try:
        lesson = await services.db.run(
            work.lesson,
            who=common.who(services),
            now=services.clock(),
            chat_id=message.chat_id,
            user_id=user.id,
            name=user.full_name,
            replied_message_id=replied.message_id,
        )
    except DeskError as exc:
        await message.reply_text(render.error_message(exc), parse_mode=ParseMode.HTML)
        return
    if lesson is None:
        await message.reply_text(texts.TICKET_LEARN_USAGE)
        return
    choices = [(texts.TICKET_LEARN_SCOPE_ALL, callbacks.learn_data(for_project=False, message_id=replied.message_id))]
    if lesson.project_code:
        choices.append(
            (
                texts.TICKET_LEARN_SCOPE_PROJECT.format(project=lesson.project_name or lesson.project_code),
                callbacks.learn_data(for_project=True, message_id=replied.message_id),
            )
        )
    await message.reply_text(
        texts.TICKET_LEARN_SCOPE_PROMPT.format(question=render.clip(lesson.question, 80)),
        reply_markup=keyboard([[choice] for choice in choices]),
    )


async def on_learn_scope(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Learn the answer for the scope chosen on the /learn prompt."""
    query = update.callback_query
    if query is None:
        return
    shown = pressed_message(query.message, bot_id=context.bot.id, staff_chat=False)
    choice = callbacks.learn_choice(query.data, shown, presser_id=query.from_user.id) if shown is not None else None
    if choice is None or shown is None:
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)
        return
    services = services_of(context)
    try:
        lesson = await services.db.run(
            work.lesson,
            who=common.who(services),
            now=services.clock(),
            chat_id=shown.chat_id,
            user_id=query.from_user.id,
            name=query.from_user.full_name,
            replied_message_id=choice.message_id,
        )
    except DeskError:
        lesson = None
    if lesson is None or (choice.for_project and not lesson.project_code):
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)
        return
    project_code = lesson.project_code if choice.for_project else None
    await services.knowledge.learn(
        question=lesson.question,
        answer=lesson.answer,
        item=None,
        created_by=query.from_user.id,
        ticket_id=lesson.ticket_id,
        project_code=project_code,
    )
    question = render.esc(render.clip(lesson.question, 80))
    done = (
        texts.TICKET_LEARNED_FOR_PROJECT.format(
            project=render.esc(lesson.project_name or lesson.project_code or ""), question=question
        )
        if project_code
        else texts.TICKET_LEARNED.format(question=question)
    )
    await query.answer()
    await query.edit_message_text(done, parse_mode=ParseMode.HTML, reply_markup=None)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Move a group's bindings, tickets and reminders to the supergroup it became, and record the move (the
    steward and lead groups of the settings are followed there)."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    services = services_of(context)
    moved = await services.db.run(migrate_chat, old_chat_id=old, new_chat_id=new, now=services.clock())
    # The move is recorded: this process follows it now (the steward or lead group of the settings included, which
    # logs once to update the setting); the others at their next transaction (the `bindings` version moved).
    await common.refresh_facts(context)
    log.info(
        "group %s became supergroup %s: binding %s, tickets %s, projects %s, %d reminder keys",
        old,
        new,
        moved.binding is not None,
        list(moved.tickets),
        list(moved.projects),
        moved.reminder_keys,
    )
    await common.repost_left_cards(context, old, new)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate), group=-1)
    application.add_handler(CommandHandler("bind", bind_command))
    application.add_handler(CommandHandler("bind_dept", bind_dept_command))
    application.add_handler(CommandHandler("unbind", unbind_command))
    application.add_handler(CommandHandler("stats", stats_command))
    application.add_handler(CommandHandler("learn", learn_command))
    application.add_handler(CallbackQueryHandler(on_learn_scope, pattern=rf"^{callbacks.LEARN_PREFIX}:"))
