"""Webhook mode end to end: real `python bot.py` workers serving updates that the test posts to
them as Telegram would, the Bot API double answering their calls.

- a request without the secret, or with a wrong one, is refused and nothing is processed;
- two workers on one PostgreSQL database: one holds the scheduler; /bind_dept sent to one is
  seen by the other at once; the holder is SIGKILLed while its breach alerts are in flight and
  the other takes over within a minute. Watched past the outbox lease (OUTBOX_LEASE_SECONDS=8),
  so the dead worker's claims are taken over too: every message owed (alerts and reminders
  included) reaches Telegram at least once, a second time only if it was in flight at the kill
  (at most one duplicate per such send), and each of those is counted in `outbox_stats`."""

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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

import texts
from bot.telegram_io import split_message
from delivery.outbox import OutboxMessage, outbox_stats
from ledger.importer import import_file
from storage import Database
from tests.bot_process import free_port, sent_saying, start_bot, stop_bot
from tests.botapi_double import BotApiDouble
from tests.databases import postgres_schema_database
from tests.ledger_support import ledger_row, write_xlsx
from tests.texts_match import says
from tests.updates import supergroup_id, user_id
from workdays import WorkingCalendar

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
OUTBOX_LEASE = "8"  # seconds: the dead worker's claims are sent again after this


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

    def wait_healthy(self, timeout: float = 90) -> dict[str, Any]:  # a start-up on a loaded machine
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
                TELEGRAM_API_BASE_URL=api.base_url_as(name),  # the double tells the workers apart
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
        materials = texts.ASPECT["materials"]
        api.wait_for_message(chat_id=HELP, contains=materials, timeout=WAIT)
        answers = [c for c in api.calls_to("sendMessage") if materials in str(c.params.get("text"))]
        assert len(answers) == 1  # the refused posts were not processed

        status, detail = worker.health()
        assert status == 200 and detail["database"] == "ok" and detail["knowledge_items"] > 30
        assert detail["scheduler"] == {"holder": "solo", "this_instance": True}


@pytest.fixture
def pg() -> Iterator[Database]:
    with postgres_schema_database("t_workers") as db:
        yield db


