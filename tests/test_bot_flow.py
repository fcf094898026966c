"""Flow tests through the real python-telegram-bot Application with a recording request."""

from __future__ import annotations

import pytest

import texts
from tests.delivery_helpers import delivered, recorded_application
from tests.recording_request import BOT_ID, BOT_USERNAME, RecordingRequest
from tests.updates import callback_update, message_update, supergroup_id, user_id

GROUP = supergroup_id(123)
ENTERPRISE = user_id(501)


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


@pytest.fixture
async def app(settings, clock):
    async with recorded_application(settings, clock) as application:
        yield application


def _request(app) -> RecordingRequest:
    return app.bot_data["request"]


async def _say(app, text: str, **kw) -> RecordingRequest:
    request = _request(app)
    request.clear()
    await app.process_update(
        message_update(app.bot, chat_id=kw.pop("chat_id", GROUP), user_id=ENTERPRISE, text=text, **kw)
    )
    await delivered(app)
    return request


async def test_command_menu_is_registered_in_chinese(app) -> None:
    calls = [c for c in _request(app).calls if c.method == "setMyCommands"]
    assert calls, "setMyCommands was not called"
    descriptions = [c["description"] for c in calls[-1].params["commands"]]
    assert dict(texts.BOT_COMMANDS)["help"] in descriptions


async def test_question_in_help_group_is_answered_as_reply_with_html(app) -> None:
    request = await _say(app, "环评要啥材料")
    sent = request.sent()
    assert len(sent) == 1
    params = sent[0].params
    assert params["parse_mode"] == "HTML"
    assert texts.ASPECT["materials"] in params["text"] and "1. " in params["text"]
    assert params["reply_parameters"]["message_id"] > 0


async def test_people_chatting_are_left_alone(app) -> None:
    request = await _say(app, "好的，我下午把文件送过去")
    assert request.sent() == []
    request = await _say(app, "小王你下午跟我去趟自然资源局")
    assert request.sent() == []


async def test_a_question_with_no_question_mark_is_answered_in_a_group(app) -> None:
    # no 吗, no question word: the learned reader takes it as asking (the cue book's marks alone left it unanswered)
    request = await _say(app, "取水许可是水利局办吧")
    (sent,) = request.sent()
    assert texts.ASPECT["department"] in sent.params["text"] and "取水" in sent.params["text"]


async def test_greeting_needs_a_mention_in_groups(app) -> None:
    assert (await _say(app, "在吗")).sent() == []
    request = await _say(app, f"@{BOT_USERNAME} 在吗")
    assert request.sent()[0].params["text"] == texts.SMALLTALK_REPLY


async def test_private_chat_greeting_is_answered(app) -> None:
    request = await _say(app, "你好", chat_id=ENTERPRISE, chat_type="private")
    assert request.sent()[0].params["text"] == texts.SMALLTALK_REPLY


async def test_forum_topic_is_kept_on_the_reply(app) -> None:
    request = await _say(app, "能评要多久", thread_id=77)
    assert request.sent()[0].params["message_thread_id"] == 77


async def test_clarify_offers_buttons_and_a_press_answers(app) -> None:
    # (「环评和水保哪个先办」 used to clarify; naming two items now answers both, so an ambiguous name is asked.)
    request = await _say(app, "规划许可证要什么材料")
    sent = request.sent()[0]
    assert sent.params["text"] == texts.CLARIFY_PROMPT
    buttons = [b for row in sent.params["reply_markup"]["inline_keyboard"] for b in row]
    assert {b["callback_data"].split(":")[1] for b in buttons} >= {"land_use_planning", "engineering_planning"}
    message = {
        "message_id": 4242,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "bot"},
        "text": texts.CLARIFY_PROMPT,
        "reply_markup": sent.params["reply_markup"],
        "reply_to_message": {  # the asker's question: the choice is theirs to make
            "message_id": sent.params["reply_parameters"]["message_id"],
            "date": 0,
            "chat": {"id": GROUP, "type": "supergroup"},
            "from": {"id": ENTERPRISE, "is_bot": False, "first_name": "企业用户"},
            "text": "规划许可证要什么材料",
        },
    }
    request.clear()
    await app.process_update(
        callback_update(app.bot, chat_id=GROUP, user_id=ENTERPRISE, message=message, data=buttons[0]["callback_data"])
    )
    await delivered(app)
    methods = [c.method for c in request.calls]
    assert "answerCallbackQuery" in methods
    edited = request.sent("editMessageText")[0].params
    assert edited["message_id"] == 4242 and "<b>" in edited["text"]
    # The item chosen is the asker's context: a follow-up is about it.
    follow_up = (await _say(app, "那要多久")).sent()[0].params["text"]
    assert texts.ASPECT["time_limit"] in follow_up and edited["text"].split("</b>")[0] in follow_up


async def test_user_text_in_answers_is_never_raw_html(app) -> None:
    request = await _say(app, "<b>环评</b>要什么材料？ & 多久")
    text = request.sent()[0].params["text"]
    assert "<b>环评</b>要什么" not in text


async def test_every_question_is_logged(app) -> None:
    from sqlmodel import select

    from knowledge.question_log import QuestionLog

    await _say(app, "施工许可正在哪个窗口办")
    services = app.bot_data["services"]
    rows = services.db.call(lambda session: list(session.exec(select(QuestionLog))))
    assert rows[-1].item == "construction_permit"
    assert rows[-1].intent == "department"
    assert rows[-1].chat_id == GROUP and rows[-1].user_id == ENTERPRISE
