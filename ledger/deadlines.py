"""Deadlines, computed from the ledger on the day asked, never stored.

- A project's approval deadline (应批尽批): 31 March of the start year for a first-half start,
  31 August for a second-half start; both "MM-DD" strings come from the settings.
- An in-progress procedure is due `promised_days` working days after the day it was accepted
  (the day of acceptance is not counted; 0 days = the same working day, 即来即办). It is
  overdue from the day after its due date, and due soon when at most `soon_days` working
  days remain.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ledger.errors import BadMonthDay
from ledger.models import ProcedureStatus

DEFAULT_FIRST_HALF = "03-31"
DEFAULT_SECOND_HALF = "08-31"
DEFAULT_SOON_DAYS = 3


class Calendar(Protocol):
    """What the ledger needs of workdays.WorkingCalendar."""

    def is_working_day(self, day: date) -> bool: ...
    def add_working_days(self, start: date, days: int) -> date: ...
    def working_days_between(self, start: date, end: date) -> int: ...


def parse_month_day(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2})-(\d{1,2})\s*", text or "")
    if not match:
        raise BadMonthDay(text)
    month, day = int(match[1]), int(match[2])
    try:
        date(2000, month, day)  # a leap year, so 02-29 is accepted
    except ValueError:
        raise BadMonthDay(text) from None
    return month, day


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    first_half: str = DEFAULT_FIRST_HALF
    second_half: str = DEFAULT_SECOND_HALF

    def __post_init__(self) -> None:
        parse_month_day(self.first_half)
        parse_month_day(self.second_half)

    def deadline(self, start_half: int, start_year: int) -> date:
        month, day = parse_month_day(self.first_half if start_half == 1 else self.second_half)
        # 02-29 in a common year falls back to the month's last day.
        return date(start_year, month, min(day, _calendar.monthrange(start_year, month)[1]))


# Dates outside these years are bad data (the importer refuses them); one already stored is
# treated as unknown, so it can stop no reminder, profile or status answer.
MIN_YEAR, MAX_YEAR = 2000, 2100


def sane_date(day: date | None) -> bool:
    return day is not None and MIN_YEAR <= day.year <= MAX_YEAR


def deadline_or_none(rule: DeadlineRule, start_half: int, start_year: int) -> date | None:
    """The approval deadline, or None when the stored start (half, year) makes no sense."""
    if start_half not in (1, 2) or not MIN_YEAR <= start_year <= MAX_YEAR:
        return None
    return rule.deadline(start_half, start_year)


def approval_deadline(
    *, start_half: int, start_year: int, first_half: str = DEFAULT_FIRST_HALF, second_half: str = DEFAULT_SECOND_HALF
) -> date:
    return DeadlineRule(first_half, second_half).deadline(start_half, start_year)


def due_date(
    *, status: ProcedureStatus | str, accepted_on: date | None, promised_days: int | None, calendar: Calendar
) -> date | None:
    """The promised due date of an in-progress procedure; None when it has none."""
    if ProcedureStatus(status) is not ProcedureStatus.in_progress:
        return None
    if accepted_on is None or promised_days is None:
        return None
    if not sane_date(accepted_on) or not 0 <= promised_days <= 3650:
        return None  # bad data already in the database: no due date rather than a crash
    return calendar.add_working_days(accepted_on, promised_days)


@dataclass(frozen=True, slots=True)
class Timing:
    due_on: date | None
    working_days_left: int | None  # negative once overdue; 0 on the due day
    overdue: bool
    due_soon: bool


NO_TIMING = Timing(None, None, False, False)


def timing(*, due_on: date | None, today: date, calendar: Calendar, soon_days: int = DEFAULT_SOON_DAYS) -> Timing:
    if due_on is None:
        return NO_TIMING
    left = calendar.working_days_between(today, due_on)
    overdue = today > due_on
    return Timing(due_on, left, overdue, not overdue and left <= soon_days)


def procedure_timing(
    *,
    status: ProcedureStatus | str,
    accepted_on: date | None,
    promised_days: int | None,
    today: date,
    calendar: Calendar,
    soon_days: int = DEFAULT_SOON_DAYS,
) -> Timing:
    due_on = due_date(status=status, accepted_on=accepted_on, promised_days=promised_days, calendar=calendar)
    return timing(due_on=due_on, today=today, calendar=calendar, soon_days=soon_days)
