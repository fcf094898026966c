"""Small Telegram helpers shared by the handlers: services lookup, addressing, splitting, keyboards."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.ext import Application, ContextTypes

from bot.services import Services

SERVICES_KEY = "services"  # the one bot_data key: everything else hangs off Services, typed


def services_of_app(application: Application) -> Services:  # type: ignore[type-arg]
    services: Services = application.bot_data[SERVICES_KEY]
    return services


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return services_of_app(context.application)


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split text at line breaks into parts Telegram accepts (4096 characters each).

    A single line longer than the limit is cut hard; HTML tags never span lines in our
    texts, so cutting at line breaks keeps every part valid HTML.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Build an inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows])


def addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """Return True for a private chat, a reply to the bot, or a message that @mentions it."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    return f"@{bot_username}".lower() in (message.text or "").lower()


def without_mention(text: str, bot_username: str) -> str:
    """Return the text with the bot's @mention taken out."""
    return re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE).strip()


async def send_html(message: Message, html: str, **kwargs: object) -> Message:
    """Reply with HTML, split to Telegram's limit; buttons go on the last part."""
    markup = kwargs.pop("reply_markup", None)
    parts = split_message(html)
    sent = message
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent = await message.reply_text(
            part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None, **kwargs  # type: ignore[arg-type]
        )
    return sent
