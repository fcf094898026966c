"""One bad ledger row (issue 10): values the importer lets through today, or that were in
the database before it refused them — 计划开工 year 0, 受理日期 9999-12-30 — stop nothing.
The daily round still reaches every other group, the department, the stewards and the
leaders; that project's problem is logged and recorded for its group only; /profile,
/progress, status answers and `steward ledger profile` answer for it. And no generated
.xlsx carries a live formula from ledger data. Real Application, real ids, real files."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

import texts
from bot.app import build_application
from bot.jobs import reminder_job
from cli.main import main
from desk.bindings import bind_department_chat, bind_help_chat
from desk.models import Role
from desk.roles import Actor
from ledger.importer import import_file
from ledger.models import Procedure, Project
from scheduler.models import ReminderLog, ReminderState
from tests.delivery_helpers import delivered
from tests.ledger_support import ledger_row, write_xlsx
from tests.recording_request import RecordingRequest
from tests.updates import message_update

ADMIN = 5_000_000_001
ENTERPRISE = 7_000_000_003
GROUP_A = -1001234567890  # P001: healthy, 环评 overdue
GROUP_B = -1001234567891  # P002: 计划开工 year 0, 节能审查 accepted 9999-12-30
ECO_DEPT = -1001234567892
STEWARDS = -1001234567893
LEAD = -1001234567894
FORMULA = '=HYPERLINK("http://evil.example/x","点我")'


class FileRequest(RecordingRequest):
    """A RecordingRequest that also keeps the files the bot uploads."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[bytes] = []
        self.broken: set[int] = set()  # chats whose sends get a 400

    async def do_request(self, url: str, method: str, request_data=None, **kw: Any):  # type: ignore[override]
        params = request_data.parameters if request_data else {}
        if int(params.get("chat_id", 0) or 0) in self.broken:
            return 400, b'{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}'
        if request_data is not None:
            for _name, (_filename, content, _mime) in request_data.multipart_data.items():
                self.files.append(content if isinstance(content, bytes) else content.read())
        return await super().do_request(url, method, request_data, **kw)


def _seed(db, tmp_path) -> None:
    rows = [
        ledger_row(手续="环评", 受理日期="2026-02-10", days=5),  # overdue
        ledger_row(手续="施工许可", 状态="未启动", 受理日期=None, days=None),
        ledger_row(项目代码="P002", 项目名称="风电基地", 手续="节能审查", 受理日期="2026-03-09", days=10),
        ledger_row(项目代码="P002", 项目名称="风电基地", 手续="环评", 受理日期="2026-02-10", days=5),
    ]
    db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", rows))

    def spoil(session):
        p1 = session.exec(select(Project).where(Project.code == "P001")).one()
        p1.enterprise = "=1+1"
        note = session.exec(select(Procedure).where(Procedure.project_id == p1.id, Procedure.item_key == "eia")).one()
        note.note = FORMULA
        p2 = session.exec(select(Project).where(Project.code == "P002")).one()
        p2.start_year = 0  # 计划开工=0000上半年
        bad = session.exec(
            select(Procedure).where(Procedure.project_id == p2.id, Procedure.item_key == "energy_review")
        ).one()
        bad.accepted_on = date(9999, 12, 30)  # 受理日期=9999-12-30

    db.call(spoil)
    admin = Actor(user_id=ADMIN, chat_id=None, role=Role.admin)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    for chat, code in ((GROUP_A, "P001"), (GROUP_B, "P002")):
        db.call(bind_help_chat, actor=admin, chat_id=chat, project_code=code, now=now)
    db.call(bind_department_chat, actor=admin, chat_id=ECO_DEPT, department_key="eco_env", now=now)


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


@pytest.fixture
async def app(settings, clock, tmp_path):
    settings = settings.model_copy(
        update={"admin_user_ids": [ADMIN], "steward_chat_id": STEWARDS, "lead_chat_id": LEAD}
    )
    request = FileRequest()
    application = build_application(settings, clock=clock, request=request, rate_limit=False)
    await application.initialize()
    application.bot_data["request"] = request
    _seed(application.bot_data["services"].db, tmp_path)
    yield application
    await application.shutdown()
    application.bot_data["services"].db.dispose()


def _req(app) -> FileRequest:
    return app.bot_data["request"]


async def _say(app, text: str, *, chat_id: int = GROUP_B) -> list[str]:
    _req(app).clear()
    await app.process_update(message_update(app.bot, chat_id=chat_id, user_id=ENTERPRISE, text=text))
    await delivered(app)
    return _req(app).texts_to(chat_id)


