"""The long format of a ledger file: one row per procedure, these columns.

The Chinese headers are the file format (the template, the export, what the importer reads),
not wording for review, so they live here beside their English aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.procedures import normalize_label


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    header: str  # canonical Chinese header
    aliases: tuple[str, ...]
    required: bool  # the header must be present
    max_length: int = 0  # for text fields, 0 = not text / no limit


COLUMNS: tuple[Column, ...] = (
    Column("code", "项目代码", ("code", "project_code", "项目编码"), True, 64),
    Column("name", "项目名称", ("name", "project_name"), True, 200),
    Column("enterprise", "建设单位", ("enterprise", "项目单位", "业主单位"), False, 200),
    Column("region", "旗县区", ("region", "地区", "所在地区", "旗区"), True, 64),
    Column("sector", "领域", ("sector", "行业领域", "所属领域"), True, 64),
    Column("investment", "总投资(亿元)", ("investment", "investment_yi", "总投资"), True),
    Column("start", "计划开工", ("start", "planned_start", "计划开工时间"), True),
    Column("steward", "项目管家", ("steward", "管家"), False, 64),
    Column("procedure", "手续", ("procedure", "item", "item_key", "手续名称", "前期手续"), True),
    Column("status", "状态", ("status", "办理状态"), True),
    Column("accepted_on", "受理日期", ("accepted_on", "accepted", "受理时间"), False),
    Column("promised_days", "承诺时限(工作日)", ("promised_days", "承诺时限", "承诺办结时限"), False),
    Column("finished_on", "办结日期", ("finished_on", "finished", "办结时间"), False),
    Column("department", "责任部门", ("department", "dept", "办理部门"), False, 100),
    Column("note", "备注", ("note", "notes", "remark"), False, 1000),
)

BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
PROJECT_FIELDS = ("name", "enterprise", "region", "sector", "investment", "start", "steward")

# Columns a ledger often carries that mean nothing to the import (row numbers).
IGNORED_HEADERS = frozenset(normalize_label(h) for h in ("序号", "编号", "no", "no.", "#"))

_LOOKUP: dict[str, str] = {}
for _column in COLUMNS:
    for _label in (_column.header, _column.field, *_column.aliases):
        _LOOKUP[normalize_label(_label)] = _column.field


def resolve_header(text: str) -> str | None:
    """The field a header names; None if unknown."""
    return _LOOKUP.get(normalize_label(text))


# The template's example row; an import refuses a row that still carries its project name.
EXAMPLE_ROW: dict[str, object] = {
    "code": "2026-150100-00-01-000001",
    "name": "示例：某某新材料产业园项目",
    "enterprise": "某某新材料有限公司",
    "region": "某某区",
    "sector": "工业",
    "investment": 12.5,
    "start": "2026上半年",
    "steward": "张三",
    "procedure": "环评",
    "status": "办理中",
    "accepted_on": date(2026, 2, 10),
    "promised_days": 20,
    "finished_on": None,
    "department": "生态环境局",
    "note": "示例行：请改写成真实项目或删除，原样导入会被拒绝",
}
