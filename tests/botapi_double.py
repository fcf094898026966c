"""A test double of the Telegram Bot API HTTP server (stdlib only).

End-to-end tests start the real bot (python-telegram-bot, polling mode) with its
``base_url`` pointed at this server, push updates into it and watch what the
bot calls::

    with BotApiDouble() as api:
        env = {"TELEGRAM_API_BASE_URL": api.base_url, ...}
        proc = subprocess.Popen([sys.executable, "bot.py"], env=env)
        api.push_message(chat_id=-1001, user_id=42, text="/start")
        api.wait_for_message(chat_id=-1001, contains="欢迎")

The responses are shaped like the real Bot API's, so python-telegram-bot parses
them into its objects, and the double behaves like Telegram where bots often go
wrong: ``getUpdates`` offsets and long polling, ``reply_parameters`` pointing at
unknown messages, HTML / MarkdownV2 that Telegram refuses to parse, texts over
4096 characters, ``callback_data`` over 64 bytes, "message is not modified" on a
no-op edit, answering a callback query twice, a bot kicked from a group, and
``allowed_updates`` (by default Telegram does not send ``chat_member``,
``message_reaction`` and ``message_reaction_count`` updates).

python-telegram-bot 22 (httpx) posts every request as
``application/x-www-form-urlencoded`` (no file) or ``multipart/form-data``
(files), with string parameters as they are and every other value JSON-encoded;
the double also accepts ``application/json`` bodies and GET query strings.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import itertools
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.texts_match import says

__all__ = ["BotApiDouble", "Call", "UploadedFile", "BotApiError"]

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    file_name: str | None
    mime_type: str | None
    data: bytes = dataclasses.field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Call:
    """One request the bot made. ``params`` are decoded (ints, dicts, lists...);
    for a multipart file part ``params[field]`` is ``{"file_name", "size", "mime_type"}``
    and the bytes are in ``files``."""

    method: str
    params: dict
    at: float
    files: tuple[UploadedFile, ...] = ()
    status: int = 200
    response: dict = field(default_factory=dict, repr=False)
    caller: str = ""  # the name in `base_url_as(name)`, when the bot was given one

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    def short(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("reply_markup",)}
        text = json.dumps(shown, ensure_ascii=False, default=str)
        if len(text) > 200:
            text = text[:200] + "…"
        return f"{self.method} -> {self.status} {text}"


class BotApiError(Exception):
    """Raised inside a method handler; becomes {"ok": false, ...}."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------- constants

_METHODS = [
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "logOut",
    "close",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendDocument",
    "sendPhoto",
    "sendChatAction",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "getChatMemberCount",
    "leaveChat",
    "deleteMessage",
    "pinChatMessage",
    "unpinChatMessage",
    "getFile",
]
_CANONICAL = {m.lower(): m for m in _METHODS}

# Parameters whose form value is a plain string (python-telegram-bot sends str values
# unencoded and JSON-encodes everything else).
_STRING_PARAMS = {
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "url",
    "description",
    "short_description",
    "name",
    "title",
    "language_code",
    "inline_message_id",
    "action",
    "file_id",
    "emoji",
    "business_connection_id",
    "message_effect_id",
    "secret_token",
    "ip_address",
    "custom_title",
    "query",
    "document",
    "photo",
    "thumbnail",
}

_DEFAULT_ALLOWED = None  # sentinel: every type except the three below
_NOT_DEFAULT_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024
_DOCUMENT_LIMIT = 50 * 1024 * 1024
_PHOTO_LIMIT = 10 * 1024 * 1024

_COMMAND_RE = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?:(?<=[^\w@])|^)@[A-Za-z0-9_]{5,32}\b")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- text parsing

