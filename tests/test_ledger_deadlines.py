"""Deadlines on the Chinese working-day calendar (2026: Spring Festival 15-23 Feb, make-up
working days Sat 14 Feb and Sat 28 Feb; Qingming 4-6 Apr)."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.deadlines import (
    DeadlineRule,
    Timing,
    approval_deadline,
    due_date,
    parse_month_day,
    procedure_timing,
    timing,
)
from ledger.errors import BadMonthDay
from ledger.models import ProcedureStatus
from workdays import WorkingCalendar

S = ProcedureStatus


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


def test_approval_deadline_follows_the_half_and_is_configurable():
    assert approval_deadline(start_half=1, start_year=2026) == date(2026, 3, 31)
    assert approval_deadline(start_half=2, start_year=2027) == date(2027, 8, 31)
    assert approval_deadline(start_half=1, start_year=2026, first_half="04-15") == date(2026, 4, 15)
    assert DeadlineRule("02-29", "09-30").deadline(1, 2027) == date(2027, 2, 28)
    assert DeadlineRule("02-29", "09-30").deadline(1, 2028) == date(2028, 2, 29)
    for bad in ("3-32", "13-01", "0331", "", "03/31"):
        with pytest.raises(BadMonthDay):
            parse_month_day(bad)


def test_due_date_skips_the_spring_festival_and_counts_make_up_days(calendar):
    # accepted Thu 12 Feb; 13 Feb (Fri) = 1, 14 Feb (make-up Sat) = 2, 15-23 off, 24 Feb = 3
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 12), promised_days=3, calendar=calendar) == date(
        2026, 2, 24
    )
    # accepted on the make-up Saturday: 24, 25 Feb
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 14), promised_days=2, calendar=calendar) == date(
        2026, 2, 25
    )
    # accepted in the holiday: the first working day after it is day 1
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 17), promised_days=1, calendar=calendar) == date(
        2026, 2, 24
    )
    # 5 days from Wed 25 Feb: 26, 27, 28 (make-up Sat), 2 Mar, 3 Mar
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 25), promised_days=5, calendar=calendar) == date(
        2026, 3, 3
    )
    # 即来即办: 0 days is the same working day, or the next one in a holiday
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 12), promised_days=0, calendar=calendar) == date(
        2026, 2, 12
    )
    assert due_date(status=S.in_progress, accepted_on=date(2026, 2, 16), promised_days=0, calendar=calendar) == date(
        2026, 2, 24
    )


def test_only_in_progress_procedures_with_dates_are_due(calendar):
    for status in (S.done, S.not_needed, S.not_started):
        assert due_date(status=status, accepted_on=date(2026, 2, 12), promised_days=3, calendar=calendar) is None
    assert due_date(status=S.in_progress, accepted_on=None, promised_days=3, calendar=calendar) is None
    assert due_date(status="in_progress", accepted_on=date(2026, 2, 12), promised_days=None, calendar=calendar) is None


def test_overdue_and_due_soon_are_computed_for_the_day_asked(calendar):
    due = date(2026, 2, 24)
    # Fri 13 Feb: 14 Feb (make-up) and 24 Feb remain -> 2 working days
    before = procedure_timing(
        status=S.in_progress, accepted_on=date(2026, 2, 12), promised_days=3, today=date(2026, 2, 13), calendar=calendar
    )
    assert (before.due_on, before.working_days_left, before.overdue, before.due_soon) == (due, 2, False, True)

    def on(today: date, soon_days: int = 3) -> Timing:
        return timing(due_on=due, today=today, calendar=calendar, soon_days=soon_days)

    assert not on(date(2026, 2, 13), soon_days=1).due_soon
    assert on(date(2026, 2, 20), soon_days=1).due_soon  # in the holiday: 1 left
    assert not on(due).overdue and on(due, soon_days=0).due_soon
    after = procedure_timing(
        status=S.in_progress, accepted_on=date(2026, 2, 12), promised_days=3, today=date(2026, 2, 27), calendar=calendar
    )
    assert (after.overdue, after.due_soon, after.working_days_left) == (True, False, -3)
    assert on(date(2026, 2, 25)).overdue and not on(date(2026, 2, 25)).due_soon
