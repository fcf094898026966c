"""Build Telegram updates as Telegram would send them, for Application.process_update."""

from __future__ import annotations

import time
from itertools import count
from typing import Any

from telegram import Bot, Update

# What Telegram sends: a supergroup id is -100 followed by ten digits, user and bot ids pass 2^32.
# Every test builds its ids with these, so a 32-bit column or an int32 assumption fails the suite.
SUPERGROUP_BASE = -1_001_700_000_000
USER_BASE = 5_000_000_000


def supergroup_id(n: int) -> int:
    """The id of test supergroup number `n` (-1001700000000 - n)."""
    return SUPERGROUP_BASE - n


def user_id(n: int) -> int:
    """The id of test user number `n` (above 2^32)."""
    return USER_BASE + n


_update_ids = count(1)
_message_ids = count(1)


def _user(user_id: int, name: str = "企业用户") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name}


def _chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = f"群{chat_id}"
    else:
        chat["first_name"] = "用户"
    return chat


def message_update(
    bot: Bot,
    *,
    chat_id: int,
    user_id: int,
    text: str,
    chat_type: str = "supergroup",
    reply_to: dict[str, Any] | None = None,
    thread_id: int | None = None,
    name: str = "企业用户",
    date: int | None = None,
) -> Update:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()) if date is None else date,
        "chat": _chat(chat_id, chat_type),
        "from": _user(user_id, name),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    return Update.de_json({"update_id": next(_update_ids), "message": message}, bot)


def bot_message(
    bot_user: dict[str, Any], *, chat_id: int, message_id: int, text: str, chat_type: str = "supergroup"
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": _chat(chat_id, chat_type),
        "from": bot_user,
        "text": text,
    }


def callback_update(bot: Bot, *, chat_id: int, user_id: int, message: dict[str, Any], data: str) -> Update:
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": _user(user_id),
                "chat_instance": "ci",
                "message": message,
                "data": data,
            },
        },
        bot,
    )
