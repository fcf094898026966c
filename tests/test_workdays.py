"""Tests for the workdays package: Chinese working days and business hours.

Real dates. The 2026 schedule (国办发明电〔2025〕7号) as carried by the holidays library:
  元旦   Jan 1-3 off, Sun Jan 4 works
  春节   Feb 15 (Sun) - Feb 23 (Mon) off, Sat Feb 14 and Sat Feb 28 work
  劳动节 May 1-5 off, Sat May 9 works
  中秋   Sep 25-27 off
  国庆   Oct 1-7 off, Sun Sep 20 and Sat Oct 10 work
"""

from __future__ import annotations

import logging
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

# An editable install made before workdays/__init__.py existed maps `workdays` to a
# namespace package; putting the source root on sys.path makes the real package win.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import workdays  # noqa: E402
from workdays import (  # noqa: E402
    DEFAULT_BUSINESS_HOURS,
    BusinessHours,
    CalendarConfigError,
    WorkingCalendar,
)
from workdays.calendar import DEFAULT_OVERRIDES_PATH  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NO_SCHEDULE_YEAR = 2030  # far enough ahead that neither library nor file covers it


def d(text: str) -> date:
    return date.fromisoformat(text)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.fixture(scope="module")
def empty_overrides(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wd") / "overrides.yaml"
    path.write_text("# nothing declared\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cal(empty_overrides) -> WorkingCalendar:
    # Isolated from whatever an operator puts in the shipped file.
    return WorkingCalendar(overrides_path=empty_overrides)


@pytest.fixture(scope="module")
def bh(cal) -> BusinessHours:
    return BusinessHours.parse(DEFAULT_BUSINESS_HOURS, calendar=cal, tz=SH)


def test_exports():
    assert set(workdays.__all__) >= {
        "WorkingCalendar",
        "BusinessHours",
        "CalendarConfigError",
        "DEFAULT_BUSINESS_HOURS",
    }
    assert DEFAULT_BUSINESS_HOURS == "09:00-12:00,13:30-17:30"
    assert issubclass(CalendarConfigError, Exception)


# ------------------------------------------------------------------ calendar


def test_library_covers_2026_officially(cal):
    assert cal.has_official_schedule(2026)
    assert cal.has_official_schedule(2001)
    assert not cal.has_official_schedule(NO_SCHEDULE_YEAR)
    assert 2026 in cal.library_official_years


def test_plain_week(cal):
    assert cal.is_working_day(d("2026-03-06"))  # Friday
    assert not cal.is_working_day(d("2026-03-07"))  # Saturday
    assert not cal.is_working_day(d("2026-03-08"))  # Sunday
    assert cal.is_working_day(d("2026-03-09"))  # Monday


def test_spring_festival_2026(cal):
    for day in range(15, 24):  # Feb 15 .. Feb 23
        assert not cal.is_working_day(date(2026, 2, day)), day
    assert cal.is_working_day(d("2026-02-13"))  # Friday
    assert cal.is_working_day(d("2026-02-14"))  # make-up Saturday 调休上班
    assert cal.is_working_day(d("2026-02-24"))  # first day back
    assert cal.is_working_day(d("2026-02-28"))  # make-up Saturday 调休上班
    assert not cal.is_working_day(d("2026-03-01"))  # ordinary Sunday


def test_national_day_and_mid_autumn_2026(cal):
    assert not cal.is_working_day(d("2026-09-25"))  # 中秋, a Friday
    assert cal.is_working_day(d("2026-09-20"))  # make-up Sunday
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(d("2026-10-08"))
    assert cal.is_working_day(d("2026-10-09"))
    assert cal.is_working_day(d("2026-10-10"))  # make-up Saturday
    assert not cal.is_working_day(d("2026-10-11"))


def test_new_year_and_labour_day_2026(cal):
    assert not cal.is_working_day(d("2026-01-01"))
    assert not cal.is_working_day(d("2026-01-02"))
    assert cal.is_working_day(d("2026-01-04"))  # make-up Sunday
    assert not cal.is_working_day(d("2026-05-05"))
    assert cal.is_working_day(d("2026-05-09"))  # make-up Saturday


def test_add_working_days_spring_festival(cal):
    assert cal.add_working_days(d("2026-02-12"), 1) == d("2026-02-13")
    assert cal.add_working_days(d("2026-02-13"), 1) == d("2026-02-14")  # make-up Saturday
    assert cal.add_working_days(d("2026-02-14"), 1) == d("2026-02-24")
    assert cal.add_working_days(d("2026-02-13"), 2) == d("2026-02-24")
    # 3 working days from Thursday Feb 12: Feb 13, Feb 14, Feb 24
    assert cal.add_working_days(d("2026-02-12"), 3) == d("2026-02-24")
    # From inside the holiday: start not counted, first working day is Feb 24
    assert cal.add_working_days(d("2026-02-18"), 1) == d("2026-02-24")
    # 20 working days (a statutory limit) from Feb 10
    assert cal.add_working_days(d("2026-02-10"), 20) == d("2026-03-16")


def test_add_working_days_national_day(cal):
    assert cal.add_working_days(d("2026-09-24"), 1) == d("2026-09-28")  # skips 中秋 Fri 25
    assert cal.add_working_days(d("2026-09-30"), 1) == d("2026-10-08")
    assert cal.add_working_days(d("2026-10-09"), 1) == d("2026-10-10")  # make-up Saturday
    assert cal.add_working_days(d("2026-10-10"), 1) == d("2026-10-12")
    assert cal.add_working_days(d("2026-09-18"), 1) == d("2026-09-20")  # make-up Sunday


def test_add_working_days_zero_and_negative(cal):
    assert cal.add_working_days(d("2026-02-13"), 0) == d("2026-02-13")
    assert cal.add_working_days(d("2026-02-15"), 0) == d("2026-02-24")
    assert cal.add_working_days(d("2026-02-24"), -1) == d("2026-02-14")
    assert cal.add_working_days(d("2026-02-24"), -2) == d("2026-02-13")
    assert cal.add_working_days(d("2026-10-08"), -1) == d("2026-09-30")


def test_add_working_days_across_years(cal):
    assert cal.add_working_days(d("2025-12-31"), 1) == d("2026-01-04")  # Jan 1-3 off
    assert cal.add_working_days(d("2026-01-04"), -1) == d("2025-12-31")
    with pytest.raises(ValueError):
        cal.add_working_days(d("2026-01-04"), 1.5)


def test_next_working_day(cal):
    assert cal.next_working_day(d("2026-02-13")) == d("2026-02-13")
    assert cal.next_working_day(d("2026-02-15")) == d("2026-02-24")
    assert cal.next_working_day(d("2026-09-19")) == d("2026-09-20")  # make-up Sunday


def test_working_days_between(cal):
    assert cal.working_days_between(d("2026-02-13"), d("2026-02-24")) == 2
    assert cal.working_days_between(d("2026-02-24"), d("2026-02-13")) == -2
    assert cal.working_days_between(d("2026-02-14"), d("2026-02-14")) == 0
    assert cal.working_days_between(d("2026-09-30"), d("2026-10-10")) == 3  # 8, 9, 10
    assert cal.working_days_between(d("2025-12-31"), d("2026-01-04")) == 1
    # whole year 2026: 261 weekdays - 19 weekdays off + 6 make-up weekend days = 248;
    # cross-checked day by day
    expected = sum(cal.is_working_day(date(2026, 1, 1) + timedelta(days=i)) for i in range(365))
    assert cal.working_days_between(d("2025-12-31"), d("2026-12-31")) == expected
    assert expected == 248


@given(
    start=st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 12, 31)),
    n=st.integers(min_value=-60, max_value=60),
)
@settings(max_examples=150, deadline=None)
def test_add_and_between_are_inverse(cal, start, n):
    result = cal.add_working_days(start, n)
    assert cal.is_working_day(result)
    if n > 0:
        assert cal.working_days_between(start, result) == n
    elif n < 0:
        # (result, start] holds the |n| - 1 working days in between, plus start if working
        assert cal.working_days_between(result, start) == -n - 1 + cal.is_working_day(start)
    else:
        assert result == cal.next_working_day(start)
        assert cal.working_days_between(start, result) == (0 if result == start else 1)


