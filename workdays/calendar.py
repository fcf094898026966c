"""The Chinese working-day calendar (工作日).

A day is a working day when it is Monday-Friday and not a holiday, or when it
is a make-up working day (调休上班) on a weekend.

Sources, in order of precedence:

1. the operator override file (YAML, see ``data/overrides.yaml``): its
   ``workdays`` are working days and its ``holidays`` are days off, whatever
   the library says;
2. the ``holidays`` library (``holidays.China``): statutory holidays, the
   State Council day swaps (substituted days off + ``weekend_workdays``) for
   the years whose official schedule it carries, and its own estimate of
   in-lieu days (补假, "observed") for other years;
3. weekends (Saturday, Sunday) off.

Years with an *official schedule* are those the library carries the State
Council notice for (read from ``holidays.China.special_public_holidays``;
2001-2026 with holidays 0.109) plus the ``years`` of the override file. For a
year declared only by the override file, the library contributes just the
statutory holidays (no estimated in-lieu days): the file is the schedule.
For a year with no official schedule, a warning is logged once per year per
calendar and the fallback is weekends + the library's holidays (statutory
days and its estimated in-lieu days).
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from threading import Lock

import holidays
import yaml

from workdays.errors import CalendarConfigError

__all__ = ["DEFAULT_OVERRIDES_PATH", "WorkingCalendar"]

logger = logging.getLogger("steward.workdays")

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "data" / "overrides.yaml"

_MIN_YEAR = date.min.year
_MAX_YEAR = date.max.year


def _library_official_years() -> frozenset[int]:
    """Years for which holidays.China carries the State Council schedule.

    The library keeps the notices' day swaps in ``special_public_holidays``
    keyed by year; every year from the first to the last key has one. This
    is a documented-by-source attribute, not a stable public API: if it
    disappears no year is considered official (warnings, never wrong days).
    """
    special = getattr(holidays.China(), "special_public_holidays", None)
    if not isinstance(special, dict) or not special:
        return frozenset()
    years = [y for y in special if isinstance(y, int)]
    if not years:
        return frozenset()
    return frozenset(range(min(years), max(years) + 1))


@dataclass(frozen=True)
class _Overrides:
    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    lines: dict[tuple[str, date], int] = field(default_factory=dict, compare=False)


@dataclass
class _YearTable:
    on: frozenset[date]  # weekend days that are working days
    off: frozenset[date]  # weekdays (or any day) that are days off
    working: list[int] = field(default_factory=list)  # sorted ordinals of working days


class WorkingCalendar:
    """Chinese working days: weekends off, statutory holidays off, 调休 on."""

    def __init__(self, *, overrides_path: Path | str | None = None) -> None:
        """``overrides_path=None`` reads the shipped default file
        (``workdays/data/overrides.yaml``) if it exists. An explicit path must
        exist. An invalid file raises :class:`CalendarConfigError`."""
        if overrides_path is None:
            path = DEFAULT_OVERRIDES_PATH
            self._overrides = _load_overrides(path) if path.exists() else _Overrides()
        else:
            path = Path(overrides_path)
            if not path.exists():
                raise CalendarConfigError(path, None, "override file not found")
            self._overrides = _load_overrides(path)
        self.overrides_path: Path | None = path
        self._library_years = _library_official_years()
        self._check_override_years(path)
        self._lib = holidays.China()
        self._lib_statutory = holidays.China(observed=False)
        self._tables: dict[int, _YearTable] = {}
        self._warned: set[int] = set()
        self._lock = Lock()

    @classmethod
    def from_settings(cls, overrides_path: Path | str | None) -> WorkingCalendar:
        """Build from the configured override path (``None``: shipped default)."""
        return cls(overrides_path=overrides_path)

    # ------------------------------------------------------------------ public

    @property
    def library_official_years(self) -> frozenset[int]:
        """Years the installed holidays library has an official schedule for."""
        return self._library_years

    def has_official_schedule(self, year: int) -> bool:
        return year in self._library_years or year in self._overrides.years

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        table = self._table(day.year)
        if day in table.on:
            return True
        if day in table.off:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next working day."""
        day = _as_date(day)
        if self.is_working_day(day):
            return day
        return self.add_working_days(day, 1)

    def add_working_days(self, start: date, days: int) -> date:
        """The date that is ``days`` working days after ``start``.

        ``start`` itself is never counted, whether or not it is a working day
        (a 2-working-day limit from Friday lands on Tuesday in a plain week).
        ``days == 0`` returns ``start`` if it is a working day, else the next
        working day. Negative ``days`` go backwards: the date that is
        ``-days`` working days before ``start``.
        """
        start = _as_date(start)
        if isinstance(days, bool) or int(days) != days:
            raise ValueError(f"days must be a whole number, got {days!r}")
        days = int(days)
        if days == 0:
            return self.next_working_day(start)
        ordinal = start.toordinal()
        year = start.year
        if days > 0:
            remaining = days
            working = self._table(year).working
            idx = bisect_right(working, ordinal)
            while idx + remaining > len(working):
                remaining -= len(working) - idx
                year = _next_year(year, 1)
                working = self._table(year).working
                idx = 0
            return date.fromordinal(working[idx + remaining - 1])
        remaining = -days
        working = self._table(year).working
        idx = bisect_left(working, ordinal)  # working days strictly before start
        while remaining > idx:
            remaining -= idx
            year = _next_year(year, -1)
            working = self._table(year).working
            idx = len(working)
        return date.fromordinal(working[idx - remaining])

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in ``(start, end]``; negative if end < start
        (``-working_days_between(end, start)``). So
        ``working_days_between(d, add_working_days(d, n)) == n`` for n >= 1."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        a, b = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            working = self._table(year).working
            lo = bisect_right(working, a) if year == start.year else 0
            hi = bisect_right(working, b) if year == end.year else len(working)
            total += hi - lo
        return total

    # ---------------------------------------------------------------- internal

    def _check_override_years(self, path: Path) -> None:
        allowed = self._overrides.years | self._library_years
        for kind, dates in (("holidays", self._overrides.holidays),
                            ("workdays", self._overrides.workdays)):
            for d in sorted(dates):
                if d.year not in allowed:
                    line = self._overrides.lines.get((kind, d))
                    raise CalendarConfigError(
                        path, line,
                        f"{kind}: {d.isoformat()} is in {d.year}, which is neither listed "
                        f"in `years` nor covered by the holidays library "
                        f"({_years_text(self._library_years)})",
                    )

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is not None:
            return table
        with self._lock:
            table = self._tables.get(year)
            if table is None:
                table = self._build_table(year)
                self._tables[year] = table
            return table

    def _build_table(self, year: int) -> _YearTable:
        declared = year in self._overrides.years
        official_lib = year in self._library_years
        if not declared and not official_lib and year not in self._warned:
            self._warned.add(year)
            logger.warning(
                "no official holiday schedule for %d (holidays library covers %s; "
                "override file %s declares %s): counting weekends and statutory "
                "holidays only - add the State Council schedule to the override file",
                year, _years_text(self._library_years), self.overrides_path,
                _years_text(self._overrides.years),
            )
        lib = self._lib if (official_lib or not declared) else self._lib_statutory
        # Populate the neighbours too: day swaps may cross the year boundary.
        for y in (year - 1, year, year + 1):
            if _MIN_YEAR <= y <= _MAX_YEAR:
                lib.get(date(y, 1, 1))
        lib_off = {d for d in lib if d.year == year}
        lib_on = {d for d in lib.weekend_workdays if d.year == year}
        file_off = {d for d in self._overrides.holidays if d.year == year}
        file_on = {d for d in self._overrides.workdays if d.year == year}
        on = frozenset((lib_on - file_off) | file_on)
        off = frozenset((lib_off - file_on) | file_off)

        working: list[int] = []
        d = date(year, 1, 1)
        one = timedelta(days=1)
        while d.year == year:
            if d in on or (d not in off and d.weekday() < 5):
                working.append(d.toordinal())
            if d == date.max:
                break
            d += one
        return _YearTable(on=on, off=off, working=working)

