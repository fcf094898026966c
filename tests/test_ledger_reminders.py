"""Reminder planning with a fake clock, across restarts: each expected reminder exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from ledger.importer import import_file
from ledger.models import Project
from scheduler.models import (
    ReminderState,
    claim_reminder,
    mark_failed,
    mark_sent,
    reminder_log,
)
from scheduler.reminders import AudienceKind, Subject, current_threshold, plan_reminders
from storage.db import Database
from tests.databases import postgres_schema_database
from tests.ledger_support import ledger_row, write_xlsx
from tests.updates import supergroup_id
from workdays import WorkingCalendar

HELP_1 = supergroup_id(1001)  # the help group of P001
HELP_3 = supergroup_id(1003)  # the help group of P003
DEPARTMENTS = {
    "eia": "eco_env",
    "energy_review": "ndrc",
    "land_prereview": "natural_resources",
    "filing": "ndrc",
    "construction_permit": "housing",
}
ALIASES = {"发改委": "ndrc"}


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


def build_ledger(tmp_path, database):
    rows = [
        # P001: deadline 31 Mar 2026, help group HELP_1
        ledger_row(手续="立项", 状态="已办结", 受理日期="2026-01-05", days=1, 办结日期="2026-01-06"),
        ledger_row(手续="环评", 受理日期="2026-03-02", days=5),  # due Mon 9 Mar
        ledger_row(手续="节能审查", 受理日期="2026-03-20", days=10, 责任部门="发改委"),  # due 3 Apr
        ledger_row(手续="施工许可", 状态="未启动", 受理日期=None, days=None),
        # P002: deadline 31 Aug 2026, no help group
        ledger_row(
            项目代码="P002", 计划开工="2026下半年", 手续="用地预审", 受理日期="2026-03-16", days=3
        ),  # due Thu 19 Mar
        # P003: everything finished, help group HELP_3
        ledger_row(项目代码="P003", 手续="环评", 状态="已办结", 办结日期="2026-02-11"),
    ]
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "l.xlsx", rows))
    with db.session() as s:
        for code, chat in (("P001", HELP_1), ("P003", HELP_3)):
            s.exec(select(Project).where(Project.code == code)).scalar_one().help_chat_id = chat
    db.dispose()
    return db.url


def run(url, today, calendar, sent, *, fail=frozenset()):
    """One scheduler run after a (re)start: a new Database on the same file."""
    db = Database(url)
    try:
        now = datetime.combine(today, time(9), tzinfo=UTC)
        plan = db.call(
            plan_reminders,
            today=today,
            calendar=calendar,
            department_key_for=DEPARTMENTS.get,
            resolve_department=ALIASES.get,
        )
        for reminder in plan:
            if not db.call(claim_reminder, key=reminder.key, now=now, day=reminder.day):
                continue
            if reminder.key in fail:
                db.call(mark_failed, key=reminder.key, now=now, error="HTTP 500")
                continue
            sent.append((today, reminder))
            db.call(mark_sent, key=reminder.key, now=now)
        return plan
    finally:
        db.dispose()


def days(start, end):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def test_each_reminder_exactly_once_across_restarts_and_downtime(tmp_path, database, calendar):
    url = build_ledger(tmp_path, database)
    down = {date(2026, 3, 23), date(2026, 3, 24), date(2026, 3, 25)}
    sent = []
    for today in days(date(2026, 2, 20), date(2026, 4, 3)):
        if today in down:
            continue
        run(url, today, calendar, sent)
        run(url, today, calendar, sent)  # a restart the same day sends nothing again

    keys = [r.key for _, r in sent]
    assert len(keys) == len(set(keys)), [k for k, n in Counter(keys).items() if n > 1]
    assert all(calendar.is_working_day(day) for day, _ in sent)

    help_group = [(day, r) for day, r in sent if r.audience.kind is AudienceKind.help_group]
    assert {r.audience.key for _, r in help_group} == {str(HELP_1)}  # P003 is finished
    deadline = [(day, r.threshold) for day, r in help_group if r.subject is Subject.deadline]
    assert deadline == [
        (date(2026, 3, 2), 30),  # 30 days out fell on Sunday 1 Mar
        (date(2026, 3, 17), 14),
        (date(2026, 3, 26), 7),  # the 7-day mark (24 Mar) was missed while down
        (date(2026, 3, 30), 1),  # the 3-day mark fell on Saturday: only the nearest is sent
    ]
    passed = [day for day, r in help_group if r.subject is Subject.deadline_passed]
    assert passed == [date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)]
    first = next(r for _, r in help_group if r.subject is Subject.deadline)
    assert [p.item_key for p in first.procedures] == ["eia", "energy_review", "construction_permit"]

    overdue = [(day, r) for day, r in help_group if r.subject is Subject.overdue]
    expected = [d for d in days(date(2026, 3, 10), date(2026, 4, 3)) if calendar.is_working_day(d) and d not in down]
    assert [day for day, _ in overdue] == expected and len(expected) == 16
    assert {p.item_key for _, r in overdue for p in r.procedures} == {"eia"}

    departments = {}
    for day, r in sent:
        if r.audience.kind is AudienceKind.department:
            departments.setdefault(r.audience.key, []).append((day, r))
    assert set(departments) == {"eco_env", "ndrc", "natural_resources"}
    # energy_review (due 3 Apr, 责任部门 发改委 -> ndrc) is due soon from 31 Mar
    assert [day for day, _ in departments["ndrc"]] == [
        date(2026, 3, 31),
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 3),
    ]
    assert departments["eco_env"][0][0] == date(2026, 3, 4)  # 3 working days before 9 Mar
    nr_first, nr_last = departments["natural_resources"][0][1], departments["natural_resources"][-1][1]
    assert [p.project_code for p in nr_first.due_soon] == ["P002"] and not nr_first.overdue
    assert [p.project_code for p in nr_last.overdue] == ["P002"]

    digests = [day for day, r in sent if r.audience.kind is AudienceKind.steward]
    assert digests == [
        d for d in days(date(2026, 3, 2), date(2026, 4, 3)) if calendar.is_working_day(d) and d not in down
    ]


def test_a_failed_send_is_retried_and_then_sent_once(tmp_path, database, calendar):
    url = build_ledger(tmp_path, database)
    today = date(2026, 3, 10)
    sent = []
    plan = run(url, today, calendar, sent, fail={f"help:{HELP_1}|overdue:P001|{today}"})
    assert f"help:{HELP_1}|overdue:P001|{today}" not in {r.key for _, r in sent}
    db = Database(url)
    log = db.call(reminder_log, key=f"help:{HELP_1}|overdue:P001|{today}")
    assert (log.status, log.error) == (ReminderState.failed.value, "HTTP 500")
    run(url, today, calendar, sent)  # the retry
    run(url, today, calendar, sent)
    keys = [r.key for _, r in sent]
    assert sorted(keys) == sorted(r.key for r in plan)
    log = db.call(reminder_log, key=f"help:{HELP_1}|overdue:P001|{today}")
    assert (log.status, log.attempts) == (ReminderState.sent.value, 2)


def test_claims_are_exclusive_and_stale_claims_can_be_taken_over(database):
    url = database.url
    first, second = Database(url), Database(url)
    now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    assert first.call(claim_reminder, key="k", now=now)
    assert not second.call(claim_reminder, key="k", now=now)  # another process holds it
    assert not second.call(claim_reminder, key="k", now=now + timedelta(minutes=5))
    # the holder died without marking: after the stale period the claim may be taken over
    assert second.call(claim_reminder, key="k", now=now + timedelta(minutes=20))
    second.call(mark_sent, key="k", now=now + timedelta(minutes=20))
    assert not first.call(claim_reminder, key="k", now=now + timedelta(days=1))


def test_nothing_is_planned_on_days_off(tmp_path, database, calendar):
    url = build_ledger(tmp_path, database)
    db = Database(url)
    for day_off in (date(2026, 3, 28), date(2026, 4, 6), date(2026, 2, 17)):
        assert db.call(plan_reminders, today=day_off, calendar=calendar) == []


def test_current_threshold():
    thresholds = (30, 14, 7, 3, 1)
    assert [current_threshold(d, thresholds) for d in (40, 31, 30, 20, 14, 8, 7, 4, 3, 2, 1, 0, -1)] == [
        None,
        None,
        30,
        30,
        14,
        14,
        7,
        7,
        3,
        3,
        1,
        1,
        None,
    ]


def test_claims_and_plan_on_postgresql(tmp_path, calendar):
    with postgres_schema_database("t_ledger") as db:
        db.call(
            import_file, path=write_xlsx(tmp_path / "l.xlsx", [ledger_row(手续="环评", 受理日期="2026-03-02", days=5)])
        )
        with db.session() as s:
            s.exec(select(Project)).scalar_one().help_chat_id = HELP_1
        plan = db.call(plan_reminders, today=date(2026, 3, 17), calendar=calendar, department_key_for=DEPARTMENTS.get)
        assert {r.key for r in plan} == {
            f"help:{HELP_1}|deadline:P001:14|2026-03-17",
            f"help:{HELP_1}|overdue:P001|2026-03-17",
            "dept:eco_env|department|2026-03-17",
            "steward:steward|digest|2026-03-17",
        }
        now = datetime(2026, 3, 17, 1, tzinfo=UTC)
        key = plan[0].key
        assert db.call(claim_reminder, key=key, now=now, day=plan[0].day)
        assert not db.call(claim_reminder, key=key, now=now)
        db.call(mark_failed, key=key, now=now, error="429")
        assert db.call(claim_reminder, key=key, now=now)
        db.call(mark_sent, key=key, now=now)
        assert not db.call(claim_reminder, key=key, now=now + timedelta(days=2))
        assert db.call(reminder_log, key=key).attempts == 2
