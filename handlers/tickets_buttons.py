"""The ticket card's buttons (认领 / 转部门 / 关闭, the department chooser) and
`/escalate <ticket> <department>`. Every press is re-checked by desk.roles with the
pressed card; a refusal is a callback alert, never a change."""

from __future__ import annotations

import html
from functools import partial

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

import texts
from bot.telegram_io import pressed_message, services_of
from delivery.outbox import run_owing
from desk import callbacks, render, work
from desk.errors import DeskError, PermissionDenied, TicketNotFound, UnknownDepartment
from desk.models import FINAL_STATUSES, CardKind
from desk.roles import Action
from handlers import tickets_common as common


async def on_ticket_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim, close or escalate the ticket of the pressed card, if the presser may."""
    query = update.callback_query
    if query is None:
        return
    shown = pressed_message(
        query.message,
        bot_id=context.bot.id,
        staff_chat=query.message is not None and query.message.chat.id in services_of(context).staff_chats,
    )
    pressed = callbacks.ticket_press(query.data, shown) if shown is not None else None
    if pressed is None or not isinstance(query.message, Message):
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)
        return
    services = services_of(context)
    card = query.message
    names = common.department_names(services)
    try:
        result: work.PressResult = await services.db.run(
            run_owing,
            fn=work.press,
            compose=partial(common.escalation_owes, services, told=card),  # in the transaction that escalates
            who=common.who(services),
            now=services.clock(),
            chat_id=card.chat_id,
            user_id=query.from_user.id,
            name=query.from_user.full_name,
            card_message_id=card.message_id,
            pressed=pressed,
        )
    except (TicketNotFound, PermissionDenied):
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)  # one refusal for all
        return
    except DeskError as exc:
        await query.answer(_plain(render.error_message(exc, departments=names)), show_alert=True)
        return
    ticket = result.ticket
    is_department = card.chat_id != services.staff_chats.steward_chat_id
    kind = CardKind.department if is_department else CardKind.steward
    if pressed.action is Action.escalate and not pressed.department_key:
        if not result.departments:
            await query.answer(texts.TICKET_NO_DEPARTMENTS, show_alert=True)
            return
        await query.answer(texts.TICKET_CHOOSE_DEPARTMENT)
        await common.edit_markup(card, common.chooser_markup(ticket.id, result.departments, names))
        return
    if pressed.action is Action.escalate:
        assert result.escalation is not None  # a department was chosen: escalated, or refused above
        await query.answer(_plain(render.escalated_notice(result.escalation, departments=names)))
    elif pressed.action is Action.claim:
        await query.answer(_plain(render.claimed_notice(ticket)))
    elif pressed.action in (Action.close, Action.resolve):
        await query.answer(_plain(render.finished_notice(ticket)))
    else:
        await query.answer()
    finished = ticket.status in FINAL_STATUSES
    await common.edit_card(
        context.bot,
        card.chat_id,
        card.message_id,
        common.card_text(services, ticket, result.project_name, for_department=is_department),
        None if finished else common.card_markup(ticket.id, kind),
    )


async def escalate_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Escalate a ticket: /escalate <ticket> <department> (stewards and admins)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = services_of(context)
    args = context.args or []
    if len(args) < 2 or not args[0].lstrip("#").isdigit():
        await message.reply_text(texts.TICKET_ESCALATE_USAGE)
        return
    ticket_id = callbacks.parse_id(args[0]) or 0  # out of range: no such ticket
    names = common.department_names(services)
    department = common.department_key(services, " ".join(args[1:]))
    try:
        if department is None:
            raise UnknownDepartment(" ".join(args[1:]))
        result: work.PressResult = await services.db.run(
            run_owing,
            fn=work.escalate_command,
            compose=partial(common.escalation_owes, services, told=message),
            who=common.who(services),
            now=services.clock(),
            chat_id=message.chat_id,
            user_id=user.id,
            name=user.full_name,
            ticket_id=ticket_id,
            department_key=department,
        )
    except TicketNotFound:  # said to stewards and admins only: the id as they typed it
        await message.reply_text(render.error_message(TicketNotFound(args[0].lstrip("#"))), parse_mode=ParseMode.HTML)
        return
    except DeskError as exc:
        await message.reply_text(render.error_message(exc, departments=names), parse_mode=ParseMode.HTML)
        return
    assert result.escalation is not None  # escalated, or refused above
    await message.reply_text(render.escalated_notice(result.escalation, departments=names), parse_mode=ParseMode.HTML)


def _plain(html_text: str) -> str:
    """Callback answers are plain text (≤200 characters): drop the HTML escaping."""
    return html.unescape(html_text)[:200]


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_ticket_button, pattern=rf"^{callbacks.PREFIX}:"))
    application.add_handler(CommandHandler("escalate", escalate_command))