def _next_year(year: int, step: int) -> int:
    year += step
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise OverflowError("working-day arithmetic left the supported date range")
    return year


def _as_date(value: date) -> date:
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    # A datetime is a date subclass: use its calendar date.
    return date(value.year, value.month, value.day)


def _years_text(years: frozenset[int] | set[int]) -> str:
    if not years:
        return "no years"
    ys = sorted(years)
    if ys == list(range(ys[0], ys[-1] + 1)) and len(ys) > 2:
        return f"{ys[0]}-{ys[-1]}"
    return ", ".join(str(y) for y in ys)


# ------------------------------------------------------------- override file

_ALLOWED_KEYS = ("years", "holidays", "workdays")


def _load_overrides(path: Path) -> _Overrides:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarConfigError(path, None, f"cannot read override file: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise CalendarConfigError(path, line, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise CalendarConfigError(path, None, f"invalid YAML: {exc}") from exc

    if root is None:  # empty or comments only
        return _Overrides()

    def fail(node: yaml.Node | None, problem: str) -> CalendarConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return CalendarConfigError(path, line, problem)

    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "the override file must be a mapping with keys "
                         "`years`, `holidays`, `workdays`")

    years: dict[int, int] = {}
    lines: dict[tuple[str, date], int] = {}
    dates: dict[str, dict[date, int]] = {"holidays": {}, "workdays": {}}
    seen: set[str] = set()
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _ALLOWED_KEYS:
            raise fail(key_node, f"unknown key {key!r} (expected one of: {', '.join(_ALLOWED_KEYS)})")
        if key in seen:
            raise fail(key_node, f"duplicate key {key!r}")
        seen.add(key)
        items = _sequence_items(value_node, key, fail)
        if key == "years":
            for node in items:
                year = _parse_year(node, fail)
                years[year] = node.start_mark.line + 1
        else:
            for node in items:
                for d in _parse_dates(node, key, fail):
                    dates[key].setdefault(d, node.start_mark.line + 1)

    both = sorted(set(dates["holidays"]) & set(dates["workdays"]))
    if both:
        d = both[0]
        raise CalendarConfigError(
            path, dates["workdays"][d],
            f"workdays: {d.isoformat()} is also listed in holidays "
            f"(line {dates['holidays'][d]}); a day is either off or a working day",
        )
    for kind, mapping in dates.items():
        for d, line in mapping.items():
            lines[(kind, d)] = line

    return _Overrides(
        years=frozenset(years),
        holidays=frozenset(dates["holidays"]),
        workdays=frozenset(dates["workdays"]),
        lines=lines,
    )


