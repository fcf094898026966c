"""Shared helpers of the ledger tests: real files, real databases."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from ledger.columns import HEADERS
from ledger.models import Project

BASE = {
    "项目代码": "P001",
    "项目名称": "新材料产业园",
    "建设单位": "甲公司",
    "旗县区": "新城区",
    "领域": "工业",
    "总投资(亿元)": 12.5,
    "计划开工": "2026上半年",
    "项目管家": "张三",
    "手续": "环评",
    "状态": "办理中",
    "受理日期": "2026-02-10",
    "承诺时限(工作日)": 20,
    "办结日期": None,
    "责任部门": None,
    "备注": None,
}


def base_project(**changes: Any) -> Project:
    """The project of BASE (P001, 新材料产业园 in 新城区, 2026上半年) as a ledger row of its own;
    keyword changes override its fields."""
    fields: dict[str, Any] = {
        "code": BASE["项目代码"],
        "name": BASE["项目名称"],
        "region": BASE["旗县区"],
        "sector": BASE["领域"],
        "investment_yi": Decimal(str(BASE["总投资(亿元)"])),
        "start_half": 1,
        "start_year": 2026,
    }
    return Project(**{**fields, **changes})


def ledger_row(**changes: object) -> list[object]:
    """One row in header order; keyword names are the Chinese headers with 总投资/承诺时限
    shortened: investment=, days= also accepted."""
    values = dict(BASE)
    aliases = {"investment": "总投资(亿元)", "days": "承诺时限(工作日)"}
    for key, value in changes.items():
        values[aliases.get(key, key)] = value
    return [values[h] for h in HEADERS]


def write_xlsx(
    path: Path, rows: list[list[object]], header: list[str] | None = None, *, formulas: bool = False
) -> Path:
    """An .xlsx of `rows` under `header`. Text starting with "=" is a text cell, as Excel keeps a
    cell formatted as text; with `formulas` it is a formula openpyxl writes without a value."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header or HEADERS))
    for row in rows:
        sheet.append(row)
        if not formulas:
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    workbook.save(path)
    return path


def write_csv(
    path: Path, rows: list[list[object]], *, encoding: str = "utf-8", header: list[str] | None = None
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(header or HEADERS))
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path