def _working_days_file(folder: Path) -> Path:
    """A calendar override declaring yesterday, today and tomorrow working days, so the
    reminders go out whatever day the test runs (the bot's clock is the real one)."""
    today = date.today()
    days = [today + timedelta(days=n) for n in (-1, 0, 1)]
    # A year the holidays library has no schedule for must be declared to hold a workday.
    undeclared = sorted({d.year for d in days} - WorkingCalendar().library_official_years)
    path = folder / "overrides.yaml"
    path.write_text(
        f"years: {undeclared}\nworkdays:\n" + "".join(f"  - {d.isoformat()}\n" for d in days), encoding="utf-8"
    )
    return path


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
        "SCHEDULER_LEASE_SECONDS": "6",  # renewed every 2 s: a loaded machine does not flap it
        "OUTBOX_LEASE_SECONDS": OUTBOX_LEASE,  # a dead sender's claims are taken over after this
        "REMINDER_TIME": "00:00",
        # The start-up catch-up (today's reminders) after both workers are up and the help group
        # is bound through worker A, however slowly the two start (the default 15 s is shorter than
        # two start-ups on a loaded machine: the round then ran before /bind P001 and planned no
        # reminder for the help group). Whichever worker holds the scheduler then runs it.
        "REMINDER_CATCH_UP_SECONDS": "60",
        "CALENDAR_OVERRIDES_PATH": str(_working_days_file(tmp_path)),
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
        api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD, ticket_id=1), timeout=WAIT, since=mark)
        api.push_message(chat_id=STEWARD_CHAT, user_id=STEWARD, text="/escalate 1 发改委", first_name="李管家")
        b.deliver(api)
        dept_card = api.wait_for(sent_saying(DEPT_CHAT, texts.DESK_ESCALATION_HEAD), timeout=WAIT, since=mark)
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
        # while the breach notice to the stewards is in flight. Both workers' senders may claim
        # the notice: worker B's attempts are answered 429 until A has claimed it and hangs on it.
        def breach_notice_2(p: dict[str, Any]) -> bool:
            return str(p.get("chat_id")) == str(STEWARD_CHAT) and says(
                texts.DESK_BREACH_NOTICE, str(p.get("text")), ticket_id=2
            )

        api.fail_next("sendMessage", status=429, retry_after=5, times=10**6, where=breach_notice_2, caller="worker-b")
        api.slow_next("sendMessage", seconds=4, where=breach_notice_2, caller="worker-a")
        api.push_message(chat_id=HELP, user_id=COLLEAGUE, text="社保怎么交？", first_name="赵会计")
        b.deliver(api)
        deadline = time.monotonic() + WAIT
        while not api.slow_started.wait(0.2):
            assert time.monotonic() < deadline, "worker A never took the breach notice"
            if any(c.caller == "worker-b" and c.status == 429 for c in api.calls_to("sendMessage")):
                # B was refused and keeps off that chat for 5 s; the notice is due again at once, for A's
                # next look (its retry time would otherwise find B's sender first, B's round waits for it)
                pg.call(_due_now, chat_id=STEWARD_CHAT)
        a.process.kill()
        a.process.communicate(timeout=10)
        killed = time.monotonic()
        api.clear_failures()  # worker B may send it now
        # What the dead worker had claimed and not recorded: sent or not, nobody knows.
        in_flight = pg.call(_claimed_by, pid=a.process.pid)
        assert in_flight, "worker A was killed with nothing in flight"
        while b.health()[1].get("scheduler", {}).get("this_instance") is not True:
            assert time.monotonic() - killed < 60, "worker B did not take over within a minute"
            time.sleep(0.2)
        took_over = time.monotonic() - killed

        # The new holder sweeps: ticket #3 breaches and is reported by worker B.
        mark = api.mark()
        api.push_message(chat_id=HELP, user_id=THIRD, text="退税怎么办理？", first_name="钱出纳")
        b.deliver(api)
        api.wait_for(sent_saying(STEWARD_CHAT, texts.DESK_CARD, ticket_id=3), timeout=WAIT, since=mark)
        api.wait_for(sent_saying(LEAD_CHAT, texts.DESK_BREACH_ALERT, ticket_id=3), timeout=WAIT, since=mark)
        # Past the outbox lease: the dead worker's claims are sent again by worker B.
        _wait_reminders_settled(pg, timeout=90)
        _wait_outbox_settled(pg, timeout=30)
        time.sleep(3)  # a few more sweeps, reminder runs and sender rounds: nothing more may go out

        # Every alert was delivered ...
        lead, stewards = _sent(api, LEAD_CHAT), _sent(api, STEWARD_CHAT)
        for n in (2, 3):
            assert any(says(texts.DESK_BREACH_ALERT, t, ticket_id=n) for t in lead), (n, lead)
            assert any(says(texts.DESK_BREACH_NOTICE, t, ticket_id=n) for t in stewards), (n, stewards)
        assert sum(says(texts.DESK_BREACH_ALERT, t, ticket_id=1) for t in lead) <= 1
        # ... and every message owed, at least once; twice only if it was in flight at the kill.
        rows = pg.call(_outbox_rows)
        owed = Counter(key for row in rows for key in _send_keys(row))
        may_repeat = Counter(key for row in rows if row.id in in_flight for key in _send_keys(row))
        reached = _reached(api)
        assert [k for k in owed if reached[k] < owed[k]] == [], "owed but never sent"
        # (Replies to commands are sent directly, not through the outbox: those once each.)
        assert [k for k in reached if reached[k] > (owed[k] + may_repeat[k] if k in owed else 1)] == []
        duplicated = [k for k in owed if reached[k] > owed[k]]
        stats = pg.call(outbox_stats)
        assert (stats.pending, stats.sending, stats.failed) == (0, 0, 0), stats
        # Each send in flight at the kill was made again once, and is counted as a possible duplicate.
        assert stats.possible_duplicates == len(in_flight) >= len(duplicated), (stats, in_flight, duplicated)

        # The reminders: today is a working day (the calendar override), so the plan is not
        # empty; every reminder the log says was planned went out, through the outbox.
        logged = pg.call(_reminder_log)
        assert logged and set(logged.values()) == {"sent"}, logged
        reminder_rows = [(r, r.follow_up) for r in rows if r.follow_up and r.follow_up.get("kind") == "reminder"]
        assert {follow_up["key"] for _, follow_up in reminder_rows} == set(logged), (reminder_rows, logged)
        assert any(r.chat_id == HELP for r, _ in reminder_rows)  # the help group's own reminder
        refused_b = [c for c in api.calls_to("sendMessage") if c.caller == "worker-b" and c.status == 429]
        print(
            f"takeover after SIGKILL: {took_over:.1f} s; the notice refused to worker B {len(refused_b)} times; "
            f"in flight at the kill: {len(in_flight)}; "
            f"sent again (duplicates at the double): {len(duplicated)}; reminders sent: {len(logged)}"
        )


