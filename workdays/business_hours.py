"""Business-hours arithmetic on top of the working-day calendar.

A spec is either a comma-separated list of daily periods on working days,
``"09:00-12:00,13:30-17:30"``, or ``"24x7"`` (calendar ignored, every minute
counts). Periods are half-open: open at 09:00, closed at 12:00 sharp.

Durations are real elapsed time (computed in UTC), so a DST change inside a
period (not an issue for Asia/Shanghai) counts the minutes that actually pass.
All inputs must be timezone-aware; results are aware datetimes in ``tz``.
Arithmetic walks working days one at a time and periods as a whole (never
minute by minute), so a long holiday costs a handful of set look-ups.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from workdays.calendar import WorkingCalendar

__all__ = ["DEFAULT_BUSINESS_HOURS", "DEFAULT_TZ", "BusinessHours"]

DEFAULT_BUSINESS_HOURS = "09:00-12:00,13:30-17:30"
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

_ALWAYS = "24x7"
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_UTC = timezone.utc


def _parse_clock(text: str, spec: str, part: str) -> int:
    match = _TIME_RE.match(text.strip())
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if (hours < 24 and minutes < 60) or (hours == 24 and minutes == 0):
            return hours * 60 + minutes
    raise ValueError(
        f"invalid business hours {spec!r}: in period {part!r}, {text.strip()!r} "
        f"is not a time of day (expected HH:MM between 00:00 and 24:00)"
    )


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class BusinessHours:
    """Opening periods on working days, or always open (24x7)."""

    def __init__(
        self,
        periods: tuple[tuple[int, int], ...] | None,
        *,
        calendar: WorkingCalendar,
        tz: tzinfo | str = DEFAULT_TZ,
    ) -> None:
        """``periods``: sorted, non-overlapping (start, end) minutes of the day
        (0-1440), or ``None`` for 24x7. Prefer :meth:`parse`."""
        self.calendar = calendar
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._periods = None if periods is None else tuple(periods)

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        calendar: WorkingCalendar,
        tz: tzinfo | str = DEFAULT_TZ,
    ) -> BusinessHours:
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(
                f"invalid business hours {spec!r}: expected periods like {DEFAULT_BUSINESS_HOURS!r} or {_ALWAYS!r}"
            )
        if spec.strip().lower() == _ALWAYS:
            return cls(None, calendar=calendar, tz=tz)
        periods: list[tuple[int, int, str]] = []
        for part in spec.split(","):
            if not part.strip():
                raise ValueError(f"invalid business hours {spec!r}: empty period (stray comma?)")
            if part.count("-") != 1:
                raise ValueError(
                    f"invalid business hours {spec!r}: period {part.strip()!r} must be START-END, e.g. '09:00-12:00'"
                )
            start_text, end_text = part.split("-")
            start = _parse_clock(start_text, spec, part.strip())
            end = _parse_clock(end_text, spec, part.strip())
            if end <= start:
                raise ValueError(
                    f"invalid business hours {spec!r}: period {part.strip()!r} "
                    f"ends before it starts (periods cannot cross midnight)"
                )
            periods.append((start, end, part.strip()))
        periods.sort()
        merged: list[tuple[int, int]] = []
        previous_part = ""
        for start, end, part in periods:
            if merged and start < merged[-1][1]:
                raise ValueError(f"invalid business hours {spec!r}: periods {previous_part!r} and {part!r} overlap")
            if merged and start == merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
            previous_part = part
        return cls(tuple(merged), calendar=calendar, tz=tz)

    # ------------------------------------------------------------- properties

    @property
    def always_open(self) -> bool:
        return self._periods is None

    @property
    def periods(self) -> tuple[tuple[int, int], ...] | None:
        """(start, end) minutes of the day, or ``None`` for 24x7."""
        return self._periods

    @property
    def spec(self) -> str:
        if self._periods is None:
            return _ALWAYS
        return ",".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in self._periods)

    def __repr__(self) -> str:
        return f"BusinessHours({self.spec!r}, tz={self.tz!s})"

    # ----------------------------------------------------------------- public

    def is_open(self, at: datetime) -> bool:
        at_utc = self._to_utc(at, "at")
        if self._periods is None:
            return True
        day = at_utc.astimezone(self.tz).date()
        if not self.calendar.is_working_day(day):
            return False
        return any(s <= at_utc < e for s, e in self._day_periods(day))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in tz) if open, else the start of the next period."""
        at_utc = self._to_utc(at, "at")
        if self._periods is None:
            return at_utc.astimezone(self.tz)
        for start, _end in self._intervals_from(at_utc):
            return start.astimezone(self.tz)
        raise AssertionError("unreachable")  # pragma: no cover

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The first moment at which ``minutes`` business minutes have passed
        since ``start``. The result may be a period's closing time (11:30 + 30
        minutes is 12:00, not 13:30). ``minutes == 0`` returns ``start``."""
        start_utc = self._to_utc(start, "start")
        remaining = timedelta(minutes=_minutes(minutes))
        if self._periods is None or not remaining:
            return (start_utc + remaining).astimezone(self.tz)
        for s, e in self._intervals_from(start_utc):
            length = e - s
            if remaining <= length:
                return (s + remaining).astimezone(self.tz)
            remaining -= length
        raise AssertionError("unreachable")  # pragma: no cover

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in ``[start, end]``; 0 if ``end <= start``."""
        start_utc = self._to_utc(start, "start")
        end_utc = self._to_utc(end, "end")
        if end_utc <= start_utc:
            return 0.0
        if self._periods is None:
            return (end_utc - start_utc) / timedelta(minutes=1)
        total = timedelta(0)
        for s, e in self._intervals_from(start_utc):
            if s >= end_utc:
                break
            total += min(e, end_utc) - s
        return total / timedelta(minutes=1)

    # --------------------------------------------------------------- internal

    def _to_utc(self, value: datetime, name: str) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
        return value.astimezone(_UTC)

    def _day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The periods of one local day as UTC instants (calendar not checked)."""
        assert self._periods is not None
        out = []
        for s, e in self._periods:
            start = datetime(day.year, day.month, day.day, s // 60, s % 60, tzinfo=self.tz)
            if e == 24 * 60:
                nxt = day + timedelta(days=1)
                end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz)
            else:
                end = datetime(day.year, day.month, day.day, e // 60, e % 60, tzinfo=self.tz)
            out.append((start.astimezone(_UTC), end.astimezone(_UTC)))
        return out

    def _intervals_from(self, at_utc: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC) from ``at_utc`` on, the first one clipped to it.
        Skips non-working days through the calendar, a day at a time."""
        day = self.calendar.next_working_day(at_utc.astimezone(self.tz).date())
        while True:
            for s, e in self._day_periods(day):
                if e <= at_utc:
                    continue
                yield (max(s, at_utc), e)
            day = self.calendar.add_working_days(day, 1)


def _minutes(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"minutes must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"minutes must be a finite number >= 0, got {value!r}")
    return number