def _sequence_items(node: yaml.Node, key: str, fail) -> list[yaml.Node]:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null" or node.value == "":
            return []
        return [node]  # a single value is accepted as a one-item list
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise fail(item, f"{key}: expected a plain value, got a nested "
                                 f"{'list' if isinstance(item, yaml.SequenceNode) else 'mapping'}")
        return list(node.value)
    raise fail(node, f"{key}: expected a list, got a mapping")


def _parse_year(node: yaml.ScalarNode, fail) -> int:
    text = node.value.strip()
    if not text.isdigit() or len(text) != 4:
        raise fail(node, f"years: {node.value!r} is not a year (expected e.g. 2027)")
    return int(text)


def _parse_one_date(node: yaml.ScalarNode, key: str, text: str, fail) -> date:
    text = text.strip()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise fail(node, f"{key}: {text!r} is not a date (expected YYYY-MM-DD)") from None


def _parse_dates(node: yaml.ScalarNode, key: str, fail) -> list[date]:
    text = node.value
    if ".." in text:
        first_text, _, last_text = text.partition("..")
        first = _parse_one_date(node, key, first_text, fail)
        last = _parse_one_date(node, key, last_text, fail)
        if last < first:
            raise fail(node, f"{key}: range {text!r} ends before it starts")
        if (last - first).days > 366:
            raise fail(node, f"{key}: range {text!r} is longer than a year")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [_parse_one_date(node, key, text, fail)]
