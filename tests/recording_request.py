"""A recording `telegram.request.BaseRequest`: the one test double, at the Telegram HTTP boundary.

It answers the Bot API methods the bot calls with well-formed results and records every
call, so flow tests can assert on the exact Bot API calls made (python-telegram-bot's own
offline approach). Updates are fed with `Application.process_update`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_999  # bot ids pass 2^32 too
BOT_USERNAME = "steward_test_bot"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    message_id: int | None = None  # of the message "Telegram" posted or edited (a reply to it names this id)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@dataclass
class RecordingRequest(BaseRequest):
    calls: list[ApiCall] = field(default_factory=list)
    _next_message_id: int = 1000
    # Awaited with each call and its result before the bot gets the answer: what happens in
    # Telegram meanwhile (a person replying to a card the bot does not know the id of yet).
    before_answer: Callable[[ApiCall, Any], Awaitable[None]] | None = None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = {k: _decode(v) for k, v in (request_data.parameters if request_data else {}).items()}
        call = ApiCall(api_method, params)
        self.calls.append(call)
        result = self._result(api_method, params)
        if isinstance(result, dict) and isinstance(result.get("message_id"), int):
            call.message_id = result["message_id"]
        if self.before_answer is not None:
            await self.before_answer(call, result)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        bot = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "项目管家",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }
        if method == "getMe":
            return bot
        if method in ("sendMessage", "editMessageText", "sendDocument", "sendPhoto"):
            self._next_message_id += 1
            chat_id = params.get("chat_id", 0)
            message: dict[str, Any] = {
                "message_id": params.get("message_id", self._next_message_id),
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "supergroup" if int(chat_id) < 0 else "private"},
                "from": bot,
            }
            if "text" in params:
                message["text"] = params["text"]
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "getUpdates":
            return []
        return True

    # -- assertions helpers --------------------------------------------------------
    def sent(self, method: str = "sendMessage") -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def texts_to(self, chat_id: int) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in self.calls
            if c.method in ("sendMessage", "editMessageText") and int(c.params.get("chat_id", 0)) == chat_id
        ]

    def clear(self) -> None:
        self.calls.clear()
