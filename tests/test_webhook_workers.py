"""Webhook mode end to end: real `python bot.py` workers serving updates that the test posts to
them as Telegram would, the Bot API double answering their calls.

- a request without the secret, or with a wrong one, is refused and nothing is processed;
- two workers on one PostgreSQL database: one holds the scheduler; /bind_dept sent to one is
  seen by the other at once; the holder is SIGKILLed while a breach alert is in flight and the
  other takes over within a minute; every alert and reminder reaches Telegram exactly once."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.importer import import_file
from storage import Database
from tests.bot_process import free_port, start_bot, stop_bot
from tests.botapi_double import BotApiDouble
from tests.databases import postgres_schema_database
from tests.ledger_support import ledger_row, write_xlsx
from tests.updates import supergroup_id, user_id

SECRET = "s3cret-Webhook_token"
PUBLIC_URL = "https://steward.example.org/telegram"  # the reverse proxy's address, set with Telegram
HELP = supergroup_id(5_001)
STEWARD_CHAT = supergroup_id(5_002)
LEAD_CHAT = supergroup_id(5_003)
DEPT_CHAT = supergroup_id(5_004)
ADMIN = user_id(5_001)
ENTERPRISE = user_id(5_002)
COLLEAGUE = user_id(5_003)
STEWARD = user_id(5_004)
DEPT_MEMBER = user_id(5_005)
THIRD = user_id(5_006)
WAIT = 20


@dataclass
class Worker:
    name: str
    url: str  # the webhook endpoint
    process: subprocess.Popen[str]

    @property
    def health_url(self) -> str:
        return self.url.rsplit("/", 1)[0] + "/healthz"

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.health_url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except OSError:
            return 0, {}

    def wait_healthy(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} exited"
            status, detail = self.health()
            if status == 200:
                return detail
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not healthy within {timeout} s")

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        request = urllib.request.Request(
            self.url, data=json.dumps(update).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        if secret is not None:
            request.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def deliver(self, api: BotApiDouble) -> None:
        """Post what the users sent (the double's pending updates) to this worker, as Telegram would."""
        for update in api.take_updates():
            assert self.post(update) == 200


@contextmanager
def workers(tmp_path: Path, api: BotApiDouble, names: list[str], **settings: str) -> Iterator[dict[str, Worker]]:
    started: dict[str, Worker] = {}
    try:
        for name in names:
            port = free_port()
            url = f"http://127.0.0.1:{port}/telegram"
            (tmp_path / name).mkdir()
            process = start_bot(
                tmp_path / name,
                TELEGRAM_BOT_TOKEN=api.token,
                TELEGRAM_API_BASE_URL=api.base_url,
                TELEGRAM_WEBHOOK_URL=PUBLIC_URL,
                WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                WEBHOOK_SECRET=SECRET,
                INSTANCE_NAME=name,
                **settings,
            )
            started[name] = Worker(name, url, process)
            started[name].wait_healthy()
        yield started
    finally:
        for worker in started.values():
            if worker.process.poll() is None:
                output = stop_bot(worker.process)
                assert "Traceback" not in output, output


def test_updates_without_the_right_secret_are_refused(tmp_path: Path) -> None:
    with BotApiDouble() as api, workers(tmp_path, api, ["solo"]) as running:
        worker = running["solo"]
        hook = api.wait_for(lambda c: c.method == "setWebhook", timeout=WAIT)
        assert hook.params["url"] == PUBLIC_URL and hook.params["secret_token"] == SECRET

        api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="请问施工许可证要准备哪些材料？")
        (update,) = api.take_updates()
        assert worker.post(update, secret=None) == 403
        assert worker.post(update, secret="not-the-secret") == 403
        assert worker.post({"not": "an update"}) == 400
        assert worker.post(update) == 200
        api.wait_for_message(chat_id=HELP, contains="所需材料", timeout=WAIT)
        answers = [c for c in api.calls_to("sendMessage") if "所需材料" in str(c.params.get("text"))]
        assert len(answers) == 1  # the refused posts were not processed

        status, detail = worker.health()
        assert status == 200 and detail["database"] == "ok" and detail["knowledge_items"] > 30
        assert detail["scheduler"] == {"holder": "solo", "this_instance": True}


@pytest.fixture
def pg() -> Iterator[Database]:
    with postgres_schema_database("t_workers") as db:
        yield db


def _sent(api: BotApiDouble, chat_id: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in api.calls_to("sendMessage")
        if c.status == 200 and str(c.params.get("chat_id")) == str(chat_id)
    ]