@given(
    start=st.dates(min_value=date(2024, 6, 1), max_value=date(2027, 6, 30)),
    n=st.integers(min_value=-60, max_value=60),
)
@settings(max_examples=150, deadline=None)
def test_arithmetic_is_the_librarys_own(cal, start, n):
    library = cal.holidays
    assert cal.is_working_day(start) == library.is_working_day(start)
    assert cal.add_working_days(start, n) == library.get_nth_working_day(start, n)
    end = start + timedelta(days=abs(n) * 2)
    assert cal.working_days_between(start, end) == (
        library.get_working_days_count(start, end) - library.is_working_day(start)
    )


def test_override_file_is_laid_over_the_library(tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    library = WorkingCalendar.from_settings(path).holidays
    assert not library.is_working_day(d("2027-02-05"))  # a Friday the file gives off
    assert library.is_working_day(d("2027-02-13"))  # a Saturday the file makes a working day
    assert library.get_nth_working_day(d("2027-02-04"), 1) == d("2027-02-12")


# ---------------------------------------------------------- override file


def test_shipped_overrides_file_loads_and_is_only_an_example():
    assert DEFAULT_OVERRIDES_PATH.exists()
    text = DEFAULT_OVERRIDES_PATH.read_text(encoding="utf-8")
    assert "years:" in text  # documents the format
    WorkingCalendar()  # default path parses
    WorkingCalendar.from_settings(None)


SCHEDULE_2027 = """\
# illustrative 2027 schedule
years: [2027]
holidays:
  - 2027-01-01
  - 2027-02-05..2027-02-11
  - 2027-05-01..2027-05-03
workdays:
  - 2027-02-13   # Saturday 调休上班
  - 2027-05-08   # Saturday
"""


def test_override_adds_2027_schedule(tmp_path, caplog):
    path = tmp_path / "overrides.yaml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    cal = WorkingCalendar.from_settings(path)
    assert cal.has_official_schedule(2027)
    caplog.set_level(logging.WARNING, logger="steward.workdays")
    assert not cal.is_working_day(d("2027-02-05"))  # Friday off
    assert not cal.is_working_day(d("2027-02-11"))  # Thursday off
    assert cal.is_working_day(d("2027-02-12"))  # Friday back
    assert cal.is_working_day(d("2027-02-13"))  # make-up Saturday
    assert cal.add_working_days(d("2027-02-04"), 1) == d("2027-02-12")
    # A declared year is the file's schedule: the library's *estimated* in-lieu day
    # for Labour Day (Tue May 4, 2027) is not added on top.
    assert not cal.is_working_day(d("2027-05-03"))
    assert cal.is_working_day(d("2027-05-04"))
    assert cal.is_working_day(d("2027-05-08"))
    assert not [r for r in caplog.records if r.name == "steward.workdays"]
    # 2026 still comes from the library
    assert cal.is_working_day(d("2026-02-14"))


def test_override_can_correct_a_library_year(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("holidays: [2026-03-02]\nworkdays: 2026-02-15\n", encoding="utf-8")
    cal = WorkingCalendar(overrides_path=path)
    assert not cal.is_working_day(d("2026-03-02"))
    assert cal.is_working_day(d("2026-02-15"))


def _error_for(tmp_path: Path, text: str) -> CalendarConfigError:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarConfigError) as info:
        WorkingCalendar(overrides_path=path)
    err = info.value
    assert err.path == path
    assert str(path) in str(err)
    return err


def test_broken_yaml_names_file_and_line(tmp_path):
    err = _error_for(tmp_path, "years: [2027]\nholidays: [2027-01-01\nworkdays: []\n")
    assert err.line is not None and err.line >= 2
    assert f"broken.yaml:{err.line}:" in str(err)


def test_bad_date_names_line(tmp_path):
    err = _error_for(tmp_path, "years: [2027]\nholidays:\n  - 2027-01-01\n  - 2027-02-30\n")
    assert err.line == 4
    assert "2027-02-30" in str(err) and "broken.yaml:4:" in str(err)


def test_unknown_key_and_bad_year(tmp_path):
    err = _error_for(tmp_path, "years: [2027]\nholiday: [2027-01-01]\n")
    assert err.line == 2 and "holiday" in err.problem
    err = _error_for(tmp_path, "years: [twenty]\n")
    assert err.line == 1 and "twenty" in err.problem


def test_date_outside_declared_years(tmp_path):
    err = _error_for(tmp_path, "years: [2027]\nworkdays:\n  - 2028-01-08\n")
    assert err.line == 3 and "2028" in err.problem


def test_date_in_both_lists(tmp_path):
    err = _error_for(tmp_path, "years: [2027]\nholidays: [2027-02-06]\nworkdays:\n  - 2027-02-06\n")
    assert err.line == 4 and "2027-02-06" in err.problem


def test_not_a_mapping_and_missing_file(tmp_path):
    err = _error_for(tmp_path, "- 2027-01-01\n")
    assert err.line == 1
    with pytest.raises(CalendarConfigError, match="not found"):
        WorkingCalendar(overrides_path=tmp_path / "nope.yaml")


def test_warning_once_per_year_without_schedule(empty_overrides, caplog):
    cal = WorkingCalendar(overrides_path=empty_overrides)
    caplog.set_level(logging.WARNING, logger="steward.workdays")
    cal.is_working_day(date(2026, 5, 6))  # official: no warning
    assert not caplog.records
    assert cal.is_working_day(date(NO_SCHEDULE_YEAR, 3, 1)) is True  # Friday
    cal.is_working_day(date(NO_SCHEDULE_YEAR, 3, 2))
    cal.add_working_days(date(NO_SCHEDULE_YEAR, 3, 1), 10)
    records = [r for r in caplog.records if r.name == "steward.workdays"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert str(NO_SCHEDULE_YEAR) in records[0].getMessage()
    # Fallback: weekends + the library's statutory holidays.
    assert not cal.is_working_day(date(NO_SCHEDULE_YEAR, 3, 2))  # Saturday
    assert not cal.is_working_day(date(NO_SCHEDULE_YEAR, 10, 1))  # National Day
    cal.is_working_day(date(NO_SCHEDULE_YEAR + 1, 3, 3))
    assert len([r for r in caplog.records if r.name == "steward.workdays"]) == 2


# ----------------------------------------------------------- business hours


def test_parse_and_errors(cal):
    hours = BusinessHours.parse(" 13:30-17:30 , 09:00-12:00 ", calendar=cal, tz=SH)
    assert hours.spec == "09:00-12:00,13:30-17:30"
    assert BusinessHours.parse("24x7", calendar=cal, tz=SH).always_open
    for bad, part in [
        ("09:00-12:00,13:30-25:00", "25:00"),
        ("09:00-12:00,", "empty period"),
        ("0900-1200", "0900-1200"),
        ("12:00-09:00", "12:00-09:00"),
        ("09:00-12:00,11:00-13:00", "overlap"),
        ("9:60-10:00", "9:60"),
        ("", "expected periods"),
    ]:
        with pytest.raises(ValueError, match=part):
            BusinessHours.parse(bad, calendar=cal, tz=SH)


def test_naive_datetime_rejected(bh):
    naive = datetime(2026, 3, 5, 10, 0)
    for call in (
        lambda: bh.is_open(naive),
        lambda: bh.next_open(naive),
        lambda: bh.add_minutes(naive, 30),
        lambda: bh.minutes_between(naive, sh("2026-03-05T11:00")),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()
    with pytest.raises(ValueError):
        bh.add_minutes(sh("2026-03-05T10:00"), -1)


def test_is_open_and_next_open(bh):
    assert bh.is_open(sh("2026-03-05T09:00"))
    assert bh.is_open(sh("2026-03-05T11:59:59"))
    assert not bh.is_open(sh("2026-03-05T12:00"))
    assert not bh.is_open(sh("2026-03-05T13:00"))
    assert not bh.is_open(sh("2026-03-07T10:00"))  # Saturday
    assert not bh.is_open(sh("2026-02-18T10:00"))  # Spring Festival
    assert bh.is_open(sh("2026-02-14T10:00"))  # make-up Saturday
    assert bh.next_open(sh("2026-03-05T10:15")) == sh("2026-03-05T10:15")
    assert bh.next_open(sh("2026-03-05T12:00")) == sh("2026-03-05T13:30")
    assert bh.next_open(sh("2026-02-14T18:00")) == sh("2026-02-24T09:00")
    # other time zone in, Shanghai out: 02:00 UTC = 10:00 Shanghai
    at = datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc)
    assert bh.is_open(at)
    assert bh.next_open(at).tzinfo == SH and bh.next_open(at) == sh("2026-03-05T10:00")


def test_lunch_break(bh):
    assert bh.add_minutes(sh("2026-03-05T11:50"), 30) == sh("2026-03-05T13:50")
    assert bh.add_minutes(sh("2026-03-05T11:30"), 30) == sh("2026-03-05T12:00")
    assert bh.add_minutes(sh("2026-03-05T12:30"), 30) == sh("2026-03-05T14:00")


def test_friday_evening_plain_week(bh):
    # Friday 2026-03-06, next Monday is an ordinary working day
    due = bh.add_minutes(sh("2026-03-06T19:00"), 30)
    assert due == sh("2026-03-09T09:30")
    assert due.tzinfo == SH


def test_friday_evening_before_make_up_saturday(bh):
    # Fri Feb 13 -> make-up Saturday Feb 14; Fri Oct 9 -> make-up Saturday Oct 10
    assert bh.add_minutes(sh("2026-02-13T19:00"), 30) == sh("2026-02-14T09:30")
    assert bh.add_minutes(sh("2026-10-09T19:00"), 30) == sh("2026-10-10T09:30")


def test_last_day_before_spring_festival(bh):
    # Sat Feb 14 is the last working day; 10 minutes left that day, 20 after the holiday
    assert bh.add_minutes(sh("2026-02-14T17:20"), 30) == sh("2026-02-24T09:20")
    assert bh.minutes_between(sh("2026-02-14T17:20"), sh("2026-02-24T09:20")) == 30


def test_make_up_sunday_counts(bh):
    # Sat Sep 19 is off, Sun Sep 20 is a make-up working day
    assert bh.add_minutes(sh("2026-09-19T10:00"), 30) == sh("2026-09-20T09:30")
    assert bh.add_minutes(sh("2026-01-03T16:00"), 30) == sh("2026-01-04T09:30")


def test_national_day_holiday_jump(bh):
    # Wed Sep 30 17:20 -> 10 min, then Thu Oct 8
    assert bh.add_minutes(sh("2026-09-30T17:20"), 30) == sh("2026-10-08T09:20")
    # a 7-hour day: 7 working days of minutes from Sep 30 09:00
    assert bh.add_minutes(sh("2026-09-30T09:00"), 7 * 60 * 3) == sh("2026-10-09T17:30")


def test_decimal_minutes(bh):
    assert bh.add_minutes(sh("2026-03-05T11:59:45"), 0.5) == sh("2026-03-05T13:30:15")
    assert bh.minutes_between(sh("2026-03-05T11:59:45"), sh("2026-03-05T13:30:15")) == 0.5
    assert bh.add_minutes(sh("2026-03-06T19:00"), 0) == sh("2026-03-06T19:00")


def test_minutes_between_basics(bh):
    assert bh.minutes_between(sh("2026-03-05T09:00"), sh("2026-03-05T17:30")) == 420
    assert bh.minutes_between(sh("2026-03-05T12:00"), sh("2026-03-05T11:00")) == 0
    assert bh.minutes_between(sh("2026-02-14T17:30"), sh("2026-02-23T23:00")) == 0


def test_24x7(cal):
    always = BusinessHours.parse("24x7", calendar=cal, tz=SH)
    assert always.is_open(sh("2026-02-18T03:00"))  # holiday, night
    assert always.add_minutes(sh("2026-03-06T19:00"), 30) == sh("2026-03-06T19:30")
    assert always.add_minutes(sh("2026-02-14T17:20"), 30) == sh("2026-02-14T17:50")
    assert always.minutes_between(sh("2026-02-15T00:00"), sh("2026-02-16T00:00")) == 1440
    assert always.next_open(sh("2026-02-18T03:00")) == sh("2026-02-18T03:00")


def test_about_a_year_of_business_hours(bh):
    far = bh.add_minutes(sh("2026-01-05T09:00"), 250 * 420)  # about a year of hours
    assert bh.minutes_between(sh("2026-01-05T09:00"), far) == 250 * 420


_ZONES = st.sampled_from([SH, ZoneInfo("UTC"), ZoneInfo("America/New_York")])


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2026, 12, 31, 23, 59, 59),
        timezones=_ZONES,
    ),
    minutes=st.one_of(
        st.integers(min_value=0, max_value=3000),
        st.floats(min_value=0, max_value=3000, allow_nan=False, allow_infinity=False),
    ),
)
@settings(max_examples=300, deadline=None)
def test_minutes_between_inverts_add_minutes(bh, start, minutes):
    due = bh.add_minutes(start, minutes)
    assert due >= start
    assert due.tzinfo == SH
    assert bh.minutes_between(start, due) == pytest.approx(minutes, abs=1e-6)
    if timedelta(minutes=minutes) > timedelta(0):  # not rounded away below 1 µs
        # the deadline is inside a period or at its close, never in a gap
        just_before = due - timedelta(microseconds=1)
        assert bh.is_open(just_before)


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH)),
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
)
@settings(max_examples=150, deadline=None)
def test_add_minutes_of_minutes_between_reaches_end(bh, start, span):
    end = start + span
    used = bh.minutes_between(start, end)
    back = bh.add_minutes(start, used)
    assert back <= end + timedelta(microseconds=1)
    # everything between `back` and `end` is closed time
    assert bh.minutes_between(back, end) == pytest.approx(0, abs=1e-6)
