"""The real `python bot.py` against the Bot API double, killed with SIGKILL and started again
on the same database (tests/test_delivery_e2e.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import texts
from desk.bindings import bind_help_chat
from desk.models import Role
from desk.roles import Actor
from desk.tickets import create_ticket
from ledger.columns import HEADERS
from ledger.importer import import_file
from storage import Database
from tests.bot_process import ROOT, START_UP, bot_env
from tests.botapi_double import BotApiDouble, Call
from tests.ledger_support import ledger_row, write_xlsx
from tests.texts_match import says
from workdays import BusinessHours, WorkingCalendar

HELP = -1001234567890
STEWARD_CHAT = -1001000000001
LEAD_CHAT = -1001000000002
QUIET = -1001234567999
ASKER_BASE = 5_000_000_000  # user ids above 2^32, as Telegram has them
TICKET = re.compile(r"工单 #(\d+)")


class BotProcess:
    """`python bot.py` polling `api`; kill() is SIGKILL, stop() is SIGTERM (bounded)."""

    def __init__(self, api: BotApiDouble, workdir: Path, **settings: str) -> None:
        env = bot_env(
            workdir,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            STEWARD_CHAT_ID=str(STEWARD_CHAT),
            LEAD_CHAT_ID=str(LEAD_CHAT),
            BUSINESS_HOURS="24x7",
            **settings,
        )
        mark = api.mark()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py")],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        api.wait_for(lambda c: c.method == "deleteWebhook", timeout=START_UP, since=mark)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def stop(self) -> str:
        self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


@contextmanager
def bot(api: BotApiDouble, workdir: Path, **settings: str) -> Iterator[BotProcess]:
    process = BotProcess(api, workdir, **settings)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            output = process.stop()
            assert "Traceback" not in output, output


def overdue_tickets(db: Database, count: int, *, sla_minutes: float, age_minutes: float) -> None:
    """`count` tickets asked `age_minutes` ago with a `sla_minutes` commitment (24x7)."""
    hours = BusinessHours.parse("24x7", calendar=WorkingCalendar(), tz=timezone(timedelta(hours=8)))
    asked = datetime.now(timezone.utc) - timedelta(minutes=age_minutes)
    for n in range(count):
        db.call(
            create_ticket,
            now=asked,
            hours=hours,
            sla_minutes=sla_minutes,
            help_chat_id=HELP,
            asker_user_id=ASKER_BASE + n,
            asker_name=f"企业{n}",
            question=f"问题{n}：营业执照怎么办理？",
            help_message_id=1000 + n,
        )


def delivered(api: BotApiDouble, chat_id: int, contains: str) -> list[Call]:
    return [
        c
        for c in api.calls_to("sendMessage")
        if c.ok and str(c.params.get("chat_id")) == str(chat_id) and contains in str(c.params.get("text", ""))
    ]


def alerted(api: BotApiDouble, chat_id: int, kind: str) -> list[Call]:
    """The alerts of `kind` ("breach", "warning") that reached the chat, one by one or in a digest."""
    sentences = {
        "breach": (texts.DESK_BREACH_ALERT, texts.DESK_BREACH_NOTICE, texts.DESK_DIGEST_BREACH_HEAD),
        "warning": (texts.DESK_WARNING, texts.DESK_DIGEST_WARNING_HEAD),
    }[kind]
    return [
        c
        for c in api.calls_to("sendMessage")
        if c.ok
        and str(c.params.get("chat_id")) == str(chat_id)
        and any(says(sentence, str(c.params.get("text", ""))) for sentence in sentences)
    ]


def per_ticket(calls: list[Call]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for call in calls:  # a digest lists several tickets
        for found in set(TICKET.findall(str(call.params.get("text", "")))):
            counts[int(found)] += 1
    return counts


BROADCAST_BASE = -1002000000000  # the 200 help groups of the broadcast drill: -1002000000000 - n


def help_groups_with_reminders(db: Database, workdir: Path, count: int) -> list[int]:
    """`count` projects, each with one procedure past its due date and a deadline years away,
    each bound to its own help group: today's plan owes each group one reminder (overdue)."""
    rows = [
        ledger_row(
            项目代码=f"B{n:04d}",
            项目名称=f"广播项目{n}",
            计划开工="2035下半年",
            手续="环评",
            受理日期="2026-03-02",
            days=5,
        )
        for n in range(count)
    ]
    db.call(import_file, path=write_xlsx(workdir / "ledger.xlsx", rows))
    admin = Actor(user_id=ASKER_BASE - 1, chat_id=None, role=Role.admin)
    now = datetime.now(timezone.utc)
    chats = [BROADCAST_BASE - n for n in range(count)]
    for n, chat in enumerate(chats):
        db.call(bind_help_chat, actor=admin, chat_id=chat, project_code=f"B{n:04d}", now=now)
    return chats


def help_group_of_a_project(db: Database, workdir: Path) -> str:
    """HELP bound to a project whose ledger has one procedure (环评) under way; its code."""
    row = ledger_row(手续="环评", 受理日期="2026-03-02", days=5)
    db.call(import_file, path=write_xlsx(workdir / "project.xlsx", [row]))
    code = str(row[HEADERS.index("项目代码")])
    admin = Actor(user_id=ASKER_BASE - 1, chat_id=None, role=Role.admin)
    db.call(bind_help_chat, actor=admin, chat_id=HELP, project_code=code, now=datetime.now(timezone.utc))
    return code


def today_a_working_day(workdir: Path, tz: str = "Asia/Shanghai") -> Path:
    """A calendar override that makes today (in `tz`) a working day, so a drill runs any day."""
    today = datetime.now(ZoneInfo(tz)).date()
    years = f"years: [{today.year}]\n" if today.year > 2026 else ""
    path = workdir / "overrides.yaml"
    path.write_text(f"{years}workdays:\n  - {today.isoformat()}\n", encoding="utf-8")
    return path
