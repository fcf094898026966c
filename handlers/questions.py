"""Questions in chats: answer, offer choices, greet, or hand off to a person."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import texts
from bot.outbox import batcher_of, received_at
from bot.sender import sender_of
from bot.services import DESK_CHECK, TEXT_READING, DeskCheck, QuestionPart, take
from bot.telegram_io import (
    addressed_to_bot,
    keyboard,
    pressed_message,
    services_of,
    split_message,
    without_mention,
)
from delivery.outbox import Owed, enqueue_all, message_payload
from desk import callbacks
from knowledge.question_cue import MAY_ASK, TALK
from knowledge.service import Reply, UnknownItem
from ledger.regions import help_chat_region

log = logging.getLogger(__name__)

CLARIFY_PREFIX = callbacks.CLARIFY_PREFIX


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a question asked in a chat the bot is in: one transaction reads the asker's
    context, logs the question, keeps the new context and owes the answer (or opens the
    ticket, or answers from the ledger), after the desk's check of the message."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None or user.is_bot:
        return
    addressed = addressed_to_bot(message, context.bot.username, context.bot.id)
    text = without_mention(message.text, context.bot.username)
    services = services_of(context)
    desk: DeskCheck | None = take(context, DESK_CHECK)
    if message.chat_id in services.staff_chats:
        return  # the steward and department groups are handled by the desk
    reading = take(context, TEXT_READING) or services.knowledge.reading_of(text)  # a help group's: read by the desk
    if not addressed and reading == TALK:
        return  # people talking to each other
    # no question mark, but it may ask: answered only if the bot answers it itself, never made a ticket
    unasked = not addressed and reading == MAY_ASK
    hooks = services.hooks
    chat_id = message.chat_id
    at = services.clock()
    markup = partial(hooks.answer_markup, update)
    parts = _Parts(
        hooks.project_status(update, context), hooks.status_answer(update, context), hooks.handoff(update, context)
    )
    plain = desk.plain if desk is not None else None
    learned = services.knowledge.learned
    hits = services.knowledge.learned_hits(text)  # in memory, outside the database's thread

    def unit(session: Session) -> _Outcome:
        facts = services.facts
        if chat_id in services.staff_chats:
            return _Outcome(rerouted=True)  # this transaction's check found it is a staff chat now
        if desk is not None:
            checked = desk.unit(session)
            if desk.takes(checked):
                return _Outcome(desk=checked)
        fresh = services.knowledge.learned_hits(text) if services.knowledge.learned is not learned else hits
        reply = services.knowledge.ask_in(
            session=session,
            text=text,
            chat_id=chat_id,
            user_id=user.id,
            at=at,
            region=facts.region(session, chat_id),
            project=facts.help_project(chat_id),
            hits=fresh,
            plain=plain,
            unasked=unasked,
        )
        if reply is None:
            return _Outcome()
        _owe_reply(
            session,
            message,
            reply,
            addressed=addressed,
            markup=markup,
            parts=parts,
            now=services.clock(),
            kb=services.knowledge.kb,
        )
        return _Outcome(reply=reply)

    try:
        outcome = await batcher_of(context).run(
            unit, read_ahead=services.knowledge.context_read_ahead(chat_id, user.id)
        )
    except SQLAlchemyError as exc:  # the database is down: the matcher alone, the rest waits for it
        log.warning("database unavailable (%s): answering from memory", type(exc).__name__)
        await _without_database(
            context, message, text, user.id, addressed=addressed, markup=markup, parts=parts, unasked=unasked
        )
        return
    if outcome.rerouted:  # routed with the facts from before this transaction: once more, with the fresh ones
        await context.application.process_update(update)
        raise ApplicationHandlerStop
    if outcome.desk is not None and desk is not None:
        await desk.after(outcome.desk)


@dataclass(frozen=True)
class _Parts:
    project_status: QuestionPart
    status_answer: QuestionPart
    handoff: QuestionPart


@dataclass(frozen=True)
class _Outcome:
    reply: Reply | None = None
    desk: object = None  # what the desk's check came to, when it took the message
    rerouted: bool = False


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


def _replies(
    message: Message, reply: Reply, *, addressed: bool, markup: Callable[[Reply], InlineKeyboardMarkup | None], kb: Any
) -> list[Owed] | None:
    """What the matcher decided, as messages owed; None when a person or the ledger must take it."""
    result = reply.result
    if result.action == "answer" and reply.answer_html:
        return [_reply_owed(message, reply.answer_html, "answer", markup=markup(reply))]
    if result.shown_as_choice(private=message.chat.type == ChatType.PRIVATE):
        rows = [
            [
                (
                    texts.CLARIFY_OPTION.format(short=kb.label(c.item), aspect=texts.ASPECT.get(result.intent, "")),
                    f"{CLARIFY_PREFIX}:{c.item}:{result.intent}",
                )
            ]
            for c in result.candidates
        ]
        handoff = markup(reply)  # 「都不是，转人工」 in groups, 「都不是」 in private chats
        buttons = keyboard(rows)
        if handoff is not None:
            buttons = InlineKeyboardMarkup((*buttons.inline_keyboard, *handoff.inline_keyboard))
        return [_reply_owed(message, texts.CLARIFY_PROMPT, "clarify", parse_mode=None, markup=buttons)]
    if result.action == "smalltalk":
        return [_reply_owed(message, texts.SMALLTALK_REPLY, "smalltalk", parse_mode=None)] if addressed else []
    return None


def _route(session: Session, reply: Reply, parts: _Parts) -> None:
    """A question the knowledge base does not answer: the project's progress, a procedure's
    status from the ledger, or else a person (a ticket)."""
    result = reply.result
    if result.reason == "project_status" and parts.project_status(session, reply):
        return
    if result.reason == "status" and result.item and parts.status_answer(session, reply):
        return
    parts.handoff(session, reply)


def _owe_reply(
    session: Session,
    message: Message,
    reply: Reply,
    *,
    addressed: bool,
    markup: Callable[[Reply], InlineKeyboardMarkup | None],
    parts: _Parts,
    now: datetime,
    kb: Any,
) -> None:
    owed = _replies(message, reply, addressed=addressed, markup=markup, kb=kb)
    if owed is None:
        _route(session, reply, parts)
    else:
        enqueue_all(session=session, owed=owed, now=now)


async def _without_database(
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    text: str,
    user_id: int,
    *,
    addressed: bool,
    markup: Callable[[Reply], InlineKeyboardMarkup | None],
    parts: _Parts,
    unasked: bool,
) -> None:
    """Answers do not wait for the database: the matcher answers alone and the sender sends
    without a row; the log row (and a ticket or a ledger answer) are written when it is back."""
    services = services_of(context)
    region = None
    reply = await services.knowledge.reply_to(text, chat_id=message.chat_id, region=region)
    if unasked and not services.knowledge.speaks_unasked(reply.result, text):
        return
    log_row = services.knowledge.log_entry(
        reply, at=received_at(services.clock(), message), chat_id=message.chat_id, user_id=user_id
    )
    owed = _replies(message, reply, addressed=addressed, markup=markup, kb=services.knowledge.kb)
    sender = sender_of(context.application)
    for row in owed or []:
        sender.send_volatile(row)

    def later(session: Session) -> None:
        log_row(session)
        if owed is None:
            _route(session, reply, parts)

    sender.later(later)


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
    choice = (
        callbacks.clarify_choice(query.data, shown, prompt=texts.CLARIFY_PROMPT, presser_id=query.from_user.id)
        if shown is not None
        else None
    )
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


__all__ = ["register", "on_text"]
