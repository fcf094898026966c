"""The project profile, the progress summary, status answers and their renderings."""

from __future__ import annotations

import html
from datetime import date

import pytest
from openpyxl import load_workbook

import texts
from ledger.errors import ProcedureNotInLedger, ProjectNotFound
from ledger.importer import import_file
from ledger.models import ProcedureStatus
from ledger.profile import procedure_status, progress_summary, project_profile
from ledger.render import profile_text, progress_text, status_text, write_profile_xlsx
from scheduler.reminder_text import render_reminder
from scheduler.reminders import plan_reminders
from tests.ledger_support import ledger_row, write_xlsx
from tests.texts_match import says
from tests.updates import supergroup_id
from workdays import WorkingCalendar

MATERIALS = {"eia": ["环境影响报告书", "建设项目环评审批申请表"], "construction_permit": ["施工许可申请表", "施工合同"]}
DEPARTMENTS = {
    "filing": "发展和改革委员会",
    "eia": "生态环境局",
    "energy_review": "发展和改革委员会",
    "construction_permit": "住房和城乡建设局",
}
TODAY = date(2026, 3, 5)


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


@pytest.fixture
def db(tmp_path, database):
    rows = [
        ledger_row(手续="立项", 状态="已办结", 受理日期="2026-01-05", days=1, 办结日期="2026-01-06"),
        ledger_row(手续="环评", 受理日期="2026-03-02", days=5),  # due 9 Mar
        ledger_row(手续="节能审查", 受理日期="2026-02-12", days=3, 责任部门="发改委"),  # due 24 Feb
        ledger_row(手续="施工许可", 状态="未启动", 受理日期=None, days=None),
    ]
    for row in rows[1:]:
        row[1] = None  # the name is given once, as in a ledger with merged cells
    rows[0][1] = "新材料<产业园>"
    database.call(import_file, path=write_xlsx(tmp_path / "l.xlsx", rows))
    return database


def profile(db, calendar, today=TODAY):
    return db.call(
        project_profile,
        code="P001",
        today=today,
        calendar=calendar,
        materials_for=lambda key: MATERIALS.get(key, []),
        department_for=DEPARTMENTS.__getitem__,
    )


def test_profile_lists_every_procedure_with_due_dates_and_materials(db, calendar):
    result = profile(db, calendar)
    lines = {line.item_key: line for line in result.procedures}
    assert [line.item_key for line in result.procedures] == ["filing", "eia", "energy_review", "construction_permit"]
    assert lines["filing"].materials == () and lines["filing"].finished_on == date(2026, 1, 6)
    eia = lines["eia"]
    assert (
        eia.status,
        eia.department,
        eia.accepted_on,
        eia.due_on,
        eia.working_days_left,
        eia.due_soon,
        eia.overdue,
    ) == (ProcedureStatus.in_progress, "生态环境局", date(2026, 3, 2), date(2026, 3, 9), 2, True, False)
    assert eia.materials == tuple(MATERIALS["eia"])
    energy = lines["energy_review"]
    assert (energy.department, energy.due_on, energy.overdue) == ("发改委", date(2026, 2, 24), True)
    assert lines["construction_permit"].materials == tuple(MATERIALS["construction_permit"])
    assert lines["construction_permit"].due_on is None

    summary = result.summary
    assert (summary.done, summary.not_needed, summary.in_progress, summary.not_started, summary.overdue) == (
        1,
        0,
        2,
        1,
        1,
    )
    # 26 calendar days to 31 Mar; working days 6 Mar, 9-13, 16-20, 23-27, 30-31 = 18
    assert (summary.deadline, summary.days_to_deadline, summary.working_days_to_deadline) == (date(2026, 3, 31), 26, 18)
    assert not summary.complete


def test_progress_summary_matches_the_profile(db, calendar):
    summary = db.call(progress_summary, code="P001", today=TODAY, calendar=calendar)
    assert summary == profile(db, calendar).summary
    later = db.call(
        progress_summary, code="P001", today=date(2026, 4, 2), calendar=calendar, first_half_deadline="03-31"
    )
    assert later.days_to_deadline == -2 and later.working_days_to_deadline == -2


