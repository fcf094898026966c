"""Reading one cell of a ledger file into a typed value.

Each parser returns the value or raises BadCell(reason) with a RowError reason code; cells
come from openpyxl (str, int, float, datetime) or from csv (str).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

INVESTMENT_QUANTUM = Decimal("0.0001")  # the column is Numeric(14, 4)
# The largest 总投资 a project of the ledger has, in 亿元: more is a figure in 万元 (or 元) under a
# header without its unit (「总投资」), 10,000 times too large.
INVESTMENT_MOST = Decimal(5000)
# A project code typed into a number cell: Excel keeps 15 significant digits, so a longer one has
# lost its last digits already (and would import as another project).
CODE_NUMBER_LIMIT = 10**15


class BadCell(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: object) -> str:
    """Cell as trimmed text, as written (full-width punctuation in names is kept); a whole
    float from Excel (12345.0) reads as 12345."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return value.strip() if isinstance(value, str) else str(value)


def _compact(text: str) -> str:
    """Full-width to half-width, no blanks: 「２０２６年 ３月」 == "2026年3月"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: object) -> date:
    if isinstance(value, time):  # Excel's date serial 0 (or a bare time) is no date
        raise BadCell("date_is_time")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise BadCell("bad_date")
    text = _compact(value)
    match = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if not match:
        # "2026-03-05 00:00:00" from a csv exported by Excel or pandas
        head, _, tail = value.strip().partition(" ")
        if tail and re.fullmatch(r"0{1,2}:0{2}(:0{2})?", tail):
            return parse_date(head)
        raise BadCell("bad_date")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise BadCell("bad_date") from None


_HALF_RE = re.compile(r"^(\d{4})年?(上半年|下半年|上|下|h1|h2|q[12]|q[34])$")
_MONTH_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")


def _half(month: int) -> int:
    return 1 if month <= 6 else 2


def parse_start(value: object) -> tuple[int, int, date | None]:
    """计划开工 → (half 1|2, year, planned date or None). 2027上半年, 2027H2, a date, 2027年5月."""
    if isinstance(value, (date, datetime, time)):
        day = parse_date(value)
        return _half(day.month), day.year, day
    if not isinstance(value, str):
        raise BadCell("bad_start")
    text = _compact(value).lower()
    match = _HALF_RE.match(text)
    if match:
        first = match[2] in ("上半年", "上", "h1", "q1", "q2")
        return (1 if first else 2), int(match[1]), None
    match = _MONTH_RE.match(text)
    if match and 1 <= int(match[2]) <= 12:
        return _half(int(match[2])), int(match[1]), None
    try:
        day = parse_date(value)
    except BadCell:
        raise BadCell("bad_start") from None
    return _half(day.month), day.year, day


def parse_investment(value: object) -> Decimal:
    """总投资 in 亿元: 12.5, "12.5", "1,234.5", "12.5亿元"; never negative."""
    if isinstance(value, bool):
        raise BadCell("bad_number")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise BadCell("bad_number")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        text = re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", value))
        text = re.sub(r"(亿元|亿)$", "", text)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadCell("bad_number") from None
        if not number.is_finite():
            raise BadCell("bad_number")
    else:
        raise BadCell("bad_number")
    if number < 0:
        raise BadCell("negative")
    if number >= Decimal("1e10"):  # Numeric(14, 4)
        raise BadCell("bad_number")
    if number > INVESTMENT_MOST:
        raise BadCell("investment_too_large")
    return number.quantize(INVESTMENT_QUANTUM)


def project_code(text: str) -> str:
    """A project code as the ledger stores it: full-width characters folded (a full-width digit
    typed in Excel is the same code), no blanks anywhere (「2026-150100 -00」 is a typing slip)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


_DAYS_RE = re.compile(r"^(\d+)(个?工作日|天|日)?$")


def parse_days(value: object) -> int:
    """承诺时限 in working days: 5, 5.0, "5", "5个工作日"."""
    if isinstance(value, bool):
        raise BadCell("bad_days")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise BadCell("bad_days")
        number = int(value)
    elif isinstance(value, str):
        match = _DAYS_RE.match(_compact(value))
        if not match:
            raise BadCell("bad_days")
        number = int(match[1])
    else:
        raise BadCell("bad_days")
    if number < 0 or number > 3650:
        raise BadCell("bad_days")
    return number
