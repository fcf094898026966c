"""Questions in chats: answer, offer choices, greet, or hand off to a person."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import texts
from bot.outbox import batcher_of, owe, received_at
from bot.telegram_io import (
    addressed_to_bot,
    keyboard,
    pressed_message,
    services_of,
    split_message,
    without_mention,
)
from delivery.outbox import Owed, message_payload
from desk import callbacks
from knowledge.question_cue import reads_as_question
from knowledge.service import Reply, UnknownItem
from ledger.regions import help_chat_region

log = logging.getLogger(__name__)

CLARIFY_PREFIX = callbacks.CLARIFY_PREFIX


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a question asked in a chat the bot is in."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None or user.is_bot:
        return
    addressed = addressed_to_bot(message, context.bot.username, context.bot.id)
    text = without_mention(message.text, context.bot.username)
    services = services_of(context)
    if message.chat_id in services.staff_chats:
        return  # the steward and department groups are handled by the desk
    if not addressed and not reads_as_question(text):
        return  # people talking to each other
    try:  # the chat's region (its overrides of the knowledge base); none while the database is down
        region = await batcher_of(context).run(help_chat_region, chat_id=message.chat_id)
    except SQLAlchemyError:
        region = None
    logged = None
    try:  # matched in the asker's context, logged with it (knowledge.service.ask)
        reply = await services.knowledge.ask(text=text, chat_id=message.chat_id, user_id=user.id, region=region)
    except SQLAlchemyError:  # the database is down: the matcher alone; the log row waits for it
        reply = await services.knowledge.reply_to(text, chat_id=message.chat_id, region=region)
        logged = services.knowledge.log_entry(
            reply, at=received_at(services.clock(), message), chat_id=message.chat_id, user_id=user.id
        )
    await render_reply(update, context, reply, addressed=addressed, log=logged)


def _reply_owed(
    message: Message,
    text: str,
    purpose: str,
    *,
    parse_mode: str | None = "HTML",
    markup: InlineKeyboardMarkup | None = None,
) -> Owed:
    thread_id = message.message_thread_id if message.is_topic_message else None
    return Owed(
        message.chat_id,
        message_payload(
            text,
            parse_mode=parse_mode,
            reply_to=message.message_id,
            thread_id=thread_id,
            markup=markup.to_dict() if markup else None,
        ),
        purpose,
    )


async def render_reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    reply: Reply,
    *,
    addressed: bool,
    log: Callable[[Session], object] | None = None,
) -> None:
    """Owe what the matcher decided (with the question's log row, in one transaction)."""
    message = update.effective_message
    assert message is not None
    result = reply.result
    services = services_of(context)
    kb = services.knowledge.kb
    if result.action == "answer" and reply.answer_html:
        markup = services.hooks.answer_markup(update, reply)
        await owe(context, [_reply_owed(message, reply.answer_html, "answer", markup=markup)], unit=log)
    elif result.action == "clarify":
        rows = [
            [
                (
                    texts.CLARIFY_OPTION.format(short=kb.label(c.item), aspect=texts.ASPECT.get(result.intent, "")),
                    f"{CLARIFY_PREFIX}:{c.item}:{result.intent}",
                )
            ]
            for c in result.candidates
        ]
        await owe(
            context,
            [_reply_owed(message, texts.CLARIFY_PROMPT, "clarify", parse_mode=None, markup=keyboard(rows))],
            unit=log,
        )
    elif result.action == "smalltalk":
        owed = [_reply_owed(message, texts.SMALLTALK_REPLY, "smalltalk", parse_mode=None)] if addressed else []
        await owe(context, owed, unit=log)
    else:
        if log is not None:
            await owe(context, [], unit=log)
        if result.reason == "project_status" and await services.hooks.project_status(update, context, reply):
            return  # answered with the bound project's progress
        if result.reason == "status" and result.item and await services.hooks.status_answer(update, context, reply):
            return  # answered from the bound project's ledger
        await services.hooks.handoff(update, context, reply)


async def on_clarify_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the item chosen from the clarify buttons."""
    query = update.callback_query
    if query is None:
        return
    shown = pressed_message(
        query.message,
        bot_id=context.bot.id,
        staff_chat=(query.message is not None and query.message.chat.id in services_of(context).staff_chats),
    )
    choice = callbacks.clarify_choice(query.data, shown, prompt=texts.CLARIFY_PROMPT) if shown is not None else None
    if choice is None:
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)
        return
    services = services_of(context)
    chat_id = query.message.chat.id if query.message is not None else None
    region = await services.db.run(help_chat_region, chat_id=chat_id) if chat_id else None
    try:
        answer = services.knowledge.answer_item(item=choice.item, intent=choice.intent, region=region)
    except UnknownItem:
        await query.answer(texts.CLARIFY_UNKNOWN, show_alert=True)
        return
    await query.answer()
    if query.message is not None and query.from_user is not None:
        await services_of(context).knowledge.remember_choice(
            chat_id=query.message.chat.id, user_id=query.from_user.id, item=choice.item, intent=choice.intent or "other"
        )
    if query.message is not None:
        parts = split_message(answer)
        await query.edit_message_text(parts[0], parse_mode=ParseMode.HTML)
        message = query.message
        thread_id = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
        for part in parts[1:]:
            await context.bot.send_message(
                message.chat.id, part, parse_mode=ParseMode.HTML, message_thread_id=thread_id
            )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_clarify_choice, pattern=rf"^{CLARIFY_PREFIX}:"))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED, on_text), group=10
    )


__all__ = ["register", "on_text", "render_reply"]
