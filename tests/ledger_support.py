"""Shared helpers of the ledger tests: real files, real databases."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.columns import HEADERS
from storage.db import Database

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")

BASE = {
    "项目代码": "P001", "项目名称": "新材料产业园", "建设单位": "甲公司", "旗县区": "新城区",
    "领域": "工业", "总投资(亿元)": 12.5, "计划开工": "2026上半年", "项目管家": "张三",
    "手续": "环评", "状态": "办理中", "受理日期": "2026-02-10", "承诺时限(工作日)": 20,
    "办结日期": None, "责任部门": None, "备注": None,
}


def ledger_row(**changes: object) -> list[object]:
    """One row in header order; keyword names are the Chinese headers with 总投资/承诺时限
    shortened: investment=, days= also accepted."""
    values = dict(BASE)
    aliases = {"investment": "总投资(亿元)", "days": "承诺时限(工作日)"}
    for key, value in changes.items():
        values[aliases.get(key, key)] = value
    return [values[h] for h in HEADERS]


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header or HEADERS))
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], *, encoding: str = "utf-8",
              header: list[str] | None = None) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(header or HEADERS))
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def sqlite_db(tmp_path: Path, name: str = "ledger.db") -> Database:
    db = Database(f"sqlite:///{tmp_path / name}")
    db.create_all()
    return db


def postgres_reachable() -> bool:
    try:
        import psycopg

        url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=2):
            return True
    except Exception:
        return False


@contextmanager
def postgres_db() -> Iterator[Database]:
    """A Database in a schema of its own, dropped afterwards. Skips when PostgreSQL is not
    there, unless CI is set (then the test fails)."""
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL} and CI is set")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    import psycopg

    schema = f"t_ledger_{uuid.uuid4().hex[:10]}"
    admin_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    db = Database(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        db.create_all()
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
