"""/start, /help and the one error handler."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

import texts
from bot.telegram_io import services_of

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user and say what the bot answers."""
    if update.effective_message:
        await update.effective_message.reply_text(texts.START_PRIVATE, parse_mode=ParseMode.HTML)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain the bot, differently in private chats, help groups and staff groups."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    settings = services.settings
    if message.chat.type == ChatType.PRIVATE:
        text = texts.HELP_PRIVATE
    elif message.chat_id in services.staff_chats:
        text = texts.HELP_STAFF
    else:
        minutes = f"{settings.sla_first_response_minutes:g}"
        text = texts.HELP_HELP_GROUP.format(minutes=minutes)
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with its update and tell the user something went wrong."""
    update_text = html.escape(str(update.to_dict() if isinstance(update, Update) else update))[:2000]
    log.error("error while handling update %s", update_text, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        message = update.effective_message
        thread_id = message.message_thread_id if message is not None and message.is_topic_message else None
        try:
            await context.bot.send_message(update.effective_chat.id, texts.ERROR_GENERIC, message_thread_id=thread_id)
        except Exception:  # noqa: BLE001 - the chat may be gone; the error is logged above
            log.warning("could not tell chat %s about the error", update.effective_chat.id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_error_handler(on_error)
