"""The ledger in Telegram: /profile, /progress, status answers, /mute, and the scheduled
reminders and weekly report, through the real Application with a recording request."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

import texts
from bot.app import build_application, start_delivery, stop_delivery
from bot.jobs import reminder_job
from bot.jobs.broadcast import Broadcaster, Outcome
from bot.telegram_io import services_of_app
from desk.bindings import bind_department_chat, bind_help_chat, get_binding
from desk.models import Role
from desk.roles import Actor
from ledger.importer import import_file
from ledger.lookups import KnowledgeLookups
from ledger.models import Project
from ledger.report import Figures, LedgerReport, NamedFigures
from scheduler.charts import completion_chart
from scheduler.models import ReminderLog, ReminderState
from tests.delivery_helpers import delivered
from tests.ledger_support import ledger_row, write_xlsx
from tests.recording_request import RecordingRequest
from tests.texts_match import said, says
from tests.updates import message_update, supergroup_id, user_id

ADMIN = user_id(7001)
STRANGER = user_id(7002)
ENTERPRISE = user_id(7003)
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

GROUP_A = supergroup_id(1001)  # help group of P001 (deadline 31 Mar 2026, 环评 overdue)
GROUP_B = supergroup_id(1002)  # help group of P002 (deadline 31 Mar 2026)
GROUP_C = supergroup_id(1003)  # help group of P003 (deadline 31 Aug 2026: no deadline reminder)
UNBOUND = supergroup_id(1999)
ECO_DEPT = supergroup_id(2001)  # department group of 生态环境局 (eco_env)
STEWARDS = supergroup_id(3001)
LEAD = supergroup_id(4001)


class FlakyRequest(RecordingRequest):
    """A RecordingRequest that also keeps uploaded files, answers 403 for chats that removed
    the bot, and 429 once for the next N calls of a method."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str, bytes]] = []
        self.forbidden: set[int] = set()
        self.retry_once: dict[str, int] = {}
        self.refused: list[tuple[str, int]] = []

    async def do_request(self, url: str, method: str, request_data=None, **kw: Any):  # type: ignore[override]
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        chat_id = int(params.get("chat_id", 0) or 0)
        if chat_id in self.forbidden:
            self.refused.append((api_method, chat_id))
            return 403, json.dumps(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked from the supergroup chat"}
            ).encode()
        if self.retry_once.get(api_method):
            self.retry_once[api_method] -= 1
            self.refused.append((api_method, chat_id))
            return 429, json.dumps(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 1},
                }
            ).encode()
        if request_data is not None:
            for name, (filename, content, _mime) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((api_method, filename or name, data))
        return await super().do_request(url, method, request_data, **kw)


def _rows() -> list[list[object]]:
    return [
        ledger_row(手续="立项", 状态="已办结", 受理日期="2026-01-05", days=1, 办结日期="2026-01-06"),
        ledger_row(手续="环评", 受理日期="2026-03-02", days=5),  # due 9 Mar: overdue
        ledger_row(手续="施工许可", 状态="未启动", 受理日期=None, days=None),
        ledger_row(
            项目代码="P002",
            项目名称="风电基地",
            旗县区="东河区",
            领域="能源",
            手续="节能审查",
            受理日期="2026-03-09",
            days=10,
        ),
        ledger_row(
            项目代码="P003",
            项目名称="物流园区",
            计划开工="2026下半年",
            手续="水土保持",
            状态="已办结",
            受理日期="2026-02-02",
            days=5,
            办结日期="2026-02-06",
        ),
    ]


def _seed(services, tmp_path) -> None:
    services.db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", _rows()))
    admin = Actor(user_id=ADMIN, chat_id=None, role=Role.admin)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    for chat, code in ((GROUP_A, "P001"), (GROUP_B, "P002"), (GROUP_C, "P003")):
        services.db.call(bind_help_chat, actor=admin, chat_id=chat, project_code=code, now=now)
    services.db.call(bind_department_chat, actor=admin, chat_id=ECO_DEPT, department_key="eco_env", now=now)


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