def test_two_workers_one_scheduler_and_a_takeover_after_sigkill(tmp_path: Path, pg: Database) -> None:
    pg.call(
        import_file, path=write_xlsx(tmp_path / "ledger.xlsx", [ledger_row(手续="环评", 受理日期="2026-03-02", days=5)])
    )
    settings = {
        "DATABASE_URL": pg.url,
        "STEWARD_CHAT_ID": str(STEWARD_CHAT),
        "LEAD_CHAT_ID": str(LEAD_CHAT),
        "ADMIN_USER_IDS": str(ADMIN),
        "BUSINESS_HOURS": "24x7",
        "SLA_FIRST_RESPONSE_MINUTES": "0.05",
        "SLA_WARN_BEFORE_MINUTES": "0",
        "SLA_SWEEP_SECONDS": "1",
        "SCHEDULER_LEASE_SECONDS": "3",
        "REMINDER_TIME": "00:00",
    }
    with BotApiDouble() as api, workers(tmp_path, api, ["worker-a", "worker-b"], **settings) as running:
        a, b = running["worker-a"], running["worker-b"]
        assert a.health()[1]["scheduler"] == {"holder": "worker-a", "this_instance": True}
        assert b.health()[1]["scheduler"] == {"holder": "worker-a", "this_instance": False}

        # Bindings made through worker A ...
        api.push_message(chat_id=HELP, user_id=ADMIN, text="/bind P001")
        api.push_message(chat_id=DEPT_CHAT, user_id=ADMIN, text="/bind_dept 发改委", chat_title="发改委审批服务群")
        a.deliver(api)
        api.wait_for_message(chat_id=DEPT_CHAT, contains="发展和改革委员会", timeout=WAIT)

        # ... are seen by worker B at once: the department's reply to its card is relayed.
        mark = api.mark()
        question = api.push_message(chat_id=HELP, user_id=ENTERPRISE, text="营业执照怎么办理？", first_name="王经理")
        b.deliver(api)
        api.wait_for_message(chat_id=STEWARD_CHAT, contains="工单 #1", timeout=WAIT, since=mark)
        api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="/escalate 1 发改委", first_name="李管家")
        b.deliver(api)
        dept_card = api.wait_for_message(chat_id=DEPT_CHAT, contains="管家吹哨", timeout=WAIT, since=mark)
        # A person reads the card before replying; the bot records its id a moment after
        # Telegram's answer, and a reply that quick would find no card.
        _wait_card_recorded(pg, chat_id=DEPT_CHAT, message_id=dept_card.result["message_id"])
        api.push_message(
            chat_id=DEPT_CHAT,
            user_id=DEPT_MEMBER,
            text="由市场监管局负责，我委可协助协调。",
            reply_to_message_id=dept_card.result["message_id"],
            first_name="发改委小张",
        )
        b.deliver(api)
        relayed = api.wait_for_message(chat_id=HELP, contains="市场监管局负责", timeout=WAIT, since=mark)
        assert relayed.params["reply_parameters"]["message_id"] == question["message_id"]

        # Ticket #2 goes unanswered and breaches; worker A (the holder) is killed mid-sweep,
        # while the breach notice to the stewards is in flight.
        api.slow_next(
            "sendMessage",
            seconds=4,
            where=lambda p: (
                str(p.get("chat_id")) == str(STEWARD_CHAT)
                and "已超过响应时限" in str(p.get("text"))
                and "#2" in str(p.get("text"))
            ),
        )
        api.push_message(chat_id=HELP, user_id=COLLEAGUE, text="社保怎么交？", first_name="赵会计")
        b.deliver(api)
        assert api.slow_started.wait(WAIT)
        a.process.kill()
        a.process.communicate(timeout=10)
        killed = time.monotonic()
        while b.health()[1].get("scheduler", {}).get("this_instance") is not True:
            assert time.monotonic() - killed < 60, "worker B did not take over within a minute"
            time.sleep(0.2)
        took_over = time.monotonic() - killed

        # The new holder sweeps: ticket #3 breaches and is reported by worker B.
        mark = api.mark()
        api.push_message(chat_id=HELP, user_id=THIRD, text="退税怎么办理？", first_name="钱出纳")
        b.deliver(api)
        api.wait_for_message(chat_id=STEWARD_CHAT, contains="工单 #3", timeout=WAIT, since=mark)
        api.wait_for(
            lambda c: (
                c.method == "sendMessage"
                and str(c.params.get("chat_id")) == str(LEAD_CHAT)
                and "工单 #3" in str(c.params.get("text"))
            ),
            timeout=WAIT,
            since=mark,
        )
        _wait_reminders_settled(pg, timeout=40)
        time.sleep(3)  # a few more sweeps and reminder runs: nothing may be sent again

        lead = _sent(api, LEAD_CHAT)
        assert [sum(f"工单 #{n}" in t for t in lead) for n in (2, 3)] == [1, 1], lead
        assert sum("工单 #1" in t for t in lead) <= 1
        steward_breach = [t for t in _sent(api, STEWARD_CHAT) if "已超过响应时限" in t]
        assert [sum(f"#{n}" in t for t in steward_breach) for n in (2, 3)] == [1, 1], steward_breach
        sent_reminders = pg.call(_sent_reminder_count)
        every_send = Counter(
            (str(c.params.get("chat_id")), str(c.params.get("text")), str(c.params.get("reply_parameters")))
            for c in api.calls_to("sendMessage") + api.calls_to("sendPhoto")
            if c.status == 200
        )
        assert [k for k, n in every_send.items() if n > 1] == []  # nothing reached Telegram twice
        if sent_reminders:  # reminders go out on working days only
            assert any(HELP == int(chat) for chat, _, _ in every_send)
        print(f"takeover after SIGKILL: {took_over:.1f} s; reminders sent: {sent_reminders}")


def _sent_reminder_count(*, session: Any) -> int:
    return int(session.execute(text("SELECT count(*) FROM reminder_log WHERE status = 'sent'")).scalar_one())


def _wait_card_recorded(db: Database, *, chat_id: int, message_id: int, timeout: float = WAIT) -> None:
    """Wait until the bot has recorded the ticket card it posted as `message_id` in `chat_id`."""
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM desk_ticket_card WHERE chat_id = :chat AND message_id = :message")
    while not db.call(lambda *, session: session.execute(query, {"chat": chat_id, "message": message_id}).scalar_one()):
        assert time.monotonic() < deadline, f"card {message_id} in {chat_id} not recorded within {timeout} s"
        time.sleep(0.1)


def _wait_reminders_settled(db: Database, timeout: float) -> None:
    """Wait until no reminder is claimed but unsent (the start-up catch-up has run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = db.call(
            lambda *, session: session.execute(
                text("SELECT count(*), count(*) FILTER (WHERE status <> 'sent') FROM reminder_log")
            ).one()
        )
        if counts[0] and not counts[1]:
            return
        time.sleep(0.5)
