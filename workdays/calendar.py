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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from threading import Lock

import holidays
import yaml
from holidays.countries import China

from workdays.errors import CalendarConfigError

__all__ = ["DEFAULT_OVERRIDES_PATH", "WorkingCalendar"]

logger = logging.getLogger("steward.workdays")

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "data" / "overrides.yaml"

_MIN_YEAR = date.min.year
_MAX_YEAR = date.max.year
_OVERRIDE_NAME = "override file"


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


class _ChinaWithOverrides(China):
    """holidays.China with the override file laid over every year it populates.

    The library's own working-day functions (``is_working_day``, ``get_nth_working_day``,
    ``get_working_days_count``) then read the corrected days: the file's ``holidays`` are
    days off, its ``workdays`` are working days (``weekend_workdays`` for a weekend). For a
    year only the file declares, the library's estimated in-lieu days are dropped first.
    """

    def __init__(self, *, overrides: _Overrides, library_years: frozenset[int]) -> None:
        self._overrides = overrides
        self._library_years = library_years
        super().__init__()

    def _populate(self, year: int) -> None:
        super()._populate(year)
        # A day swap may cross the year boundary: populate the neighbours too, then lay the
        # file over all three (laying it again is harmless).
        for neighbour in (year - 1, year + 1):
            if _MIN_YEAR <= neighbour <= _MAX_YEAR and neighbour not in self.years:
                self.years.add(neighbour)
                super()._populate(neighbour)
        for y in (year - 1, year, year + 1):
            self._lay_overrides(y)

    def _lay_overrides(self, year: int) -> None:
        files = self._overrides
        if year in files.years and year not in self._library_years:
            statutory = holidays.China(observed=False, years=year)
            for day in [d for d in self if d.year == year and d not in statutory]:
                del self[day]  # an estimated in-lieu day: the file is the schedule
        for day in files.holidays:
            if day.year == year:
                self.weekend_workdays.discard(day)
                if day not in self:
                    dict.__setitem__(self, day, _OVERRIDE_NAME)
        for day in files.workdays:
            if day.year == year:
                if dict.__contains__(self, day):
                    dict.__delitem__(self, day)
                if self._is_weekend(day):
                    self.weekend_workdays.add(day)


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
        self._warned: set[int] = set()
        self._years: dict[int, list[int]] = {}
        self._lock = Lock()  # the library populates a year on first use; handlers run in threads
        self._lib = _ChinaWithOverrides(overrides=self._overrides, library_years=self._library_years)

    @classmethod
    def from_settings(cls, overrides_path: Path | str | None) -> WorkingCalendar:
        """Build from the configured override path (``None``: shipped default)."""
        return cls(overrides_path=overrides_path)

    # ------------------------------------------------------------------ public

    @property
    def library_official_years(self) -> frozenset[int]:
        """Years the installed holidays library has an official schedule for."""
        return self._library_years

    @property
    def holidays(self) -> holidays.HolidayBase:
        """The library's China calendar with the override file laid over it: its own
        ``is_working_day``, ``get_nth_working_day`` and ``get_working_days_count`` give the
        answers of this class (which indexes ``is_working_day`` per year, because the
        library's arithmetic walks day by day: about 100 times slower on the ledger)."""
        return self._lib

    def has_official_schedule(self, year: int) -> bool:
        return year in self._library_years or year in self._overrides.years

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        working = self._working_days(day.year)
        index = bisect_left(working, day.toordinal())
        return index < len(working) and working[index] == day.toordinal()

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next working day."""
        return self.add_working_days(day, 0)

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
            return start if self.is_working_day(start) else self.add_working_days(start, 1)
        ordinal = start.toordinal()
        year = start.year
        if days > 0:
            remaining = days
            working = self._working_days(year)
            idx = bisect_right(working, ordinal)
            while idx + remaining > len(working):
                remaining -= len(working) - idx
                year = _next_year(year, 1)
                working = self._working_days(year)
                idx = 0
            return date.fromordinal(working[idx + remaining - 1])
        remaining = -days
        working = self._working_days(year)
        idx = bisect_left(working, ordinal)  # working days strictly before start
        while remaining > idx:
            remaining -= idx
            year = _next_year(year, -1)
            working = self._working_days(year)
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
            working = self._working_days(year)
            lo = bisect_right(working, a) if year == start.year else 0
            hi = bisect_right(working, b) if year == end.year else len(working)
            total += hi - lo
        return total

    # ---------------------------------------------------------------- internal

    def _working_days(self, year: int) -> list[int]:
        """The ordinals of the year's working days, sorted: the library's is_working_day
        asked once per day of the year, so the arithmetic above is a bisection."""
        working = self._years.get(year)
        if working is not None:
            return working
        self._warn_without_schedule(year, year)
        with self._lock:
            working = self._years.get(year)
            if working is None:
                first = date(year, 1, 1)
                days = (date(year, 12, 31) - first).days + 1 if year < _MAX_YEAR else (date.max - first).days + 1
                working = [
                    (first + timedelta(days=i)).toordinal()
                    for i in range(days)
                    if self._lib.is_working_day(first + timedelta(days=i))
                ]
                self._years[year] = working
            return working

    def _warn_without_schedule(self, first_year: int, last_year: int) -> None:
        """Log once per year that a year without an official schedule was used."""
        for year in range(first_year, last_year + 1):
            if not (self.has_official_schedule(year) or year in self._warned):
                self._warned.add(year)
                self._log_no_schedule(year)

    def _log_no_schedule(self, year: int) -> None:
        logger.warning(
            "no official holiday schedule for %d (holidays library covers %s; "
            "override file %s declares %s): counting weekends and statutory "
            "holidays only - add the State Council schedule to the override file",
            year,
            _years_text(self._library_years),
            self.overrides_path,
            _years_text(self._overrides.years),
        )

    def _check_override_years(self, path: Path) -> None:
        allowed = self._overrides.years | self._library_years
        for kind, dates in (("holidays", self._overrides.holidays), ("workdays", self._overrides.workdays)):
            for d in sorted(dates):
                if d.year not in allowed:
                    line = self._overrides.lines.get((kind, d))
                    raise CalendarConfigError(
                        path,
                        line,
                        f"{kind}: {d.isoformat()} is in {d.year}, which is neither listed "
                        f"in `years` nor covered by the holidays library "
                        f"({_years_text(self._library_years)})",
                    )


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
_Fail = Callable[[yaml.Node | None, str], CalendarConfigError]  # an error naming the node's line


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
        raise fail(root, "the override file must be a mapping with keys `years`, `holidays`, `workdays`")

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
            path,
            dates["workdays"][d],
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


def _sequence_items(node: yaml.Node, key: str, fail: _Fail) -> list[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null" or node.value == "":
            return []
        return [node]  # a single value is accepted as a one-item list
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise fail(
                    item,
                    f"{key}: expected a plain value, got a nested "
                    f"{'list' if isinstance(item, yaml.SequenceNode) else 'mapping'}",
                )
        return [item for item in node.value if isinstance(item, yaml.ScalarNode)]
    raise fail(node, f"{key}: expected a list, got a mapping")


def _parse_year(node: yaml.ScalarNode, fail: _Fail) -> int:
    text = node.value.strip()
    if not text.isdigit() or len(text) != 4:
        raise fail(node, f"years: {node.value!r} is not a year (expected e.g. 2027)")
    return int(text)


def _parse_one_date(node: yaml.ScalarNode, key: str, text: str, fail: _Fail) -> date:
    text = text.strip()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise fail(node, f"{key}: {text!r} is not a date (expected YYYY-MM-DD)") from None


def _parse_dates(node: yaml.ScalarNode, key: str, fail: _Fail) -> list[date]:
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