@pytest.fixture
def ledger_settings(settings):
    return settings.model_copy(update={"admin_user_ids": [ADMIN], "steward_chat_id": STEWARDS, "lead_chat_id": LEAD})


async def _start(settings, clock) -> Any:
    request = FlakyRequest()
    application = build_application(settings, clock=clock, request=request, rate_limit=False)
    await application.initialize()
    application.bot_data["request"] = request
    return application


@pytest.fixture
async def app(ledger_settings, clock, tmp_path):
    application = await _start(ledger_settings, clock)
    _seed(application.bot_data["services"], tmp_path)
    yield application
    await stop_delivery(application)
    await application.shutdown()
    application.bot_data["services"].db.dispose()


def _req(app) -> FlakyRequest:
    return app.bot_data["request"]


async def _say(app, text: str, *, chat_id: int = GROUP_A, user_id: int = ENTERPRISE) -> FlakyRequest:
    request = _req(app)
    request.clear()
    await app.process_update(message_update(app.bot, chat_id=chat_id, user_id=user_id, text=text))
    await delivered(app)
    return request


def _broadcaster(app) -> Broadcaster:
    services = app.bot_data["services"]
    return Broadcaster(bot=app.bot, db=services.db, clock=services.clock)


async def _remind(app, **kw):
    """Today's reminders owed, then delivered by the outbox sender."""
    outcomes = await reminder_job.send_reminders(app, broadcaster=_broadcaster(app), **kw)
    await delivered(app)
    return outcomes


async def _round(app, **kw):
    result = await reminder_job.run_round(app, **kw)
    await delivered(app)
    return result


def _sent_to(request: FlakyRequest) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in request.calls if c.method in ("sendMessage", "sendPhoto"))


# --------------------------------------------------------------------------- commands


async def test_profile_shows_the_groups_own_project_only(app) -> None:
    text = "\n".join((await _say(app, "/profile")).texts_to(GROUP_A))
    assert "新材料产业园" in text and "P001" in text
    assert "环评" in text and "施工许可" in text and says(texts.LEDGER_PROFILE_DUE_OVERDUE, text)
    assert "生态环境局" in text  # department from the knowledge base
    assert says(texts.LEDGER_PROFILE_MATERIALS, text)  # materials for the unfinished ones
    assert "风电基地" not in text and "P002" not in text
    other = "\n".join((await _say(app, "/profile", chat_id=GROUP_B)).texts_to(GROUP_B))
    assert "风电基地" in other and "新材料产业园" not in other