_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*"
    r"(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?)>"
)
_ATTR_RE = re.compile(r"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_HTML_CHARREF_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _parse_html(src: str) -> tuple[str, list[dict]]:
    """Telegram's HTML parse mode: returns (plain text, entities) or raises BotApiError."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []

    def byte_offset(i: int) -> int:
        return len(src[:i].encode("utf-8"))

    def fail(msg: str) -> BotApiError:
        return _bad(f"can't parse entities: {msg}")

    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "<":
            m = _TAG_RE.match(src, i)
            if not m:
                nm = re.match(r"</?([^\s>]*)", src[i:])
                raise fail(f'Unsupported start tag "{nm.group(1) if nm else ""}" at byte offset {byte_offset(i)}')
            closing, name, attr_text, _selfclose = m.groups()
            name = name.lower()
            if closing:
                if not stack:
                    raise fail(f"Unexpected end tag at byte offset {byte_offset(i)}")
                top = stack.pop()
                if top["tag"] != name:
                    raise fail(
                        f'Unmatched end tag at byte offset {byte_offset(i)}, expected "</{top["tag"]}>", found "</{name}>"'
                    )
                length = pos16 - top["start"]
                if name == "code" and stack and stack[-1]["tag"] == "pre" and top.get("language"):
                    stack[-1]["language"] = top["language"]
                    stack[-1]["inner_code"] = True
                elif length > 0 and top["type"]:
                    ent = {"type": top["type"], "offset": top["start"], "length": length}
                    if top["type"] == "text_link":
                        ent["url"] = top["url"]
                    if top["type"] == "pre" and top.get("language"):
                        ent["language"] = top["language"]
                    if top["type"] == "custom_emoji":
                        ent["custom_emoji_id"] = top["emoji_id"]
                    if top["type"] == "blockquote" and top.get("expandable"):
                        ent["type"] = "expandable_blockquote"
                    entities.append(ent)
            else:
                if name not in _HTML_ENTITY_TYPES:
                    raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(i)}')
                attrs = {k.lower(): html.unescape(v.strip("\"'")) if v else "" for k, v in _ATTR_RE.findall(attr_text)}
                item: dict[str, Any] = {"tag": name, "type": _HTML_ENTITY_TYPES[name], "start": pos16}
                if name == "span":
                    if attrs.get("class") != "tg-spoiler":
                        raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(i)}')
                elif name == "a":
                    if attrs.get("href"):
                        item["url"] = attrs["href"]
                    else:
                        item["type"] = None
                elif name == "code":
                    cls = attrs.get("class", "")
                    if cls.startswith("language-"):
                        item["language"] = cls[len("language-") :]
                elif name == "tg-emoji":
                    if not attrs.get("emoji-id"):
                        raise fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset(i)}')
                    item["emoji_id"] = attrs["emoji-id"]
                elif name == "blockquote":
                    item["expandable"] = "expandable" in attrs
                stack.append(item)
            i = m.end()
            continue
        if c == "&":
            m = _HTML_CHARREF_RE.match(src, i)
            if m:
                ch = html.unescape(m.group(0))
                out.append(ch)
                pos16 += _u16(ch)
                i = m.end()
                continue
        out.append(c)
        pos16 += _u16(c)
        i += 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_ALWAYS_RESERVED = set("#+-={}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler", "[": "TextUrl"}


def _parse_markdown_v2(src: str) -> tuple[str, list[dict]]:
    """Validates MarkdownV2 like Telegram (reserved characters, unclosed entities) and returns
    the text without markup. Entities are not computed (empty list)."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    n = len(src)
    i = 0
    line_start = True

    def bo(k: int) -> int:
        return len(src[:k].encode("utf-8"))

    def fail(msg: str) -> BotApiError:
        return _bad(f"can't parse entities: {msg}")

    while i < n:
        c = src[i]
        was_line_start = line_start
        line_start = c == "\n"
        if c == "\\":
            if i + 1 < n:
                out.append(src[i + 1])
                line_start = src[i + 1] == "\n"
            i += 2
            continue
        if src.startswith("```", i):
            end = src.find("```", i + 3)
            while end != -1 and src[end - 1] == "\\":
                end = src.find("```", end + 1)
            if end == -1:
                raise fail(f"Can't find end of Pre entity at byte offset {bo(i)}")
            body = src[i + 3 : end]
            if "\n" in body and re.match(r"^[A-Za-z0-9_+-]*\n", body):
                body = body.split("\n", 1)[1]
            out.append(re.sub(r"\\(.)", r"\1", body))
            i = end + 3
            continue
        if c == "`":
            j = i + 1
            while j < n and src[j] != "`":
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise fail(f"Can't find end of Code entity at byte offset {bo(i)}")
            out.append(re.sub(r"\\(.)", r"\1", src[i + 1 : j]))
            i = j + 1
            continue
        marker = None
        if c == "_":
            marker = "__" if src.startswith("__", i) else "_"
        elif c == "|":
            if not src.startswith("||", i):
                raise fail("Character '|' is reserved and must be escaped with the preceding '\\'")
            marker = "||"
        elif c in "*~":
            marker = c
        if marker:
            if stack and stack[-1][0] == marker:
                stack.pop()
            elif any(m == marker for m, _ in stack):
                raise fail(f"Can't find end of {_MDV2_NAMES[stack[-1][0]]} entity at byte offset {bo(stack[-1][1])}")
            else:
                stack.append((marker, i))
            i += len(marker)
            continue
        if c == "[":
            stack.append(("[", i))
            i += 1
            continue
        if c == "]":
            if not stack or stack[-1][0] != "[":
                raise fail("Character ']' is reserved and must be escaped with the preceding '\\'")
            stack.pop()
            i += 1
            if i < n and src[i] == "(":
                j = i + 1
                while j < n and src[j] != ")":
                    j += 2 if src[j] == "\\" else 1
                if j >= n:
                    raise fail(f"Can't find end of a URL at byte offset {bo(i)}")
                i = j + 1
            continue
        if c in "()":
            raise fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        if c == ">":
            if was_line_start:
                i += 1
                line_start = False
                continue
            raise fail("Character '>' is reserved and must be escaped with the preceding '\\'")
        if c in _MDV2_ALWAYS_RESERVED:
            raise fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        out.append(c)
        i += 1
    if stack:
        marker, at = stack[-1]
        raise fail(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {bo(at)}")
    return "".join(out), []


def _parse_markdown_legacy(src: str) -> tuple[str, list[dict]]:
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            i += 2
            continue
        if c in "*_`":
            closer = "```" if src.startswith("```", i) else c
            end = src.find(closer, i + len(closer))
            if end == -1:
                raise _bad(
                    f"can't parse entities: Can't find end of the entity starting at byte offset {len(src[:i].encode())}"
                )
            out.append(src[i + len(closer) : end])
            i = end + len(closer)
            continue
        if c == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", src[i:])
            if not m:
                raise _bad(
                    f"can't parse entities: Can't find end of the entity starting at byte offset {len(src[:i].encode())}"
                )
            out.append(m.group(1))
            i += m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out), []


def _auto_entities(text: str, bot_username: str) -> list[dict]:
    """Entities Telegram adds to an incoming plain message: bot_command and mention."""
    ents: list[dict[str, Any]] = []
    for rx, typ in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for m in rx.finditer(text):
            ents.append({"type": typ, "offset": _u16(text[: m.start()]), "length": _u16(m.group(0))})
    ents.sort(key=lambda e: e["offset"])
    return ents


def _strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram trims leading/trailing whitespace of message texts; keep entities aligned."""
    stripped_left = text.lstrip()
    shift = _u16(text) - _u16(stripped_left)
    result = stripped_left.rstrip()
    total = _u16(result)
    fixed = []
    for e in entities:
        start = max(0, e["offset"] - shift)
        end = min(total, e["offset"] + e["length"] - shift)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return result, fixed


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg = int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + seg
    return 100, 100


# --------------------------------------------------------------------------- request body parsing


def _coerce(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


_DISPOSITION_PARAM_RE = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], list[UploadedFile]]:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise _bad("multipart boundary not found")
    boundary = b"--" + m.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        head, _, data = chunk.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        params: dict[str, str] = {}
        for pm in _DISPOSITION_PARAM_RE.finditer(disp):
            key = pm.group(1).lower()
            val = pm.group(2) if pm.group(2) is not None else pm.group(3)
            if pm.group(2) is not None:
                val = re.sub(r"\\(.)", r"\1", val).replace("%22", '"')
            params[key] = val
        if "filename*" in params:
            enc, _, rest = params["filename*"].partition("''")
            params["filename"] = unquote(rest, encoding=enc or "utf-8")
        name = params.get("name", "")
        if "filename" in params or "content-type" in headers and headers["content-type"] not in ("text/plain",):
            files.append(UploadedFile(name, params.get("filename"), headers.get("content-type"), data))
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


# --------------------------------------------------------------------------- the server


class _Dropped(Exception):
    """drop_next: close the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BotApiDouble/1.0"
    double: BotApiDouble

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.double._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.double._track(self.connection, False)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _handle(self) -> None:
        try:
            self.double._tls.conn = self.connection
            body = self._read_body()
            status, payload, ctype = self.double._handle_http(self.command, self.path, self.headers, body)
            self._send(status, payload, ctype)
        except _Dropped:
            self.close_connection = True  # no answer: the connection is closed
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self.close_connection = True


class BotApiDouble:
    """In-process fake of https://api.telegram.org for end-to-end tests. Thread-safe."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST",
        bot_username: str = "steward_test_bot",
        bot_id: int = 123456,
        bot_first_name: str = "Steward",
        privacy_mode: bool = False,
        default_member_status: str = "administrator",
        validate_text: bool = True,
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        # privacy_mode=True: in groups the bot only gets commands, replies to it and mentions.
        self.privacy_mode = privacy_mode
        # Status getChatMember reports for users without set_chat_member().
        self.default_member_status = default_member_status
        # validate_text=False turns off the parse_mode / length checks.
        self.validate_text = validate_text

        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._updates: list[dict] = []  # pending, sorted by update_id
        self._update_ids = itertools.count(100_000_001)
        self._msg_counters: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> message
        self._deleted: set[tuple[int, int]] = set()
        self._bot_messages: dict[int, list[tuple[int, int]]] = {}  # chat -> keys in send order
        self._chats: dict[int, dict] = {}
        self._users: dict[int, dict] = {}
        self._chat_users: dict[int, set[int]] = {}
        self._members: dict[tuple[int, int], dict] = {}
        self._kicked: set[int] = set()
        self._left: set[int] = set()
        self._failures: list[dict] = []
        self._slow: list[dict] = []
        self._faults: list[dict] = []  # drop_next / late_next
        self.slow_started = threading.Event()  # set when a request slowed by slow_next() begins
        self._callback_queries: dict[str, dict] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._files: dict[str, dict] = {}
        self._file_ids = itertools.count(1)
        self._webhook_url = ""
        self._allowed_updates: list[str] | None = _DEFAULT_ALLOWED
        self._poll_generation = 0
        self._stopping = False
        self._conns: set[socket.socket] = set()
        self.internal_errors: list[Exception] = []  # exceptions raised by the double itself
        self._tls = threading.local()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.base_file_url = ""
        self.port = port  # 0: any free port; a fixed one lets a test stop and restart "Telegram"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already started")
        handler = type("_BoundHandler", (_Handler,), {"double": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"
        self._stopping = False
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"BotApiDouble:{self.port}", daemon=True
        )
        self._thread.start()

    def base_url_as(self, caller: str) -> str:
        """A base URL naming its caller: calls made through it carry ``caller`` (one bot process
        among several), and faults can be aimed at it."""
        return f"http://127.0.0.1:{self.port}/as/{caller}/bot"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BotApiDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    # ------------------------------------------------------------------ helpers (state)

    @property
    def bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    def _next_message_id(self, chat_id: int) -> int:
        self._msg_counters[chat_id] = self._msg_counters.get(chat_id, 0) + 1
        return self._msg_counters[chat_id]

    def _chat(self, chat_id: int) -> dict:
        """The chat, made up on first sight (a private chat for a user id, else a supergroup)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                chat = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "supergroup",
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict:
        """Declares a chat (type/title) the bot will later send to or receive from."""
        with self._cond:
            chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = title or f"User {chat_id}"
            else:
                chat["title"] = title or f"Chat {chat_id}"
            if username:
                chat["username"] = username
            if is_forum:
                chat["is_forum"] = True
            self._chats[chat_id] = chat
            return dict(chat)

    def _store(self, msg: dict) -> None:
        self._messages[(msg["chat"]["id"], msg["message_id"])] = msg

    def _register_update_objects(self, update: dict) -> None:
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            msg = update.get(key)
            if isinstance(msg, dict) and "chat" in msg and "message_id" in msg:
                chat_id = msg["chat"]["id"]
                self._chats.setdefault(chat_id, dict(msg["chat"]))
                self._msg_counters[chat_id] = max(self._msg_counters.get(chat_id, 0), msg["message_id"])
                self._store(msg)
                if "from" in msg:
                    self._users.setdefault(msg["from"]["id"], dict(msg["from"]))
        cq = update.get("callback_query")
        if isinstance(cq, dict) and "id" in cq:
            self._callback_queries.setdefault(str(cq["id"]), {"answered": False, "query": cq})

    def _enqueue(self, update: dict) -> None:
        self._updates.append(update)
        self._updates.sort(key=lambda u: u["update_id"])
        self._cond.notify_all()

    @staticmethod
    def _reply_copy(msg: dict) -> dict:
        out = copy.deepcopy(msg)
        out.pop("reply_to_message", None)
        return out

    # ------------------------------------------------------------------ driving

    def push_message(
        self,
        *,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str = "supergroup",
        chat_title: str | None = None,
        first_name: str = "测试用户",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        entities: list[dict] | None = None,
        extra: dict | None = None,
    ) -> dict:
        """Queues an Update with a message from a user and returns the message dict.
        ``bot_command``/``mention`` entities are added like Telegram does unless ``entities``
        is given. ``extra`` is merged into the message (e.g. ``document=api.add_file(...)``)."""
        with self._cond:
            if chat_id in self._kicked or chat_id in self._left:
                raise RuntimeError(
                    f"the bot is not in chat {chat_id} (kicked or left); call restore_bot_in({chat_id}) first"
                )
            chat = self._chats.get(chat_id)
            if chat is None or chat.get("type") != chat_type:
                chat = {"id": chat_id, "type": chat_type}
                if chat_type == "private":
                    chat["first_name"] = first_name
                    if username:
                        chat["username"] = username
                else:
                    chat["title"] = chat_title or "重大项目审批帮办群"
                self._chats[chat_id] = chat
            elif chat_title and chat_type != "private":
                chat["title"] = chat_title
            if is_topic_message and chat_type == "supergroup":
                chat["is_forum"] = True
            user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
            if last_name:
                user["last_name"] = last_name
            if username:
                user["username"] = username
            if language_code:
                user["language_code"] = language_code
            self._users[user_id] = user
            self._chat_users.setdefault(chat_id, set()).add(user_id)

            msg: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": dict(chat),
                "date": int(time.time()),
            }
            if message_thread_id is not None:
                msg["message_thread_id"] = message_thread_id
            if is_topic_message:
                msg["is_topic_message"] = True
            replied = None
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is None:
                    raise ValueError(
                        f"push_message: no message {reply_to_message_id} in chat {chat_id} "
                        f"(known: {sorted(k[1] for k in self._messages if k[0] == chat_id)})"
                    )
                msg["reply_to_message"] = self._reply_copy(replied)
            if text:
                msg["text"] = text
                ents = entities if entities is not None else _auto_entities(text, self.bot_username)
                if ents:
                    msg["entities"] = ents
            if extra:
                msg.update(extra)
            self._store(msg)

            deliver = True
            if self.privacy_mode and chat_type in ("group", "supergroup"):
                deliver = (
                    text.startswith("/")
                    or f"@{self.bot_username}".lower() in text.lower()
                    or (replied is not None and replied.get("from", {}).get("id") == self.bot_id)
                )
            if deliver:
                self._enqueue({"update_id": next(self._update_ids), "message": copy.deepcopy(msg)})
            return copy.deepcopy(msg)

    def push_callback(
        self,
        *,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        first_name: str = "测试用户",
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> dict:
        """Queues a callback_query (a user pressed an inline button of a message the bot sent)
        and returns the callback_query dict; its ``id`` is what answerCallbackQuery must carry."""
        with self._cond:
            msg = self._messages.get((chat_id, message_id))
            if msg is None or msg.get("from", {}).get("id") != self.bot_id:
                raise ValueError(f"push_callback: message {message_id} in chat {chat_id} was not sent by the bot")
            if (chat_id, message_id) in self._deleted:
                raise ValueError(f"push_callback: message {message_id} in chat {chat_id} was deleted")
            user = dict(self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": first_name})
            if first_name != "测试用户":
                user["first_name"] = first_name
            if username:
                user["username"] = username
            if language_code and "language_code" not in user:
                user["language_code"] = language_code
            self._users[user_id] = user
            query: dict[str, Any] = {
                "id": str(next(self._callback_ids)),
                "from": user,
                "message": copy.deepcopy(msg),
                "chat_instance": str(abs(chat_id) * 7919 % 10**18),
                "data": data,
            }
            self._callback_queries[query["id"]] = {"answered": False, "query": query}
            self._enqueue({"update_id": next(self._update_ids), "callback_query": copy.deepcopy(query)})
            return copy.deepcopy(query)

    def push_raw_update(self, update: dict) -> None:
        """Queues any update as given (``update_id`` is assigned when missing). Messages and
        callback queries in it become known to the double."""
        with self._cond:
            update = copy.deepcopy(update)
            if "update_id" not in update:
                update["update_id"] = next(self._update_ids)
            self._register_update_objects(update)
            self._enqueue(update)

    def add_file(
        self, data: bytes, *, file_name: str = "file.bin", mime_type: str = "application/octet-stream"
    ) -> dict:
        """Stores a file as if a user had uploaded it; returns a Document dict for a pushed
        message (``extra={"document": doc}``); the bot can getFile/download it."""
        with self._cond:
            return dict(self._new_file(data, file_name, mime_type, "documents"))

    def next_update_id(self) -> int:
        with self._cond:
            return next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        with self._cond:
            return self._next_message_id(chat_id)

    def kick_bot_from(self, chat_id: int, *, notify: bool = False, by_user_id: int | None = None) -> None:
        """Every later call on that chat answers 403 (kicked / blocked by the user). With
        ``notify`` a my_chat_member update (administrator -> kicked) is queued too."""
        with self._cond:
            self._kicked.add(chat_id)
            if notify:
                chat = self._chat(chat_id)
                by = self._users.get(by_user_id or 0) or {"id": by_user_id or 1, "is_bot": False, "first_name": "Admin"}
                self._enqueue(
                    {
                        "update_id": next(self._update_ids),
                        "my_chat_member": {
                            "chat": dict(chat),
                            "from": dict(by),
                            "date": int(time.time()),
                            "old_chat_member": self._member_dict("administrator", self.bot_user),
                            "new_chat_member": self._member_dict("kicked", self.bot_user),
                        },
                    }
                )

    def restore_bot_in(self, chat_id: int) -> None:
        """Undoes kick_bot_from / leaveChat."""
        with self._cond:
            self._kicked.discard(chat_id)
            self._left.discard(chat_id)

    def set_chat_member(self, chat_id: int, user_id: int, status: str, **fields: Any) -> None:
        """Status getChatMember reports: creator, administrator, member, restricted, left, kicked."""
        with self._cond:
            self._members[(chat_id, user_id)] = {"status": status, **fields}

    # ------------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
        where: Callable[[dict], bool] | None = None,
        caller: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" for any method except getUpdates) whose
        params satisfy ``where`` (made through ``base_url_as(caller)``, if given) fail with
        ``status``. Default descriptions follow Telegram's."""
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden: bot was kicked from the supergroup chat",
                404: "Not Found",
                409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                429: f"Too Many Requests: retry after {retry_after or 1}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error" if status >= 500 else "Error")
        params: dict[str, Any] = {}
        if retry_after is not None:
            params["retry_after"] = retry_after
        elif status == 429:
            params["retry_after"] = 1
        if migrate_to_chat_id is not None:
            params["migrate_to_chat_id"] = migrate_to_chat_id
            if status == 400 and description == "Bad Request":
                description = "Bad Request: group chat was upgraded to a supergroup chat"
        with self._cond:
            self._failures.append(
                {
                    "method": method.lower(),
                    "left": times,
                    "error": BotApiError(status, description, params or None),
                    "where": where,
                    "caller": caller,
                }
            )

    def clear_failures(self) -> None:
        """Forget every failure queued with fail_next, drop_next and late_next (a fault that ends)."""
        with self._cond:
            self._failures.clear()
            self._faults.clear()

    def slow_next(
        self,
        method: str,
        *,
        seconds: float,
        times: int = 1,
        where: Callable[[dict], bool] | None = None,
        caller: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (whose params satisfy ``where``, made through
        ``base_url_as(caller)`` if given) take ``seconds`` before they are answered: work in
        flight when a test stops or kills the bot. slow_started is set when one begins."""
        with self._cond:
            self._slow.append(
                {"method": method.lower(), "left": times, "seconds": seconds, "where": where, "caller": caller}
            )

    def drop_next(
        self, method: str, *, times: int = 1, delivered: bool = False, where: Callable[[dict], bool] | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` (whose params satisfy ``where``) get no answer:
        the double closes the connection. ``delivered=False``: the request is dropped before it
        is handled (recorded with status 0, nothing happens); ``delivered=True``: it is handled
        (a message is posted and recorded as sent) and only the answer is lost."""
        with self._cond:
            self._faults.append(
                {"method": method.lower(), "left": times, "kind": "drop", "delivered": delivered, "where": where}
            )

    def late_next(
        self, method: str, *, seconds: float, times: int = 1, where: Callable[[dict], bool] | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` (whose params satisfy ``where``) are handled at
        once (a message is posted and recorded as sent) and answered ``seconds`` later: longer
        than the client's timeout, the client cannot know the message arrived."""
        with self._cond:
            self._faults.append(
                {"method": method.lower(), "left": times, "kind": "late", "seconds": seconds, "where": where}
            )

    def _take_next(self, queue: list[dict], method: str, params: dict | None, caller: str) -> dict | None:
        """The first entry of `queue` (failures, faults or slownesses) this call meets — its method ("*": any but
        getUpdates), its ``where`` and its ``caller`` —, counted as used once."""
        low = method.lower()
        with self._cond:
            for entry in queue:
                if (
                    entry["left"] > 0
                    and (entry["method"] == low or (entry["method"] == "*" and low != "getupdates"))
                    and entry.get("caller") in (None, caller)
                    and (entry.get("where") is None or entry["where"](params or {}))
                ):
                    entry["left"] -= 1
                    if entry["left"] == 0:
                        queue.remove(entry)
                    return entry
        return None

    def take_updates(self) -> list[dict]:
        """Remove and return the pending updates (to post them to a webhook, as Telegram does)."""
        with self._cond:
            taken, self._updates[:] = list(self._updates), []
        return taken

    # ------------------------------------------------------------------ observing

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def mark(self) -> int:
        """Index to pass as ``since=`` so a wait ignores calls made before now."""
        with self._cond:
            return len(self._calls)

    def clear_calls(self) -> None:
        with self._cond:
            self._calls.clear()

    def calls_to(self, method: str) -> list[Call]:
        low = method.lower()
        with self._cond:
            return [c for c in self._calls if c.method.lower() == low]

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, since: int = 0) -> Call:
        """Blocks until a call (from index ``since`` on, earlier ones included) satisfies
        ``predicate``. A predicate raising KeyError/TypeError/... counts as no match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            idx = since
            while True:
                while idx < len(self._calls):
                    call = self._calls[idx]
                    idx += 1
                    try:
                        if predicate(call):
                            return call
                    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
                        pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [c for c in self._calls if c.method != "getUpdates"][-25:]
                    polls = sum(1 for c in self._calls if c.method == "getUpdates")
                    lines = "\n  ".join(c.short() for c in recent) or "(none)"
                    raise AssertionError(
                        f"BotApiDouble: no matching call within {timeout}s; {polls} getUpdates calls; "
                        f"pending updates: {len(self._updates)}; recent calls:\n  {lines}"
                    )
                self._cond.wait(remaining)

    def wait_for_message(
        self,
        *,
        chat_id: int,
        contains: str | None = None,
        matching: str | None = None,
        values: dict[str, object] | None = None,
        timeout: float = 10.0,
        since: int = 0,
    ) -> Call:
        """A successful sendMessage to ``chat_id`` whose text contains ``contains`` and says the
        texts.py sentence ``matching`` (``values`` fix some of its placeholders, the others match
        anything: tests/texts_match.says), so a test waits on a constant, not a copied sentence."""

        def pred(c: Call) -> bool:
            text = str(c.params.get("text", ""))
            return (
                c.method == "sendMessage"
                and c.ok
                and _same_chat(c.params.get("chat_id"), chat_id)
                and (contains is None or contains in text)
                and (matching is None or says(matching, text, **(values or {})))
            )

        return self.wait_for(pred, timeout, since=since)

    def wait_until_consumed(self, timeout: float = 10.0) -> None:
        """Blocks until the bot has fetched every pushed update (getUpdates returned it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                fetched = {
                    u["update_id"] for c in self._calls if c.method == "getUpdates" and c.ok for u in (c.result or [])
                }
                if all(u["update_id"] in fetched for u in self._updates):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"BotApiDouble: {len(self._updates)} updates still pending")
                self._cond.wait(remaining)

    def sent_messages(self, chat_id: int) -> list[dict]:
        """Messages the bot sent to the chat (current state after edits; deleted ones omitted)."""
        with self._cond:
            return [
                copy.deepcopy(self._messages[k]) for k in self._bot_messages.get(chat_id, []) if k not in self._deleted
            ]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        with self._cond:
            msg = self._messages.get((chat_id, message_id))
            return copy.deepcopy(msg) if msg else None

    def pending_updates(self) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._updates)

    def commands(self, *, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._commands.get(_scope_key(scope, language_code), []))

    def uploaded_file(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id]["data"]

    # ------------------------------------------------------------------ HTTP layer

    def _handle_http(self, verb: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        at = time.time()
        url = urlsplit(raw_path)
        path = unquote(url.path)
        caller = ""
        if path.startswith("/as/"):  # base_url_as(caller)
            caller, _, rest = path[len("/as/") :].partition("/")
            path = "/" + rest
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        if not path.startswith("/bot"):
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}', "application/json"
        token, _, method_name = path[len("/bot") :].partition("/")
        method = _CANONICAL.get(method_name.lower(), method_name)

        files: list[UploadedFile] = []
        try:
            params, files = self._parse_params(url.query, headers, body)
        except BotApiError as err:
            return self._finish(Call(method, {}, at, (), err.status, err.payload(), caller=caller))
        except (ValueError, UnicodeDecodeError) as err:
            error = _bad(f"can't parse request: {err}")
            return self._finish(Call(method, {}, at, (), error.status, error.payload(), caller=caller))
        slowness = self._take_next(self._slow, method, params, caller)
        delay = float(slowness["seconds"]) if slowness else 0.0
        if delay:
            self.slow_started.set()
            time.sleep(delay)  # in this request's own server thread
        fault = self._take_next(self._faults, method, params, caller)
        if fault is not None and fault["kind"] == "drop" and not fault["delivered"]:
            self._finish(Call(method, params, at, tuple(files), 0, {"dropped": "before it was handled"}, caller=caller))
            raise _Dropped()

        try:
            if token != self.token:
                raise BotApiError(401, "Unauthorized")
            if not method_name or method.lower() not in _CANONICAL:
                injected = self._take_next(self._failures, method, None, "")
                raise injected["error"] if injected else BotApiError(404, "Not Found")
            injected = self._take_next(self._failures, method, params, caller)
            if injected:
                raise injected["error"]
            handler = getattr(self, f"_m_{method}")
            with self._cond:
                result = handler(params, {f.field: f for f in files})
            response = {"ok": True, "result": result}
            call = Call(method, params, at, tuple(files), 200, response, caller=caller)
        except BotApiError as err:
            call = Call(method, params, at, tuple(files), err.status, err.payload(), caller=caller)
        except Exception as exc:  # noqa: BLE001 - a bug in the double: answer 500 and keep it for the test to see
            with self._cond:
                self.internal_errors.append(exc)
            error = BotApiError(500, f"Internal Server Error: BotApiDouble failed: {exc!r}")
            call = Call(method, params, at, tuple(files), error.status, error.payload(), caller=caller)
        answer = self._finish(call)
        if fault is not None and fault["kind"] == "drop":
            raise _Dropped()  # handled, the answer lost
        if fault is not None and fault["kind"] == "late":
            time.sleep(fault["seconds"])  # in this request's own server thread
        return answer

    def _finish(self, call: Call) -> tuple[int, bytes, str]:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return call.status, json.dumps(call.response, ensure_ascii=False).encode("utf-8"), "application/json"

    def _parse_params(self, query: str, headers: Any, body: bytes) -> tuple[dict, list[UploadedFile]]:
        params: dict[str, Any] = {}
        files: list[UploadedFile] = []
        for k, v in parse_qsl(query, keep_blank_values=True):
            params[k] = _coerce(k, v)
        ctype = (headers.get("Content-Type") or "").strip()
        low = ctype.lower()
        if not body:
            return params, files
        if low.startswith("application/json"):
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise _bad("request body must be a JSON object")
            params.update(data)
        elif low.startswith("multipart/form-data"):
            fields, files = _parse_multipart(body, ctype)
            for k, v in fields.items():
                params[k] = _coerce(k, v)
            for f in files:
                if not isinstance(params.get(f.field), str):
                    params[f.field] = {"file_name": f.file_name, "size": f.size, "mime_type": f.mime_type}
        else:  # application/x-www-form-urlencoded (or none)
            for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                params[k] = _coerce(k, v)
        return params, files

    def _serve_file(self, rest: str) -> tuple[int, bytes, str]:
        token, _, file_path = rest.partition("/")
        with self._cond:
            if token == self.token:
                for f in self._files.values():
                    if f["file_path"] == file_path:
                        return 200, f["data"], f.get("mime_type") or "application/octet-stream"
        return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}', "application/json"

    # ------------------------------------------------------------------ common pieces

    def _chat_id_param(self, params: dict, name: str = "chat_id") -> int:
        value = params.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        if isinstance(value, str):
            if value.startswith("@"):
                for chat in self._chats.values():
                    if chat.get("username", "").lower() == value[1:].lower():
                        return chat["id"]
                raise _bad("chat not found")
            try:
                return int(value)
            except ValueError:
                raise _bad("chat not found") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad("chat not found")
        return value

    def _check_member(self, chat_id: int) -> dict:
        chat = self._chat(chat_id)
        kind = chat["type"]
        if chat_id in self._kicked:
            if kind == "private":
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            raise BotApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if chat_id in self._left:
            raise BotApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    @classmethod
    def _int_param(cls, params: dict, name: str) -> int:
        value = cls._optional_int_param(params, name)
        if value is None:
            raise _bad(f"{name} is empty")
        return value

    @staticmethod
    def _optional_int_param(params: dict, name: str) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def _format(self, text: Any, parse_mode: Any, limit: int, empty_error: str | None) -> tuple[str, list[dict]]:
        text = "" if text is None else str(text)
        entities: list[dict] = []
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
        if mode and mode not in ("html", "markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        if self.validate_text:
            if mode == "html":
                text, entities = _parse_html(text)
            elif mode == "markdownv2":
                text, entities = _parse_markdown_v2(text)
            elif mode == "markdown":
                text, entities = _parse_markdown_legacy(text)
        text, entities = _strip_text(text, entities)
        if not text and empty_error:
            raise _bad(empty_error)
        if self.validate_text and len(text) > limit:
            raise _bad("message is too long" if limit == _TEXT_LIMIT else "message caption is too long")
        return text, entities

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        """Validates reply_markup; returns it when it belongs in the returned Message (inline)."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or any(not isinstance(r, list) for r in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad("can't parse inline keyboard button: Text must be non-empty")
                    kinds = [
                        k
                        for k in (
                            "url",
                            "callback_data",
                            "login_url",
                            "switch_inline_query",
                            "switch_inline_query_current_chat",
                            "switch_inline_query_chosen_chat",
                            "callback_game",
                            "pay",
                            "web_app",
                            "copy_text",
                        )
                        if k in button
                    ]
                    if not kinds:
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if "callback_data" in button:
                        size = len(str(button["callback_data"]).encode("utf-8"))
                        if not 1 <= size <= 64:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button and not re.match(r"^(https?|tg)://", str(button["url"])):
                        raise _bad(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
            return copy.deepcopy(markup) if any(rows) else None
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise _bad("can't parse reply keyboard markup JSON object")
        return None

    def _reply_target(self, params: dict, chat_id: int) -> dict | None:
        rp = params.get("reply_parameters")
        if isinstance(rp, dict):
            target_id, allow = rp.get("message_id"), bool(rp.get("allow_sending_without_reply"))
            target_chat = rp.get("chat_id", chat_id)
            try:
                target_chat = int(target_chat)
            except (TypeError, ValueError):
                target_chat = chat_id
        else:
            target_id, allow, target_chat = (
                params.get("reply_to_message_id"),
                bool(params.get("allow_sending_without_reply")),
                chat_id,
            )
        if target_id in (None, ""):
            return None
        try:
            key = (target_chat, int(target_id))
        except (TypeError, ValueError):
            raise _bad("invalid reply_parameters specified") from None
        msg = self._messages.get(key)
        if msg is None or key in self._deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return self._reply_copy(msg)

    def _new_bot_message(self, params: dict, chat: dict) -> dict:
        chat_id = chat["id"]
        markup = self._check_markup(params.get("reply_markup"))
        reply = self._reply_target(params, chat_id)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": dict(chat),
            "date": int(time.time()),
        }
        thread = params.get("message_thread_id")
        if thread not in (None, ""):
            msg["message_thread_id"] = int(thread)
            if chat.get("is_forum"):
                msg["is_topic_message"] = True
        if reply is not None:
            msg["reply_to_message"] = reply
        if markup is not None:
            msg["reply_markup"] = markup
        return msg

    def _commit_bot_message(self, msg: dict) -> dict:
        self._store(msg)
        key = (msg["chat"]["id"], msg["message_id"])
        self._bot_messages.setdefault(key[0], []).append(key)
        return copy.deepcopy(msg)

    def _new_file(self, data: bytes, file_name: str | None, mime_type: str | None, folder: str) -> dict:
        n = next(self._file_ids)
        file_id = f"BQACAgUAAxkDAAI{n:06d}{abs(hash((n, len(data)))) % 10**8:08d}"
        unique = f"AgAD{n:06d}"
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        record = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": len(data),
            "file_path": f"{folder}/file_{n}{ext}",
            "data": data,
            "mime_type": mime_type,
            "file_name": file_name,
        }
        self._files[file_id] = record
        doc = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}
        if file_name:
            doc["file_name"] = file_name
        if mime_type:
            doc["mime_type"] = mime_type
        return doc

    def _input_file(self, params: dict, files: dict[str, UploadedFile], name: str) -> UploadedFile | dict:
        """The upload for parameter ``name``: an UploadedFile, or the stored record for a file_id/URL."""
        value = params.get(name)
        if name in files and not isinstance(value, str):
            return files[name]
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value[len("attach://") :])
            if part is None:
                raise _bad(f"file for attach:// {value} not found")
            return part
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if re.match(r"^https?://", value):
                fname = value.rstrip("/").rsplit("/", 1)[-1] or "file"
                return UploadedFile(name, fname, None, b"\0" * 1024)
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {name} in the request")

    # ------------------------------------------------------------------ methods: bot & updates

    def _m_getMe(self, params: dict, files: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, params: dict, files: dict) -> bool:
        return True

    def _m_close(self, params: dict, files: dict) -> bool:
        return True

    def _m_setWebhook(self, params: dict, files: dict) -> bool:
        url = params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        self._cond.notify_all()
        return True

    def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._cond.notify_all()
        return True

    def _m_getWebhookInfo(self, params: dict, files: dict) -> dict:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _allowed(self, update: dict) -> bool:
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _NOT_DEFAULT_UPDATES

    def _m_getUpdates(self, params: dict, files: dict) -> list[dict]:
        if self._webhook_url:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._optional_int_param(params, "offset") or 0
        limit = self._optional_int_param(params, "limit") or 100
        limit = max(1, min(limit, 100))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = allowed  # remembered by Telegram until changed

        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # terminates an older long poll (409 Conflict)

        def confirm() -> None:
            if offset > 0:
                self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates[:] = self._updates[offset:]
            self._updates[:] = [u for u in self._updates if self._allowed(u)]

        confirm()
        deadline = time.monotonic() + min(timeout, 50.0)
        while not self._updates and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
            if self._poll_generation != generation:
                if self._client_gone():
                    raise _abandoned()
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self._webhook_url:
                raise BotApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._updates[:] = [u for u in self._updates if self._allowed(u)]
        if timeout and self._client_gone():
            raise _abandoned()  # nothing was delivered: the updates stay unconfirmed
        return copy.deepcopy(self._updates[:limit])

    def _client_gone(self) -> bool:
        """Whether the client closed the connection of the request being handled (e.g. the
        bot cancelled a long poll on shutdown)."""
        conn = getattr(self._tls, "conn", None)
        if conn is None:
            return False
        try:
            readable, _, _ = select.select([conn], [], [], 0)
            return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be an Array of BotCommand")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict) or not _BOT_COMMAND_NAME_RE.match(str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            desc = str(cmd.get("description", ""))
            if not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID" if desc else "command description is empty")
            clean.append({"command": cmd["command"], "description": desc})
        self._commands[_scope_key(params.get("scope"), params.get("language_code") or "")] = clean
        return True

    def _m_getMyCommands(self, params: dict, files: dict) -> list[dict]:
        return copy.deepcopy(self._commands.get(_scope_key(params.get("scope"), params.get("language_code") or ""), []))

    def _m_deleteMyCommands(self, params: dict, files: dict) -> bool:
        self._commands.pop(_scope_key(params.get("scope"), params.get("language_code") or ""), None)
        return True

    # ------------------------------------------------------------------ methods: messages

    def _m_sendMessage(self, params: dict, files: dict) -> dict:
        chat = self._check_member(self._chat_id_param(params))
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), _TEXT_LIMIT, "message text is empty"
        )
        if isinstance(params.get("entities"), list) and not params.get("parse_mode"):
            entities = params["entities"]
        msg = self._new_bot_message(params, chat)
        msg["text"] = text
        if entities:
            msg["entities"] = entities
        return self._commit_bot_message(msg)

    def _edit_target(self, params: dict) -> dict | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        message_id = self._int_param(params, "message_id")
        key = (chat_id, message_id)
        msg = self._messages.get(key)
        if msg is None or key in self._deleted:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return msg

    def _m_editMessageText(self, params: dict, files: dict) -> dict | bool:
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), _TEXT_LIMIT, "message text is empty"
        )
        if isinstance(params.get("entities"), list) and not params.get("parse_mode"):
            entities = params["entities"]
        markup = self._check_markup(params.get("reply_markup"))
        msg = self._edit_target(params)
        if msg is None:
            return True
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        if msg["text"] == text and msg.get("entities", []) == entities and msg.get("reply_markup") == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg["text"] = text
        msg.pop("entities", None)
        if entities:
            msg["entities"] = entities
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> dict | bool:
        markup = self._check_markup(params.get("reply_markup"))
        msg = self._edit_target(params)
        if msg is None:
            return True
        if msg.get("reply_markup") == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    def _m_deleteMessage(self, params: dict, files: dict) -> bool:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        key = (chat_id, self._int_param(params, "message_id"))
        if key not in self._messages or key in self._deleted:
            raise _bad("message to delete not found")
        self._deleted.add(key)
        return True

    def _m_pinChatMessage(self, params: dict, files: dict) -> bool:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        key = (chat_id, self._int_param(params, "message_id"))
        if key not in self._messages or key in self._deleted:
            raise _bad("message to pin not found")
        return True

    def _m_unpinChatMessage(self, params: dict, files: dict) -> bool:
        self._check_member(self._chat_id_param(params))
        return True

    def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        qid = str(params.get("callback_query_id") or "")
        entry = self._callback_queries.get(qid)
        if entry is None or entry["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        entry["answered"] = True
        return True

    def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        self._check_member(self._chat_id_param(params))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _send_media(self, params: dict, files: dict, kind: str) -> dict:
        chat = self._check_member(self._chat_id_param(params))
        upload = self._input_file(params, files, kind)
        caption, entities = self._format(params.get("caption"), params.get("parse_mode"), _CAPTION_LIMIT, None)
        if isinstance(params.get("caption_entities"), list) and not params.get("parse_mode"):
            entities = params["caption_entities"]
        msg = self._new_bot_message(params, chat)
        if isinstance(upload, UploadedFile):
            if not upload.data:
                raise _bad("file must be non-empty")
            limit = _DOCUMENT_LIMIT if kind == "document" else _PHOTO_LIMIT
            if upload.size > limit:
                raise BotApiError(413, "Request Entity Too Large")
            stored = self._new_file(
                upload.data, upload.file_name, upload.mime_type, "documents" if kind == "document" else "photos"
            )
        else:
            stored = {
                k: upload[k]
                for k in ("file_id", "file_unique_id", "file_size", "file_name", "mime_type")
                if upload.get(k) is not None
            }
        if kind == "document":
            msg["document"] = stored
        else:
            width, height = (
                _image_size(self._files[stored["file_id"]]["data"]) if stored["file_id"] in self._files else (100, 100)
            )
            scale = min(1.0, 90 / max(width, height, 1))
            base = {k: stored[k] for k in ("file_id", "file_unique_id", "file_size")}
            msg["photo"] = [
                {
                    **base,
                    "file_id": base["file_id"] + "_s",
                    "file_unique_id": base["file_unique_id"] + "s",
                    "width": max(1, int(width * scale)),
                    "height": max(1, int(height * scale)),
                    "file_size": max(1, base["file_size"] // 10),
                },
                {**base, "width": width, "height": height},
            ]
        if caption:
            msg["caption"] = caption
            if entities:
                msg["caption_entities"] = entities
        return self._commit_bot_message(msg)

    def _m_sendDocument(self, params: dict, files: dict) -> dict:
        return self._send_media(params, files, "document")

    def _m_sendPhoto(self, params: dict, files: dict) -> dict:
        return self._send_media(params, files, "photo")

    def _m_getFile(self, params: dict, files: dict) -> dict:
        record = self._files.get(str(params.get("file_id") or ""))
        if record is None:
            raise _bad("invalid file_id")
        return {k: record[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    # ------------------------------------------------------------------ methods: chats

    def _m_getChat(self, params: dict, files: dict) -> dict:
        chat_id = self._chat_id_param(params)
        if chat_id not in self._chats:
            raise _bad("chat not found")
        chat = self._check_member(chat_id)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _user(self, user_id: int) -> dict:
        if user_id == self.bot_id:
            return self.bot_user
        return dict(self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"})

    @staticmethod
    def _member_dict(status: str, user: dict, **fields: Any) -> dict:
        if status == "creator":
            base: dict[str, Any] = {"is_anonymous": False}
        elif status == "administrator":
            base = {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": True,
                "can_edit_stories": True,
                "can_delete_stories": True,
                "can_pin_messages": True,
                "can_manage_topics": True,
            }
        elif status == "restricted":
            base = {
                "is_member": True,
                "until_date": 0,
                "can_edit_tag": False,
                **dict.fromkeys(
                    (
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_send_messages",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_manage_topics",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                    ),
                    False,
                ),
            }
        elif status == "kicked":
            base = {"until_date": 0}
        elif status in ("member", "left"):
            base = {}
        else:
            raise ValueError(f"unknown chat member status {status!r}")
        return {"status": status, "user": user, **base, **fields}

    def _member(self, chat_id: int, user_id: int) -> dict:
        spec = dict(self._members.get((chat_id, user_id)) or {})
        status = spec.pop("status", None)
        if status is None:
            status = "administrator" if user_id == self.bot_id else self.default_member_status
        chat = self._chats.get(chat_id) or {}
        if chat.get("type") == "private" and user_id == chat_id and (chat_id, user_id) not in self._members:
            status = "member"
        return self._member_dict(status, self._user(user_id), **spec)

    def _m_getChatMember(self, params: dict, files: dict) -> dict:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        user_id = self._int_param(params, "user_id")
        return self._member(chat_id, user_id)

    def _m_getChatAdministrators(self, params: dict, files: dict) -> list[dict]:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        admins = [
            self._member(chat_id, uid)
            for (cid, uid), spec in self._members.items()
            if cid == chat_id and spec.get("status") in ("creator", "administrator") and uid != self.bot_id
        ]
        admins.append(self._member(chat_id, self.bot_id))
        return admins

    def _m_getChatMemberCount(self, params: dict, files: dict) -> int:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        return len(self._chat_users.get(chat_id, set())) + 1

    def _m_leaveChat(self, params: dict, files: dict) -> bool:
        chat_id = self._chat_id_param(params)
        self._check_member(chat_id)
        self._left.add(chat_id)
        return True


def _abandoned() -> BotApiError:
    # Not a Telegram answer (nobody receives it): marks a long poll the client gave up on.
    return BotApiError(499, "Client Closed Request: the client closed the connection during the long poll")


def _scope_key(scope: Any, language_code: str) -> tuple[str, str]:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code or ""


def _same_chat(a: Any, b: Any) -> bool:
    return str(a) == str(b)
