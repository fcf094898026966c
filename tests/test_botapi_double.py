"""The Bot API double, driven through the real python-telegram-bot stack (no bot.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi_double import BotApiDouble, Call
from tests.updates import user_id

GROUP = -1001234567890
USER = user_id(777001)


@pytest.fixture
def api():
    with BotApiDouble() as double:
        yield double


async def wait_for(api: BotApiDouble, predicate, timeout: float = 2.0) -> Call:
    return await asyncio.to_thread(api.wait_for, predicate, timeout)


@contextlib.asynccontextmanager
async def running_app(api: BotApiDouble, *handlers, rate_limiter=None) -> AsyncIterator[Application]:
    builder = ApplicationBuilder().token(api.token).base_url(api.base_url).base_file_url(api.base_file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@contextlib.asynccontextmanager
async def bot_for(api: BotApiDouble) -> AsyncIterator[Bot]:
    bot = Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url)
    async with bot:
        yield bot


def tiny_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- through Application


@pytest.mark.asyncio
async def test_echo_reply_and_callback_through_application(api: BotApiDouble) -> None:
    seen: list[Update] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("办结", callback_data="done:1")]])
        await update.message.reply_text(f"echo: {update.message.text}", reply_markup=keyboard, do_quote=True)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("欢迎使用项目管家")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        await update.callback_query.answer("收到")
        await update.callback_query.edit_message_text(f"已处理 {update.callback_query.data}")

    async with running_app(
        api,
        CommandHandler("start", start),
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
        CallbackQueryHandler(on_button),
    ):
        pushed = api.push_message(chat_id=GROUP, user_id=USER, text="立项需要哪些材料？", username="zhang")
        call = await asyncio.to_thread(api.wait_for_message, chat_id=GROUP, contains="echo: 立项", timeout=2)
        sent = call.result
        assert sent["reply_to_message"]["message_id"] == pushed["message_id"]
        assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "done:1"
        assert seen[0].effective_user.username == "zhang" and seen[0].effective_chat.type == "supergroup"

        api.push_message(chat_id=GROUP, user_id=USER, text="/start@steward_test_bot")
        await asyncio.to_thread(api.wait_for_message, chat_id=GROUP, contains="欢迎", timeout=2)

        query = api.push_callback(chat_id=GROUP, user_id=USER, message_id=sent["message_id"], data="done:1")
        answer = await wait_for(
            api, lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"]
        )
        assert answer.ok and answer.params["text"] == "收到"
        edit = await wait_for(api, lambda c: c.method == "editMessageText")
        assert edit.ok and edit.result["edit_date"]
        assert seen[-1].callback_query.message.from_user.id == api.bot_id

        # a reply to the bot's message carries the full replied message, from = the bot
        api.push_message(chat_id=GROUP, user_id=USER, text="谢谢", reply_to_message_id=sent["message_id"])
        await asyncio.to_thread(api.wait_for_message, chat_id=GROUP, contains="echo: 谢谢", timeout=2)
        replied = seen[-1].message.reply_to_message
        assert replied.from_user.id == api.bot_id and replied.from_user.is_bot
        assert replied.text == "已处理 done:1"

    assert [m["text"] for m in api.sent_messages(GROUP)] == ["已处理 done:1", "欢迎使用项目管家", "echo: 谢谢"]
    assert api.calls_to("getMe") and api.calls_to("deleteWebhook")


@pytest.mark.asyncio
async def test_429_then_delivered_with_rate_limiter(api: BotApiDouble) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("回执")

    api.fail_next("sendMessage", status=429, retry_after=1)
    async with running_app(api, MessageHandler(filters.TEXT, echo), rate_limiter=AIORateLimiter(max_retries=1)):
        api.push_message(chat_id=GROUP, user_id=USER, text="hi")
        call = await asyncio.to_thread(api.wait_for_message, chat_id=GROUP, contains="回执", timeout=2.5)
    attempts = api.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # the limiter waited retry_after before trying again
    assert attempts[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert call is attempts[1]


@pytest.mark.asyncio
async def test_pending_updates_dropped_on_start(api: BotApiDouble) -> None:
    api.push_message(chat_id=GROUP, user_id=USER, text="old")
    bot = Bot(api.token, base_url=api.base_url)
    async with bot:
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


# --------------------------------------------------------------------------- errors


@pytest.mark.asyncio
async def test_kicked_bot_gets_forbidden(api: BotApiDouble) -> None:
    async with bot_for(api) as bot:
        await bot.send_message(GROUP, "在吗")
        api.kick_bot_from(GROUP)
        with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
            await bot.send_message(GROUP, "还在吗")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(GROUP, "typing")
        api.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER, "hi")
        await bot.send_message(USER, "hi")  # only once
        api.kick_bot_from(USER)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(USER, "hi")
    assert [c.status for c in api.calls_to("sendMessage")] == [200, 403, 502, 200, 403]


@pytest.mark.asyncio
async def test_leave_chat_and_unknown_method(api: BotApiDouble) -> None:
    async with bot_for(api) as bot:
        assert await bot.leave_chat(GROUP) is True
        with pytest.raises(Forbidden, match="not a member"):
            await bot.send_message(GROUP, "x")
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod", api_kwargs={"a": 1})
    assert api.calls_to("noSuchMethod")[0].response == {"ok": False, "error_code": 404, "description": "Not Found"}


# --------------------------------------------------------------------------- files


@pytest.mark.asyncio
async def test_send_document_and_photo_recorded(api: BotApiDouble) -> None:
    data = "项目,状态\n甲,已受理\n".encode() * 20
    async with bot_for(api) as bot:
        msg = await bot.send_document(
            GROUP,
            InputFile(io.BytesIO(data), filename="进度表.csv"),
            caption="<b>本周</b>进度",
            parse_mode=ParseMode.HTML,
        )
        assert isinstance(msg, Message)
        assert msg.document.file_size == len(data) and msg.document.file_name == "进度表.csv"
        assert msg.caption == "本周进度" and msg.caption_html == "<b>本周</b>进度"

        tg_file = await bot.get_file(msg.document.file_id)
        assert bytes(await tg_file.download_as_bytearray()) == data

        png = tiny_png(320, 200)
        photo = await bot.send_photo(GROUP, png)
        assert (photo.photo[-1].width, photo.photo[-1].height) == (320, 200)

        # re-sending by file_id goes without upload
        again = await bot.send_document(GROUP, msg.document.file_id)
        assert again.document.file_id == msg.document.file_id

    call = api.calls_to("sendDocument")[0]
    assert call.params["document"] == {"file_name": "进度表.csv", "size": len(data), "mime_type": "text/csv"}
    assert call.files[0].size == len(data) and call.files[0].data == data
    assert call.params["chat_id"] == GROUP and call.params["parse_mode"] == "HTML"
    assert api.calls_to("sendPhoto")[0].params["photo"]["size"] == len(png)
    assert api.uploaded_file(msg.document.file_id) == data


# --------------------------------------------------------------------------- getUpdates


@pytest.mark.asyncio
async def test_get_updates_offset_semantics(api: BotApiDouble) -> None:
    for text in ("one", "two", "three"):
        api.push_message(chat_id=GROUP, user_id=USER, text=text)
    async with bot_for(api) as bot:
        first = await bot.get_updates(timeout=0)
        assert [u.message.text for u in first] == ["one", "two", "three"]
        assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["one", "two", "three"]

        after = await bot.get_updates(offset=first[1].update_id, timeout=0)  # confirms "one"
        assert [u.message.text for u in after] == ["two", "three"]
        assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["two", "three"]
        assert [u.message.text for u in await bot.get_updates(timeout=0, limit=1)] == ["two"]

        assert await bot.get_updates(offset=first[2].update_id + 1, timeout=0) == ()
        assert api.pending_updates() == []

        # long poll: blocks until an update arrives (well before its 5 s timeout) ...
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert not poll.done()
        api.push_message(chat_id=GROUP, user_id=USER, text="four")
        got = await asyncio.wait_for(poll, 2)
        assert [u.message.text for u in got] == ["four"]
        # ... or the timeout elapses with nothing
        assert await asyncio.wait_for(bot.get_updates(offset=got[0].update_id + 1, timeout=1), 3) == ()


@pytest.mark.asyncio
async def test_second_poller_conflicts_and_webhook_blocks_polling(api: BotApiDouble) -> None:
    async with bot_for(api) as bot, bot_for(api) as second_instance:
        old = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(old, 2)

        assert await bot.set_webhook("https://example.invalid/hook")
        assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""


@pytest.mark.asyncio
async def test_allowed_updates_like_telegram(api: BotApiDouble) -> None:
    member_update = {
        "chat_member": {
            "chat": {"id": GROUP, "type": "supergroup", "title": "t"},
            "from": {"id": USER, "is_bot": False, "first_name": "A"},
            "date": 0,
            "old_chat_member": {"status": "left", "user": {"id": 5, "is_bot": False, "first_name": "B"}},
            "new_chat_member": {"status": "member", "user": {"id": 5, "is_bot": False, "first_name": "B"}},
        }
    }
    api.push_raw_update(member_update)
    api.push_message(chat_id=GROUP, user_id=USER, text="hi")
    async with bot_for(api) as bot:
        got = await bot.get_updates(timeout=0)  # chat_member is not sent by default
        assert [u.message.text for u in got] == ["hi"]
        api.push_raw_update(member_update)
        got = await bot.get_updates(offset=got[0].update_id + 1, timeout=0, allowed_updates=Update.ALL_TYPES)
        assert got[0].chat_member.new_chat_member.status == "member"


@pytest.mark.asyncio
async def test_privacy_mode_filters_group_chatter() -> None:
    with BotApiDouble(privacy_mode=True) as api:
        sent = None
        async with bot_for(api) as bot:
            sent = await bot.send_message(GROUP, "提问请回复本条")
            api.push_message(chat_id=GROUP, user_id=USER, text="闲聊")
            api.push_message(chat_id=GROUP, user_id=USER, text="/help")
            api.push_message(chat_id=GROUP, user_id=USER, text="请问 @steward_test_bot")
            api.push_message(chat_id=GROUP, user_id=USER, text="回复", reply_to_message_id=sent.message_id)
            got = await bot.get_updates(timeout=0)
            assert [u.message.text for u in got] == ["/help", "请问 @steward_test_bot", "回复"]
            assert got[0].message.entities[0].type == "bot_command"
            assert got[1].message.entities[0].type == "mention"
            assert (await bot.get_me()).can_read_all_group_messages is False


# --------------------------------------------------------------------------- shapes and validation


@pytest.mark.asyncio
async def test_other_methods_parse_into_ptb_objects(api: BotApiDouble) -> None:
    api.push_message(chat_id=GROUP, user_id=USER, text="hi", chat_title="审批帮办群", username="li")
    api.set_chat_member(GROUP, 42, "member")
    async with bot_for(api) as bot:
        me = await bot.get_me()
        assert (me.id, me.username, me.is_bot) == (api.bot_id, api.bot_username, True)
        chat = await bot.get_chat(GROUP)
        assert isinstance(chat, ChatFullInfo) and chat.title == "审批帮办群"
        admin = await bot.get_chat_member(GROUP, USER)
        assert isinstance(admin, ChatMemberAdministrator) and admin.user.username == "li"
        assert isinstance(await bot.get_chat_member(GROUP, 42), ChatMemberMember)
        admins = await bot.get_chat_administrators(GROUP)
        assert [a.user.id for a in admins] == [api.bot_id]
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.get_chat(-100999)

        commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
        assert await bot.set_my_commands(commands)
        assert await bot.get_my_commands() == tuple(commands)
        assert api.commands() == [
            {"command": "start", "description": "开始"},
            {"command": "help", "description": "帮助"},
        ]
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Start", "x")])
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()

        assert await bot.send_chat_action(GROUP, "typing")
        info = await bot.get_webhook_info()
        assert info.url == "" and info.pending_update_count == 1
        assert await bot.log_out() and await bot.close()


@pytest.mark.asyncio
async def test_telegram_side_validation(api: BotApiDouble) -> None:
    async with bot_for(api) as bot:
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(GROUP, "审批 <办结> 了", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)Can't find end tag"):
            await bot.send_message(GROUP, "<b>未闭合", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
            await bot.send_message(GROUP, "版本 1.5", parse_mode=ParseMode.MARKDOWN_V2)
        ok = await bot.send_message(GROUP, r"*版本* 1\.5", parse_mode=ParseMode.MARKDOWN_V2)
        assert ok.text == "版本 1.5"
        html_msg = await bot.send_message(
            GROUP,
            '<b>材料</b> &amp; <a href="https://example.org/a?x=1&amp;y=2">清单</a> 😀<i>完</i>\n',
            parse_mode=ParseMode.HTML,
        )
        assert html_msg.text == "材料 & 清单 😀完"
        # entity offsets are UTF-16 (the emoji counts 2), as python-telegram-bot expects
        assert html_msg.text_html == '<b>材料</b> &amp; <a href="https://example.org/a?x=1&y=2">清单</a> 😀<i>完</i>'

        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(GROUP, "长" * 4097)
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(GROUP, "  \n")
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(
                GROUP,
                "x",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data="项目" * 11)]]),
            )
        with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
            await bot.send_message(GROUP, "x", reply_parameters=ReplyParameters(message_id=999))
        await bot.send_message(
            GROUP, "x", reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True)
        )

        msg = await bot.send_message(GROUP, "同样")
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("同样", GROUP, msg.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", GROUP, 10_000)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
        edited = await bot.edit_message_reply_markup(GROUP, msg.message_id, reply_markup=keyboard)
        assert edited.reply_markup == keyboard
        assert await bot.delete_message(GROUP, msg.message_id)
        with pytest.raises(BadRequest, match="(?i)message to delete not found"):
            await bot.delete_message(GROUP, msg.message_id)

        query = api.push_callback(chat_id=GROUP, user_id=USER, message_id=ok.message_id, data="x")
        assert await bot.answer_callback_query(query["id"])
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query["id"])

        topic = await bot.send_message(GROUP, "话题内", message_thread_id=7)
        assert topic.message_thread_id == 7
    assert [c.params.get("parse_mode") for c in api.calls_to("sendMessage")][:3] == ["HTML", "HTML", "MarkdownV2"]


def _post(url: str, body: bytes | None, content_type: str | None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_json_form_multipart_and_get_requests(api: BotApiDouble) -> None:
    base = f"{api.base_url}{api.token}"
    status, body = _post(
        f"{base}/sendMessage", json.dumps({"chat_id": GROUP, "text": "123"}).encode(), "application/json"
    )
    assert status == 200 and body["result"]["text"] == "123" and body["result"]["chat"]["id"] == GROUP
    status, body = _post(
        f"{base}/sendmessage", f"chat_id={GROUP}&text=%E4%BD%A0%E5%A5%BD".encode(), "application/x-www-form-urlencoded"
    )
    assert status == 200 and body["result"]["text"] == "你好"
    boundary = "XyZ"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n{GROUP}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="a.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"\x00\r\n\xff"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, body = _post(f"{base}/sendDocument", multipart, f"multipart/form-data; boundary={boundary}")
    assert status == 200 and body["result"]["document"]["file_size"] == 4
    status, body = _post(f"{base}/getMe", None, None)
    assert status == 200 and body["result"]["username"] == api.bot_username
    status, body = _post(f"{api.base_url}wrong:token/getMe", None, None)
    assert (status, body["description"]) == (401, "Unauthorized")
    status, body = _post(f"{base}/getUpdates?timeout=0", None, None)
    assert (status, body) == (200, {"ok": True, "result": []})
    api.fail_next("getMe", status=500)
    assert _post(f"{base}/getMe", None, None)[0] == 500
    assert _post(f"{base}/getMe", None, None)[0] == 200

    calls = api.calls_to("sendMessage")
    assert [c.params["text"] for c in calls] == ["123", "你好"]
    assert api.calls_to("sendDocument")[0].files[0].data == b"\x00\r\n\xff"
    assert [m["message_id"] for m in api.sent_messages(GROUP)] == [1, 2, 3]


def test_wait_for_times_out_with_recent_calls(api: BotApiDouble) -> None:
    _post(f"{api.base_url}{api.token}/getMe", None, None)
    with pytest.raises(AssertionError, match=r"recent calls:\n  getMe -> 200"):
        api.wait_for_message(chat_id=GROUP, contains="never", timeout=0.2)
    with pytest.raises(ValueError):
        api.push_message(chat_id=GROUP, user_id=USER, text="x", reply_to_message_id=12345)
    with pytest.raises(ValueError):
        api.push_callback(chat_id=GROUP, user_id=USER, message_id=1, data="x")


@pytest.mark.asyncio
async def test_dropped_requests_and_late_answers(api: BotApiDouble) -> None:
    from telegram.error import TimedOut

    async with bot_for(api) as bot:
        api.drop_next("sendMessage")  # closed before it is handled: nothing posted
        with pytest.raises(NetworkError, match="RemoteProtocolError"):
            await bot.send_message(GROUP, "一")
        api.drop_next("sendMessage", delivered=True, where=lambda p: p.get("text") == "二")
        await bot.send_message(GROUP, "零")  # the filter lets this one through
        with pytest.raises(NetworkError, match="RemoteProtocolError"):
            await bot.send_message(GROUP, "二")  # posted, the answer lost
        api.late_next("sendMessage", seconds=1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(GROUP, "三", read_timeout=0.3)  # posted, answered too late
        await bot.send_message(GROUP, "四")
    assert [m["text"] for m in api.sent_messages(GROUP)] == ["零", "二", "三", "四"]
    assert [c.status for c in api.calls_to("sendMessage")] == [0, 200, 200, 200, 200]


def test_calls_name_their_caller_and_faults_aim_at_one(api: BotApiDouble) -> None:
    def send(base: str, text: str) -> int:
        payload = json.dumps({"chat_id": GROUP, "text": text}).encode()
        return _post(f"{base}{api.token}/sendMessage", payload, "application/json")[0]

    api.fail_next("sendMessage", status=429, retry_after=3, times=5, caller="worker-b")
    api.slow_next("sendMessage", seconds=0.2, caller="worker-a")
    assert send(api.base_url_as("worker-b"), "一") == 429
    assert send(api.base_url, "二") == 200  # neither fault is aimed at an unnamed caller
    assert not api.slow_started.is_set()
    assert send(api.base_url_as("worker-a"), "三") == 200
    assert api.slow_started.is_set()
    api.clear_failures()
    assert send(api.base_url_as("worker-b"), "四") == 200
    assert [(c.caller, c.status) for c in api.calls_to("sendMessage")] == [
        ("worker-b", 429),
        ("", 200),
        ("worker-a", 200),
        ("worker-b", 200),
    ]
    assert [m["text"] for m in api.sent_messages(GROUP)] == ["二", "三", "四"]