def _sent(api: BotApiDouble, chat_id: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in api.calls_to("sendMessage")
        if c.status == 200 and str(c.params.get("chat_id")) == str(chat_id)
    ]


def _send_keys(row: OutboxMessage) -> list[tuple[str, str]]:
    """What Telegram receives for one outbox row: (chat, text) of each part, or a photo's caption."""
    payload = row.payload
    if row.method == "sendPhoto":
        return [(str(row.chat_id), "photo:" + str(payload.get("caption") or ""))]
    if row.method != "sendMessage":
        return []  # edits: harmless to repeat
    parts = split_message(payload.get("text", ""), as_html=payload.get("parse_mode") == "HTML")
    return [(str(row.chat_id), part) for part in parts]


def _reached(api: BotApiDouble) -> Counter[tuple[str, str]]:
    """What Telegram accepted, keyed like `_send_keys`."""
    reached: Counter[tuple[str, str]] = Counter()
    for call in api.calls_to("sendMessage"):
        if call.ok:
            reached[(str(call.params.get("chat_id")), str(call.params.get("text")))] += 1
    for call in api.calls_to("sendPhoto"):
        if call.ok:
            reached[(str(call.params.get("chat_id")), "photo:" + str(call.params.get("caption") or ""))] += 1
    return reached


def _outbox_rows(*, session: Any) -> list[OutboxMessage]:
    rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
    session.expunge_all()
    return rows


def _claimed_by(*, session: Any, pid: int) -> set[int]:
    """Rows a sender in process `pid` claimed and never finished (its worker id is host:pid:…)."""
    rows = session.execute(text("SELECT id, claimed_by FROM outbox_message WHERE status = 'sending'")).all()
    return {int(i) for i, worker in rows if worker and worker.split(":")[1] == str(pid)}


def _due_now(*, session: Any, chat_id: int) -> None:
    """Make the chat's pending rows due now (the test's way of handing a refused row to another worker)."""
    session.execute(
        text("UPDATE outbox_message SET not_before = :now WHERE status = 'pending' AND chat_id = :chat"),
        {"now": datetime.now(UTC) - timedelta(seconds=1), "chat": chat_id},
    )


def _reminder_log(*, session: Any) -> dict[str, str]:
    return dict(session.execute(text("SELECT key, status FROM reminder_log")).all())


def _wait_outbox_settled(db: Database, timeout: float) -> None:
    """Wait until nothing is pending or being sent (the dead worker's claims included)."""
    deadline = time.monotonic() + timeout
    while (stats := db.call(outbox_stats)).pending or stats.sending:
        assert time.monotonic() < deadline, f"outbox not settled within {timeout} s: {stats}"
        time.sleep(0.5)


def _wait_reminders_settled(db: Database, timeout: float) -> None:
    """Wait until the start-up catch-up has run to its end: its last step, the weekly report to the lead
    group (drawn after the reminders are claimed, a second or more), logged, and nothing claimed but unsent."""
    deadline = time.monotonic() + timeout
    while True:
        counts = db.call(
            lambda *, session: session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE key LIKE '%|report|%' AND status = 'sent'),"
                    " count(*) FILTER (WHERE status <> 'sent') FROM reminder_log"
                )
            ).one()
        )
        if counts[0] and not counts[1]:
            return
        assert time.monotonic() < deadline, f"the start-up catch-up did not finish within {timeout} s"
        time.sleep(0.5)