async def test_profile_xlsx_sends_the_workbook(app) -> None:
    request = await _say(app, "/profile xlsx")
    assert request.texts_to(GROUP_A)  # the message first
    documents = request.sent("sendDocument")
    assert len(documents) == 1 and int(documents[0].params["chat_id"]) == GROUP_A
    ((method, filename, data),) = request.files
    assert method == "sendDocument" and filename.endswith(".xlsx") and "P001" in filename
    sheet = load_workbook(io.BytesIO(data)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "环评" in values and "新材料产业园" in str(values)


async def test_progress_is_the_short_version(app) -> None:
    (text,) = (await _say(app, "/progress")).texts_to(GROUP_A)
    counts = {"done": 1, "in_progress": 1, "not_started": 1}
    assert says(texts.LEDGER_PROGRESS_SHORT, text, deadline="2026-03-31", **counts)
    assert says(texts.LEDGER_DEADLINE_AHEAD, text, days=21)


async def test_unbound_group_and_private_chat_get_a_clear_message(app) -> None:
    assert (await _say(app, "/profile", chat_id=UNBOUND)).texts_to(UNBOUND) == [texts.LEDGER_BOT_UNBOUND]
    assert (await _say(app, "/progress", chat_id=UNBOUND)).texts_to(UNBOUND) == [texts.LEDGER_BOT_UNBOUND]
    request = _req(app)
    request.clear()
    await app.process_update(
        message_update(app.bot, chat_id=ENTERPRISE, user_id=ENTERPRISE, text="/profile", chat_type="private")
    )
    await delivered(app)
    assert request.texts_to(ENTERPRISE) == [texts.LEDGER_BOT_GROUP_ONLY]


# --------------------------------------------------------------------------- status questions


def handoffs_caught(app) -> list[int]:
    """Catch handoffs instead of opening tickets (the status answer is what is under test): the
    chats whose questions were handed off, in order."""
    handed: list[int] = []

    def hook(update, context):  # Hooks.handoff: the part it plays in the question's transaction
        def part(session, reply) -> bool:
            handed.append(update.effective_chat.id)
            return True

        return part

    services = services_of_app(app)
    services.wire(replace(services.hooks, handoff=hook), services.delivery)
    return handed


async def test_status_question_is_answered_from_the_ledger(app) -> None:
    handed = handoffs_caught(app)
    (text,) = (await _say(app, "我们环评办到哪一步了")).texts_to(GROUP_A)
    assert "环评" in text and "办理中" in text and "生态环境局" in text
    assert "2026-03-02" in text and "2026-03-09" in text  # accepted, due
    assert handed == []
    # Not in the ledger, and an unbound group: the handoff path.
    assert (await _say(app, "地质灾害评估办到哪一步了")).texts_to(GROUP_A) == []
    assert (await _say(app, "我们环评办到哪一步了", chat_id=UNBOUND)).texts_to(UNBOUND) == []
    assert handed == [GROUP_A, UNBOUND]


async def test_a_muted_group_still_gets_status_answers(app) -> None:
    handed = handoffs_caught(app)
    await _say(app, "/mute", user_id=ADMIN)
    assert app.bot_data["services"].db.call(get_binding, chat_id=GROUP_A).muted
    (text,) = (await _say(app, "我们环评办到哪一步了")).texts_to(GROUP_A)
    assert "环评" in text and "办理中" in text and "2026-03-09" in text
    assert handed == []


# --------------------------------------------------------------------------- mute


async def test_only_admins_mute_and_a_muted_group_gets_no_reminders(app) -> None:
    services = app.bot_data["services"]
    assert (await _say(app, "/mute", user_id=STRANGER)).texts_to(GROUP_A) == [texts.LEDGER_BOT_MUTE_DENIED]
    assert not services.db.call(get_binding, chat_id=GROUP_A).muted
    assert (await _say(app, "/mute", user_id=ADMIN)).texts_to(GROUP_A) == [texts.LEDGER_BOT_MUTED]
    assert services.db.call(get_binding, chat_id=GROUP_A).muted
    assert (await _say(app, "/mute", chat_id=UNBOUND, user_id=ADMIN)).texts_to(UNBOUND) == [
        texts.LEDGER_BOT_MUTE_NOT_BOUND
    ]

    request = _req(app)
    request.clear()
    await _remind(app)
    assert GROUP_A not in _sent_to(request) and GROUP_B in _sent_to(request)

    assert (await _say(app, "/unmute", user_id=ADMIN)).texts_to(GROUP_A) == [texts.LEDGER_BOT_UNMUTED]
    request.clear()
    await _remind(app)
    assert set(_sent_to(request)) == {GROUP_A}  # the held-back ones, nothing else again


def test_command_menu_lists_the_ledger_commands() -> None:
    names = [name for name, _ in texts.BOT_COMMANDS]
    assert {"profile", "progress", "mute", "unmute"} <= set(names)
    assert len(names) == len(set(names))


# --------------------------------------------------------------------------- reminders


async def test_reminders_sent_once_across_runs_and_a_restart(app, ledger_settings, clock) -> None:
    request = _req(app)
    request.clear()
    outcomes = await _remind(app)
    sent = _sent_to(request)
    # P001: deadline (30-day threshold) + overdue; P002: deadline; P003 none (August);
    # 生态环境局's group: its overdue 环评; the steward group: the digest.
    assert sent == Counter({GROUP_A: 2, GROUP_B: 1, ECO_DEPT: 1, STEWARDS: 1})
    assert outcomes["sent"] == 5
    a_texts = request.texts_to(GROUP_A)
    assert any(says(texts.REMINDER_DEADLINE, t) and "2026-03-31" in t for t in a_texts)
    assert any(says(texts.REMINDER_OVERDUE, t) and "环评" in t for t in a_texts)
    assert "环评" in request.texts_to(ECO_DEPT)[0]

    request.clear()
    again = await _round(app)  # the daily job's round, same day
    assert _sent_to(request) == Counter() and again["reminders"]["already"] == 5

    # A restart: a new Application (new engine) on the same SQLite file, catch-up at start.
    restarted = await _start(ledger_settings, clock)
    try:
        await _round(restarted, catch_up=True)
        # No reminder again; only this week's report (Monday 9 Mar, never sent) is caught up.
        assert _sent_to(_req(restarted)) == Counter({LEAD: 2})
        _req(restarted).clear()
        # The next working day: the daily overdue lists again, the deadline one not.
        clock.advance(days=1)
        await _round(restarted)
        nxt = _sent_to(_req(restarted))
        assert nxt == Counter({GROUP_A: 1, ECO_DEPT: 1, STEWARDS: 1})
        assert not said(texts.REMINDER_DEADLINE, _req(restarted).texts_to(GROUP_A))
    finally:
        await restarted.shutdown()
        restarted.bot_data["services"].db.dispose()
    rows = app.bot_data["services"].db.call(lambda session: session.exec(select(ReminderLog)).all())
    assert len(rows) == 9 and {r.status for r in rows} == {ReminderState.sent.value}


async def test_catch_up_before_the_reminder_time_waits_for_the_daily_run(app, clock) -> None:
    clock.now = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    request = _req(app)
    request.clear()
    await _round(app, catch_up=True)
    assert _sent_to(request) == Counter({LEAD: 2})  # only last Monday's missed report
    request.clear()
    clock.now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00: the daily job
    await _round(app)
    assert sum(_sent_to(request).values()) == 5 and LEAD not in _sent_to(request)


async def test_no_reminders_on_a_weekend(app, clock) -> None:
    clock.now = datetime(2026, 3, 14, 2, 0, tzinfo=UTC)  # Saturday
    request = _req(app)
    request.clear()
    assert await reminder_job.send_reminders(app) == Counter()
    assert _sent_to(request) == Counter()


async def test_a_group_that_removed_the_bot_is_marked_inactive_and_the_rest_go_on(app) -> None:
    services = app.bot_data["services"]
    request = _req(app)
    request.forbidden.add(GROUP_A)
    request.clear()
    outcomes = await _remind(app)
    assert outcomes["sent"] == 5  # owed; two of them then meet a 403
    assert _sent_to(request) == Counter({GROUP_B: 1, ECO_DEPT: 1, STEWARDS: 1})
    assert services.db.call(get_binding, chat_id=GROUP_A).active is False
    failed = services.db.call(
        lambda session: session.exec(select(ReminderLog).where(ReminderLog.status == ReminderState.failed.value)).all()
    )
    assert len(failed) == 2 and all("403" in (r.error or "") for r in failed)
    # The next run skips the inactive group without calling Telegram.
    request.refused.clear()
    request.clear()
    again = await _remind(app)
    assert request.refused == [] and again["skipped"] == 2 and _sent_to(request) == Counter()


async def test_429_waits_retry_after_and_every_reminder_still_arrives(app) -> None:
    request = _req(app)
    request.retry_once["sendMessage"] = 2  # two 429s in a row (retry_after=3)
    request.clear()
    outcomes = await _remind(app)
    assert outcomes["sent"] == 5 and sum(_sent_to(request).values()) == 5
    rows = app.bot_data["services"].db.call(lambda session: session.exec(select(ReminderLog)).all())
    assert {r.status for r in rows} == {ReminderState.sent.value}


# --------------------------------------------------------------------------- weekly report


async def test_weekly_report_goes_to_the_lead_group_with_a_chart_once(app, clock) -> None:
    clock.now = datetime(2026, 3, 16, 1, 30, tzinfo=UTC)  # Monday 09:30 Shanghai
    request = _req(app)
    request.clear()
    result = await _round(app)
    assert result["report"] is Outcome.sent
    photos = [c for c in request.sent("sendPhoto") if int(c.params["chat_id"]) == LEAD]
    assert len(photos) == 1 and photos[0].params["caption"].startswith(texts.LEDGER_CHART_CAPTION)
    ((_method, _name, png),) = [f for f in request.files if f[0] == "sendPhoto"]
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    (report,) = request.texts_to(LEAD)
    assert says(texts.LEDGER_REPORT_OVERALL, report, projects=3)
    assert texts.LEDGER_REPORT_BY_REGION in report
    request.clear()
    await _round(app, catch_up=True)  # a restart on Monday
    clock.advance(days=1)
    await _round(app)  # Tuesday: not the day
    assert request.sent("sendPhoto") == []


async def test_weekly_report_missed_on_monday_is_caught_up_later_that_week(app, clock) -> None:
    clock.now = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)  # Wednesday
    request = _req(app)
    request.clear()
    result = await _round(app, catch_up=True)
    assert result["report"] is Outcome.sent and len(request.sent("sendPhoto")) == 1


