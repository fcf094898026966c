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

from desk.tickets import create_ticket
from storage import Database
from tests.bot_process import ROOT, bot_env
from tests.botapi_double import BotApiDouble, Call
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
        api.wait_for(lambda c: c.method == "deleteWebhook", timeout=30, since=mark)

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


def per_ticket(calls: list[Call]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for call in calls:
        found = TICKET.search(str(call.params.get("text", "")))
        if found:
            counts[int(found.group(1))] += 1
    return counts