def test_status_answers_and_their_errors(db, calendar):
    eia = db.call(
        procedure_status,
        code="P001",
        item_key="eia",
        today=TODAY,
        calendar=calendar,
        department_for=DEPARTMENTS.__getitem__,
    )
    assert (eia.status, eia.due_on, eia.department) == (ProcedureStatus.in_progress, date(2026, 3, 9), "生态环境局")
    # 核准 and 备案 fill the same 立项 slot: the ledger's 备案 row answers a 核准 question
    approval = db.call(
        procedure_status,
        code="P001",
        item_key="verification",
        today=TODAY,
        calendar=calendar,
        department_for=DEPARTMENTS.__getitem__,
    )
    assert (approval.item_key, approval.status) == ("filing", ProcedureStatus.done)
    with pytest.raises(ProcedureNotInLedger):
        db.call(
            procedure_status,
            code="P001",
            item_key="soil_water",
            today=TODAY,
            calendar=calendar,
            department_for=DEPARTMENTS.__getitem__,
        )
    with pytest.raises(ProjectNotFound):
        db.call(
            procedure_status,
            code="NOPE",
            item_key="eia",
            today=TODAY,
            calendar=calendar,
            department_for=DEPARTMENTS.__getitem__,
        )
    with pytest.raises(ProjectNotFound):
        db.call(
            project_profile,
            code="NOPE",
            today=TODAY,
            calendar=calendar,
            materials_for=lambda k: [],
            department_for=lambda k: "",
        )


def test_profile_xlsx(db, calendar, tmp_path):
    path = write_profile_xlsx(profile(db, calendar), tmp_path / "profile.xlsx")
    sheet = load_workbook(path).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert "新材料<产业园>" in values[0][0]
    table = {row[0]: row for row in values if row and row[0] in ("环评", "施工许可", "立项(备案)")}
    assert table["环评"][2] == "生态环境局" and table["环评"][5].date() == date(2026, 3, 9)
    assert table["环评"][8] == "环境影响报告书\n建设项目环评审批申请表"
    assert table["立项(备案)"][8] in (None, "")


def test_renderings_escape_ledger_values(db, calendar):
    result = profile(db, calendar)
    text = profile_text(result, escape=html.escape)
    assert "新材料&lt;产业园&gt;" in text and "<产业园>" not in text
    assert "环境影响报告书、建设项目环评审批申请表" in text and says(texts.LEDGER_PROFILE_DUE_OVERDUE, text)
    assert says(texts.LEDGER_DEADLINE_AHEAD, text, days=26, working_days=18)
    counts = {"done": 1, "not_needed": 0, "in_progress": 2, "not_started": 1, "total": 4}
    assert says(texts.LEDGER_PROGRESS_SHORT, progress_text(result.summary), **counts)
    eia = next(line for line in result.procedures if line.item_key == "eia")
    assert status_text(eia) == texts.LEDGER_STATUS_ANSWER.format(
        item="环评",
        status="办理中",
        department="生态环境局",
        dates=texts.LEDGER_STATUS_ACCEPTED.format(accepted="2026-03-02")
        + texts.LEDGER_STATUS_DUE.format(due="2026-03-09", left=2),
    )


def test_every_reminder_renders(db, calendar):
    from sqlalchemy import select

    from ledger.models import Project

    with db.session() as s:
        s.exec(select(Project)).scalar_one().help_chat_id = supergroup_id(5)
    plan = db.call(plan_reminders, today=date(2026, 3, 17), calendar=calendar, department_key_for=lambda key: "dept")
    assert {r.subject.value for r in plan} == {"deadline", "overdue", "department", "digest"}
    for reminder in plan:
        text = render_reminder(reminder, escape=html.escape)
        assert text and "{" not in text
    deadline = next(r for r in plan if r.subject.value == "deadline")
    assert says(
        texts.REMINDER_DEADLINE, render_reminder(deadline), name="新材料<产业园>", deadline="2026-03-31", days=14
    )