def test_chart_without_a_cjk_font_uses_codes_and_a_legend() -> None:
    figures = Figures(projects=4, projects_complete=1, procedures=40, procedures_done=20, procedures_not_needed=6)
    report = LedgerReport(
        overall=figures,
        by_region=[NamedFigures("新城区", figures), NamedFigures("East", figures)],
        by_sector=[NamedFigures("工业", figures)],
        over_1bn=figures,
    )
    chart = completion_chart(report, use_cjk=False)
    assert chart.png.startswith(b"\x89PNG")
    assert chart.legend == ("R1=新城区", "S1=工业")
    empty = completion_chart(
        LedgerReport(overall=Figures(), by_region=[], by_sector=[], over_1bn=Figures()), use_cjk=False
    )
    assert empty.png.startswith(b"\x89PNG") and empty.legend == ()


def test_jobs_are_on_the_job_queue(ledger_settings, clock) -> None:
    application = build_application(ledger_settings, clock=clock, request=FlakyRequest(), rate_limit=False)
    assert application.job_queue is not None
    names = {job.name for job in application.job_queue.jobs()}
    assert {reminder_job.DAILY_JOB, reminder_job.STARTUP_JOB} <= names
    application.bot_data["services"].db.dispose()


async def test_the_started_job_queue_runs_the_catch_up(ledger_settings, clock, tmp_path) -> None:
    import asyncio

    application = await _start(ledger_settings.model_copy(update={"reminder_catch_up_seconds": 0.05}), clock)
    _seed(application.bot_data["services"], tmp_path)
    request = _req(application)
    await application.start()
    await start_delivery(application)  # post_init's part: the outbox sender
    try:
        for _ in range(100):
            if sum(_sent_to(request).values()) >= 7:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_delivery(application)
        await application.stop()
        await application.shutdown()
        application.bot_data["services"].db.dispose()
    assert _sent_to(request) == Counter({GROUP_A: 2, GROUP_B: 1, ECO_DEPT: 1, STEWARDS: 1, LEAD: 2})


