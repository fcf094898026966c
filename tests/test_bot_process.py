"""End to end: the real `python bot.py` process in polling mode against the local Bot API double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import texts
from tests.bot_process import run_bot, running_bot
from tests.botapi_double import BotApiDouble
from tests.updates import supergroup_id, user_id

GROUP = supergroup_id(777)
ENTERPRISE = user_id(42)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[BotApiDouble]:
    with running_bot(tmp_path) as api:
        yield api


def test_without_token_the_bot_exits_with_one_clear_line(tmp_path: Path) -> None:
    done = run_bot(tmp_path)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0] and "steward ask" in lines[0]


def test_an_invalid_knowledge_base_stops_the_start(tmp_path: Path) -> None:
    broken = tmp_path / "kb"
    (broken / "items").mkdir(parents=True)
    (broken / "departments.yaml").write_text("departments: [\n", encoding="utf-8")
    done = run_bot(tmp_path, TELEGRAM_BOT_TOKEN="1:x", KNOWLEDGE_PATH=str(broken))
    assert done.returncode != 0
    assert "departments.yaml" in done.stderr and "Traceback" not in done.stderr


def test_the_bot_answers_in_a_help_group_and_registers_its_menu(running: BotApiDouble) -> None:
    api = running
    api.wait_for(lambda c: c.method == "setMyCommands", timeout=30)
    api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text="请问施工许可证要准备哪些材料？")
    call = api.wait_for_message(chat_id=GROUP, contains=texts.ASPECT["materials"], timeout=30)
    assert call.params.get("parse_mode") == "HTML"
    api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text="@steward_test_bot 在吗")
    api.wait_for_message(chat_id=GROUP, contains=texts.SMALLTALK_REPLY, timeout=30)


def test_the_bot_survives_a_flood_limit_and_retries(running: BotApiDouble) -> None:
    api = running
    api.fail_next("sendMessage", status=429, retry_after=1)
    api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text="能评要多久？")
    api.wait_for_message(
        chat_id=GROUP, matching=texts.ANSWER_TITLE, values={"aspect": texts.ASPECT["time_limit"]}, timeout=30
    )


@pytest.mark.parametrize(
    ("name", "value"), [("BUSINESS_HOURS", "9-17"), ("CALENDAR_OVERRIDES_PATH", "/no/such/overrides.yaml")]
)
def test_a_malformed_clock_setting_stops_the_start_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    done = run_bot(tmp_path, TELEGRAM_BOT_TOKEN="1:x", **{name: value})
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0], done.stderr
