"""Small Telegram helpers shared by the handlers: services lookup, addressing, splitting, keyboards."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.ext import Application, ContextTypes

from bot.services import Services
from desk.callbacks import PressedMessage

SERVICES_KEY = "services"  # the one bot_data key: everything else hangs off Services, typed


def services_of_app(application: Application) -> Services:  # type: ignore[type-arg]
    services: Services = application.bot_data[SERVICES_KEY]
    return services


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return services_of_app(context.application)


# One piece of a message: ("c", character, escaped character) as Telegram shows it, or a tag
# ("o"/"e", name, the tag as written), which counts nothing.
_Atom = tuple[str, str, str]
_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class _HtmlAtoms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.atoms: list[_Atom] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.atoms.append(("o", tag, self.get_starttag_text() or f"<{tag}>"))

    def handle_endtag(self, tag: str) -> None:
        self.atoms.append(("e", tag, f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.atoms.extend(("c", ch, _ESCAPED.get(ch, ch)) for ch in data)


def _atoms(text: str, *, as_html: bool) -> list[_Atom]:
    if not as_html:
        return [("c", ch, ch) for ch in text]
    parser = _HtmlAtoms()
    parser.feed(text)
    parser.close()
    return parser.atoms


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram_length(text: str, *, as_html: bool = True) -> int:
    """What Telegram counts against its limits: the text after entity parsing (tags gone,
    &amp; is one character), in UTF-16 code units."""
    return _utf16("".join(a[1] for a in _atoms(text, as_html=as_html) if a[0] == "c"))


def rendered_text(text: str) -> str:
    """The text Telegram shows for an HTML message (tags gone, entities decoded)."""
    return "".join(a[1] for a in _atoms(text, as_html=True) if a[0] == "c")


def _stack_after(stack: list[_Atom], atoms: list[_Atom]) -> list[_Atom]:
    stack = list(stack)
    for atom in atoms:
        if atom[0] == "o":
            stack.append(atom)
        elif atom[0] == "e":
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][1] == atom[1]:
                    del stack[i]
                    break
    return stack


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH, *, as_html: bool = True) -> list[str]:
    """Split a message into parts within Telegram's limit, counted as Telegram counts (see
    telegram_length). Cuts after the last line break that fits, else after the last space,
    else between two characters; never inside a tag, an entity (&amp;) or a character. A
    formatting tag open at a cut is closed at the end of the part and opened again at the
    start of the next, so every part is valid HTML and together they show the whole text."""
    if limit < 2:
        raise ValueError("limit must allow one character of two UTF-16 code units")
    if _utf16(text) <= limit:  # what Telegram counts is never longer than the source
        return [text]
    atoms = _atoms(text, as_html=as_html)
    parts: list[str] = []
    stack: list[_Atom] = []
    start, total = 0, len(atoms)
    while start < total:
        used, i = 0, start
        line_end = space_end = None
        while i < total:
            kind, value, _ = atoms[i]
            if kind == "c":
                width = 2 if ord(value) > 0xFFFF else 1
                if used + width > limit:
                    break
                used += width
                if value == "\n":
                    line_end = i + 1
                elif value.isspace():
                    space_end = i + 1
            i += 1
        end = total if i >= total else (line_end or space_end or i)
        while start < end < total and atoms[end - 1][0] == "o":
            end -= 1  # a tag opened right at the cut starts the next part
        if end == start:  # only tags before a character that does not fit: cannot happen
            end = i  # with limit >= 2, kept as a guard against an endless loop
        while end < total and atoms[end][0] == "e":
            end += 1  # a tag closed right at the cut ends this part
        chunk = atoms[start:end]
        after = _stack_after(stack, chunk)
        parts.append(
            "".join(a[2] for a in stack) + "".join(a[2] for a in chunk) + "".join(f"</{a[1]}>" for a in reversed(after))
        )
        stack, start = after, end
    return parts or [""]


def pressed_message(message: object, *, bot_id: int, staff_chat: bool) -> PressedMessage | None:
    """The message a button was pressed on, as plain values (None when Telegram did not
    show it: deleted or too old)."""
    if not isinstance(message, Message):
        return None
    markup = message.reply_markup
    buttons = frozenset(
        button.callback_data
        for row in (markup.inline_keyboard if markup else ())
        for button in row
        if isinstance(button.callback_data, str)
    )
    replied = replied_message(message)
    return PressedMessage(
        chat_id=message.chat_id,
        message_id=message.message_id,
        by_bot=message.from_user is not None and message.from_user.id == bot_id,
        buttons=buttons,
        text=message.text or "",
        replied_user_id=(replied.from_user.id if replied is not None and replied.from_user else None),
        staff_chat=staff_chat,
    )


def replied_message(message: Message) -> Message | None:
    """The message `message` replies to; None when it replies to none. In a forum topic Telegram sets every
    message's `reply_to_message` to the topic's opening message, which is no reply of the sender's: a steward's notice
    in the topic of the asker's question would otherwise answer the ticket."""
    replied = message.reply_to_message
    if replied is None:
        return None
    if replied.forum_topic_created is not None or (
        message.is_topic_message and replied.message_id == message.message_thread_id
    ):
        return None
    return replied


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Build an inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """Return True for a private chat, a reply to the bot, or a message that @mentions it."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    reply = replied_message(message)
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    return f"@{bot_username}".lower() in (message.text or "").lower()


def without_mention(text: str, bot_username: str) -> str:
    """Return the text with the bot's @mention taken out."""
    return re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE).strip()


async def send_html(message: Message, html: str, *, reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply with HTML, split to Telegram's limit; buttons go on the last part."""
    parts = split_message(html)
    sent = message
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent = await message.reply_text(part, parse_mode=ParseMode.HTML, reply_markup=reply_markup if last else None)
    return sent