def test_project_help_chat_follows_the_binding(app) -> None:
    services = app.bot_data["services"]
    chats = services.db.call(lambda session: {p.code: p.help_chat_id for p in session.exec(select(Project))})
    assert chats == {"P001": GROUP_A, "P002": GROUP_B, "P003": GROUP_C}


async def test_no_weekly_report_for_an_empty_ledger(ledger_settings, clock) -> None:
    clock.now = datetime(2026, 3, 16, 1, 30, tzinfo=UTC)  # Monday 09:30 Shanghai
    application = await _start(ledger_settings, clock)
    try:
        result = await _round(application, catch_up=True)
        assert result["report"] is None and _sent_to(_req(application)) == Counter()
    finally:
        await application.shutdown()
        application.bot_data["services"].db.dispose()


def test_departments_written_in_the_ledger_are_resolved(app) -> None:
    kb = KnowledgeLookups(app.bot_data["services"].knowledge.kb)
    assert kb.resolve_department("发改委") == "ndrc"
    assert kb.resolve_department(" 生态环境局 ") == kb.department_key_for("eia")
    assert kb.resolve_department("不存在的部门") is None
    assert kb.department_for("eia") == "生态环境局" and kb.materials_for("eia")


async def test_a_help_group_cannot_name_another_project_but_staff_can(app) -> None:
    assert (await _say(app, "/profile P002")).texts_to(GROUP_A) == [texts.LEDGER_BOT_PROFILE_USAGE]
    assert (await _say(app, "/progress P002")).texts_to(GROUP_A) == [texts.LEDGER_BOT_PROFILE_USAGE]
    staff = "\n".join((await _say(app, "/profile P002 xlsx", chat_id=STEWARDS, user_id=ADMIN)).texts_to(STEWARDS))
    assert "风电基地" in staff and len(_req(app).sent("sendDocument")) == 1
    assert (await _say(app, "/progress NOPE", chat_id=STEWARDS)).texts_to(STEWARDS) == [
        texts.LEDGER_PROJECT_NOT_FOUND.format(code="NOPE")
    ]
    assert (await _say(app, "/profile", chat_id=LEAD)).texts_to(LEAD) == [texts.LEDGER_BOT_STAFF_USAGE]
    request = _req(app)
    request.clear()
    await app.process_update(
        message_update(app.bot, chat_id=ADMIN, user_id=ADMIN, text="/progress P001", chat_type="private")
    )
    await delivered(app)
    assert "新材料产业园" in request.texts_to(ADMIN)[0]


