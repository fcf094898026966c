"""Start-up and shutdown of the real `python bot.py` (bot/runtime.py), against the Bot API
double: Telegram down at start, a failing command menu, the token kept out of the log, a second
poller (409), the database down at start, and SIGTERM with work in flight."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import texts
from tests.bot_process import START_UP, ProcessOutput, free_port, run_bot, start_bot, stop_bot
from tests.botapi_double import BotApiDouble
from tests.databases import POSTGRES_URL, postgres_reachable
from tests.updates import supergroup_id, user_id

GROUP = supergroup_id(31)
ENTERPRISE = user_id(31)
QUESTION = "请问施工许可证要准备哪些材料？"


def _polling(api: BotApiDouble, timeout: float = START_UP) -> None:
    """Wait until the bot polls (deleteWebhook is its last call before it does)."""
    api.wait_for(lambda c: c.method == "deleteWebhook", timeout=timeout)


def _serves_once_up(
    process: subprocess.Popen[str],
    api: BotApiDouble,
    *,
    down_for: float,
    waiting: str,
    up: AbstractContextManager[object],
) -> str:
    """Keep what the bot needs down for at least `down_for` seconds and until the bot has said
    `waiting` twice, bring it `up`, check that the bot answers without a restart, stop it;
    return all it printed."""
    output = ProcessOutput(process)
    try:
        until = time.monotonic() + down_for
        output.wait_for(waiting, count=2)
        time.sleep(max(0.0, until - time.monotonic()))
        assert process.poll() is None, "the bot gave up while waiting"
        with up:
            _polling(api)
            api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text=QUESTION)
            api.wait_for_message(chat_id=GROUP, contains=texts.ASPECT["materials"], timeout=30)
            return output.stop()
    finally:
        output.stop()


def test_the_bot_comes_up_when_the_bot_api_is_down_for_20_seconds(tmp_path: Path) -> None:
    port = free_port()
    api = BotApiDouble(port=port)
    process = start_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
        STARTUP_RETRY_MAX_SECONDS="2",
    )
    output = _serves_once_up(process, api, down_for=20, waiting="Telegram unreachable", up=api)
    retries = [line for line in output.splitlines() if "Telegram unreachable" in line]
    assert len(retries) >= 2, output
    assert "Traceback" not in output and api.token not in output
    assert process.returncode == 0


def _answer_one_question(tmp_path: Path, api: BotApiDouble, **settings: str) -> tuple[str, int]:
    """Start the bot against `api`, have it answer one question, stop it: (its output, exit code)."""
    process = start_bot(tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, **settings)
    try:
        _polling(api)
        api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text=QUESTION)
        api.wait_for_message(chat_id=GROUP, contains=texts.ASPECT["materials"], timeout=30)
    finally:
        output = stop_bot(process)
    return output, process.returncode


def test_a_failing_command_menu_is_logged_and_the_bot_serves(tmp_path: Path) -> None:
    with BotApiDouble() as api:
        api.fail_next("setMyCommands", status=502)
        output, code = _answer_one_question(tmp_path, api)
    assert "could not register the command menu" in output and "Traceback" not in output
    assert code == 0


def test_the_token_is_in_no_log_line_even_at_debug_level(tmp_path: Path) -> None:
    with BotApiDouble(token="7000000123:AAF-secret_token_value") as api:
        output, _ = _answer_one_question(tmp_path, api, LOG_LEVEL="DEBUG")
    assert "getUpdates" in output or "polling" in output  # the debug log did talk about Telegram
    assert api.token not in output and "AAF-secret_token_value" not in output


def test_a_rejected_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    with BotApiDouble() as api:
        process = start_bot(tmp_path, TELEGRAM_BOT_TOKEN="7000000123:WRONG-token", TELEGRAM_API_BASE_URL=api.base_url)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    errors = [line for line in output.splitlines() if " ERROR " in line or "CRITICAL" in line]
    assert len(errors) == 1 and "rejected the bot token" in errors[0], output
    assert "WRONG-token" not in output and "Traceback" not in output


def test_a_second_poller_says_409_once_and_stops_while_the_first_serves(tmp_path: Path) -> None:
    with BotApiDouble() as api:
        settings = {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = start_bot(tmp_path / "a", **settings)
        second = None
        try:
            _polling(api)
            mark = api.mark()
            second = start_bot(tmp_path / "b", **settings)
            # Telegram ends one poller's long poll with 409: that process says so and stops.
            deadline = time.monotonic() + 60
            while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            stopped, serving = (first, second) if first.poll() is not None else (second, first)
            assert stopped.poll() is not None, "neither poller stopped"
            output, _ = stopped.communicate(timeout=15)
            assert stopped.returncode == 1
            # "409 Conflict", not "409": the model file's log line names this test's folder, which has 409 in it
            conflicts = [line for line in output.splitlines() if "409 Conflict" in line]
            assert len(conflicts) == 1 and "another instance is polling" in conflicts[0], output
            assert "Traceback" not in output
            # The other one goes on answering.
            api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text=QUESTION)
            api.wait_for_message(chat_id=GROUP, contains=texts.ASPECT["materials"], timeout=30, since=mark)
            assert serving.poll() is None
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    assert "Traceback" not in stop_bot(process)


def test_webhook_mode_without_a_secret_or_with_an_unopenable_database_is_one_line(tmp_path: Path) -> None:
    done = run_bot(tmp_path, TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "WEBHOOK_SECRET" in lines[0], done.stderr
    done = run_bot(tmp_path, TELEGRAM_BOT_TOKEN="1:x", DATABASE_URL="sqlite:////no/such/dir/steward.db")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and "cannot open the database" in lines[0], done.stderr


def test_a_database_down_at_start_gets_one_line_per_retry_and_sigterm_ends_it(tmp_path: Path) -> None:
    down = f"postgresql+psycopg://steward:s3cret-pw@127.0.0.1:{free_port()}/steward"
    process = start_bot(tmp_path, TELEGRAM_BOT_TOKEN="1:x", DATABASE_URL=down, STARTUP_RETRY_MAX_SECONDS="1")
    output = ProcessOutput(process)
    output.wait_for("database unreachable", count=3)
    started = time.monotonic()
    text = output.stop()
    assert time.monotonic() - started < 10 and process.returncode == 0
    lines = text.splitlines()
    assert all("database unreachable at postgresql+psycopg://steward:***@127.0.0.1" in line for line in lines[:3]), text
    assert "s3cret-pw" not in text and "Traceback" not in text


@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL not reachable")
def test_a_database_that_comes_up_late_is_used_without_a_restart(tmp_path: Path) -> None:
    """The database port answers only after a few seconds (a TCP relay to the real server)."""
    from tests.tcp_proxy import TcpProxy

    real = POSTGRES_URL.split("@", 1)[1].split("/", 1)[0]
    host, port = real.rsplit(":", 1)
    relay = TcpProxy((host, int(port)), start_up=False)
    url = POSTGRES_URL.replace(real, f"127.0.0.1:{relay.port}")
    with BotApiDouble() as api:
        process = start_bot(
            tmp_path,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            DATABASE_URL=_own_schema(url),
            STARTUP_RETRY_MAX_SECONDS="1",
        )
        output = _serves_once_up(process, api, down_for=0, waiting="database unreachable", up=relay)
    assert "database unreachable" in output and "Traceback" not in output


def _own_schema(url: str) -> str:
    import uuid

    import psycopg

    schema = f"t_late_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def test_sigterm_finishes_the_answer_in_flight_and_exits_within_10_seconds(tmp_path: Path) -> None:
    with BotApiDouble() as api:
        process = start_bot(tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url)
        try:
            _polling(api)
            api.slow_next("sendMessage", seconds=3)
            api.push_message(chat_id=GROUP, user_id=ENTERPRISE, text=QUESTION)
            assert api.slow_started.wait(30)
            process.send_signal(signal.SIGTERM)  # while the answer is on its way
            started = time.monotonic()
            output, _ = process.communicate(timeout=15)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                stop_bot(process)
    assert took < 10 and process.returncode == 0, (took, output)
    answers = [c for c in api.calls_to("sendMessage") if texts.ASPECT["materials"] in str(c.params.get("text"))]
    assert len(answers) == 1 and answers[0].status == 200
    assert "Traceback" not in output


def test_the_log_formatter_redacts_the_secrets_in_messages_and_tracebacks() -> None:
    import logging
    import sys

    from bot.runtime import RedactingFormatter

    formatter = RedactingFormatter("%(levelname)s %(message)s", ["7000000123:AAF-secret", "hook-secret"])
    try:
        raise ValueError("The token `7000000123:AAF-secret` was rejected by the server.")
    except ValueError:
        record = logging.LogRecord(
            "httpx",
            logging.ERROR,
            __file__,
            1,
            "HTTP Request: POST %s (%s)",
            ("https://api.telegram.org/bot7000000123:AAF-secret/getMe", "hook-secret"),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert "AAF-secret" not in line and "hook-secret" not in line
    assert line.count("<redacted>") >= 3 and "ValueError" in line and "/getMe" in line


def test_the_start_up_heap_is_collected_once_and_left_out_of_later_full_collections() -> None:
    import gc

    from bot.app import settle_start_up_heap

    garbage: list[object] = []
    garbage.append(garbage)  # a cycle only a collection frees
    del garbage
    frozen_before = gc.get_freeze_count()
    try:
        settle_start_up_heap()
        # what start-up built is frozen (full collections skip it); the cycle was collected first
        assert gc.get_freeze_count() > frozen_before
        assert not any(isinstance(o, list) and o and o[0] is o for o in gc.get_objects())
    finally:
        gc.unfreeze()