def _formulas(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [str(c.value) for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def _texts(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]


async def test_one_bad_project_stops_no_other_reminder_nor_the_report(app, caplog) -> None:
    result = await reminder_job.run_round(app, catch_up=True)  # Tuesday: Monday's report too
    await delivered(app)
    sent = Counter(int(c.params["chat_id"]) for c in _req(app).calls if c.method in ("sendMessage", "sendPhoto"))
    assert sent[GROUP_A] == 2  # P001: the 30-day deadline reminder and its overdue 环评
    assert sent[ECO_DEPT] == 1  # the department's list (P001's and P002's overdue 环评)
    assert sent[STEWARDS] == 1  # the digest
    assert sent[LEAD] == 2  # the weekly report and its chart
    assert sent[GROUP_B] == 1  # P002's overdue 环评: its good rows still count
    assert "风电基地" in "".join(_req(app).texts_to(ECO_DEPT))
    assert result["reminders"]["plan_failed"] == 1
    # The problem is logged and recorded for P002's group only.
    assert any("P002" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    rows = app.bot_data["services"].db.call(lambda session: session.exec(select(ReminderLog)).all())
    failed = [r for r in rows if r.status == ReminderState.failed.value]
    assert [r.key for r in failed] == [f"help:{GROUP_B}|plan:P002|2026-03-10"]
    assert all(str(GROUP_B) in r.key for r in failed)


async def test_profile_progress_and_status_answer_for_a_project_with_bad_dates(app) -> None:
    profile = "\n".join(await _say(app, "/profile"))
    assert "风电基地" in profile and texts.LEDGER_DEADLINE_UNKNOWN in profile
    assert "9999-12-30" in profile  # shown as the ledger has it
    progress = "\n".join(await _say(app, "/progress"))
    assert "风电基地" in progress and texts.LEDGER_DEADLINE_UNKNOWN in progress
    status = "\n".join(await _say(app, "我们节能审查办到哪一步了？"))
    assert "节能审查" in status and "9999-12-30" in status
    assert texts.ERROR_GENERIC not in profile + progress + status
    await _say(app, "/profile xlsx")
    assert _req(app).files and texts.LEDGER_DEADLINE_UNKNOWN in _texts(_req(app).files[-1])


async def test_profile_xlsx_sent_to_the_enterprise_has_no_live_formula(app) -> None:
    await _say(app, "/profile xlsx", chat_id=GROUP_A)
    data = _req(app).files[-1]
    assert _formulas(data) == []
    assert FORMULA in _texts(data) and "=1+1" in _texts(data)  # kept, as text


def test_the_cli_profile_of_a_bad_project_and_its_xlsx(tmp_path, database, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database.url)
    _seed(database, tmp_path)
    database.dispose()
    main(["ledger", "profile", "P002", "--xlsx", str(tmp_path / "p2.xlsx")])
    out = capsys.readouterr().out
    assert "风电基地" in out and texts.LEDGER_DEADLINE_UNKNOWN in out
    main(["ledger", "profile", "P001", "--xlsx", str(tmp_path / "p1.xlsx")])
    data = (tmp_path / "p1.xlsx").read_bytes()
    assert _formulas(data) == [] and FORMULA in _texts(data)


async def test_a_group_whose_sends_fail_is_recorded_and_the_others_still_get_theirs(app) -> None:
    _req(app).broken.add(GROUP_A)
    await reminder_job.run_round(app, catch_up=True)
    await delivered(app)
    sent = Counter(int(c.params["chat_id"]) for c in _req(app).calls if c.method in ("sendMessage", "sendPhoto"))
    assert sent[ECO_DEPT] == 1 and sent[STEWARDS] == 1 and sent[LEAD] == 2 and sent[GROUP_B] == 1
    rows = app.bot_data["services"].db.call(lambda session: session.exec(select(ReminderLog)).all())
    failed = sorted(r.key for r in rows if r.status == ReminderState.failed.value)
    assert [k for k in failed if "plan:" not in k] == [
        f"help:{GROUP_A}|deadline:P001:30|2026-03-01",
        f"help:{GROUP_A}|overdue:P001|2026-03-10",
    ]


async def test_a_round_the_database_cuts_short_runs_again_later_and_sends_each_reminder_once(app, monkeypatch) -> None:
    # a database blip at reminder time lost the day's reminders (no rerun until the next day)
    from sqlalchemy.exc import OperationalError

    planned = reminder_job.plan_day
    blips = [OperationalError("SELECT …", {}, Exception("server closed the connection unexpectedly"))]

    def plan_after_a_blip(**kwargs: Any) -> Any:
        if blips:
            raise blips.pop()
        return planned(**kwargs)

    monkeypatch.setattr(reminder_job, "plan_day", plan_after_a_blip)
    first = await reminder_job.run_and_retry(app, catch_up=True)
    await delivered(app)
    assert first["incomplete"] and first["reminders"] == Counter()
    services = app.bot_data["services"]
    (retry,) = [job for job in app.job_queue.jobs() if job.name == reminder_job.RETRY_JOB]
    assert retry.data == {"attempt": 1}
    retry.schedule_removal()
    _req(app).clear()
    again = await reminder_job.run_and_retry(app, catch_up=True, attempt=1)  # what the retry job runs
    await delivered(app)
    assert not again["incomplete"] and again["reminders"]["sent"] > 0
    assert [job for job in app.job_queue.jobs() if job.name == reminder_job.RETRY_JOB] == []
    sent = Counter(int(c.params["chat_id"]) for c in _req(app).calls if c.method == "sendMessage")
    assert sent[GROUP_A] == 2  # P001's reminders, once
    _req(app).clear()
    await reminder_job.run_and_retry(app, catch_up=True, attempt=2)
    await delivered(app)
    assert [c for c in _req(app).calls if c.method == "sendMessage" and int(c.params["chat_id"]) == GROUP_A] == []
    assert services.settings.reminder_retries > 2