async def test_an_unbound_help_group_gets_no_reminders(app) -> None:
    from desk.bindings import unbind_chat

    services = app.bot_data["services"]
    services.db.call(
        unbind_chat,
        actor=Actor(user_id=ADMIN, chat_id=GROUP_B, role=Role.admin),
        chat_id=GROUP_B,
        now=datetime(2026, 3, 9, tzinfo=UTC),
    )
    request = _req(app)
    request.clear()
    outcomes = await reminder_job.send_reminders(app)
    await delivered(app)
    assert GROUP_B not in _sent_to(request) and outcomes["no_chat"] == 1 and outcomes["sent"] == 4


def test_chart_uses_the_bundled_chinese_font() -> None:
    figures = Figures(projects=4, projects_complete=1, procedures=40, procedures_done=20, procedures_not_needed=6)
    report = LedgerReport(
        overall=figures,
        by_region=[NamedFigures("达拉特旗", figures), NamedFigures("东胜区", figures)],
        by_sector=[NamedFigures("新能源", figures)],
        over_1bn=figures,
    )
    chart = completion_chart(report)
    assert chart.cjk, "an installed CJK font or the bundled Noto Sans CJK SC subset should be found"
    assert chart.legend == ()  # names are drawn as they are, no codes
    assert chart.png.startswith(b"\x89PNG")


def test_a_name_the_font_cannot_draw_gets_a_code() -> None:
    figures = Figures(projects=2, projects_complete=1, procedures=20, procedures_done=10)
    private_use = "\ue000区"  # no font has a glyph for a private-use character
    report = LedgerReport(
        overall=figures,
        by_region=[NamedFigures("东胜区", figures), NamedFigures(private_use, figures)],
        by_sector=[NamedFigures("新能源", figures)],
        over_1bn=figures,
    )
    chart = completion_chart(report)
    assert chart.cjk
    assert chart.legend == (texts.LEDGER_CHART_LEGEND_ITEM.format(code="R2", name=private_use),)
