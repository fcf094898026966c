"""The template and the export are files the importer reads back unchanged."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from ledger.columns import HEADERS
from ledger.errors import LedgerImportError
from ledger.exporter import export_ledger, write_template
from ledger.importer import import_file
from ledger.models import Procedure, Project
from tests.databases import sqlite_database
from tests.ledger_support import ledger_row, write_csv, write_xlsx


def ledger_values(db):
    """The ledger as natural keys and values (ids differ between databases)."""
    with db.session() as s:
        rows = s.execute(select(Project, Procedure).join(Procedure, Procedure.project_id == Project.id)).all()
    return sorted(
        (
            p.code,
            p.name,
            p.enterprise,
            p.region,
            p.sector,
            p.investment_yi,
            p.start_half,
            p.start_year,
            p.planned_start_date,
            p.steward,
            q.item_key,
            q.status.value,
            q.department,
            q.accepted_on,
            q.promised_days,
            q.finished_on,
            q.note,
        )
        for p, q in rows
    )


def test_template_has_headers_drop_down_and_an_example_that_is_refused_untouched(tmp_path, database):
    path = write_template(tmp_path / "template.xlsx")
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]] == list(HEADERS)
    status_letter = "ABCDEFGHIJKLMNO"[HEADERS.index("状态")]
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists[f"{status_letter}2"] == '"已办结,无需办理,办理中,未启动"'
    assert sheet.max_row == 2  # the header and one example row
    assert sheet.cell(2, HEADERS.index("状态") + 1).value == "办理中"

    db = database
    with pytest.raises(LedgerImportError) as caught:  # an untouched template adds no project
        db.call(import_file, path=path)
    assert [(e.row, e.column, e.reason) for e in caught.value.errors] == [(2, "项目名称", "example_row")]
    workbook = load_workbook(path)
    workbook.active.cell(2, HEADERS.index("项目名称") + 1, "真实的产业园项目")
    workbook.save(path)
    result = db.call(import_file, path=path)
    assert (result.projects_created, result.procedures_created) == (1, 1)


def test_template_filled_with_openpyxl_imports(tmp_path, database):
    path = write_template(tmp_path / "template.xlsx")
    workbook = load_workbook(path)
    sheet = workbook.active
    for column, value in enumerate(
        ledger_row(项目代码="NEW-1", 手续="施工许可", 状态="未启动", 受理日期=None, days=None), start=1
    ):
        sheet.cell(2, column).value = value  # the example row is overwritten, blanks too
    for column, value in enumerate(
        ledger_row(
            项目代码="NEW-1",
            手续="节能审查",
            状态="已办结",
            受理日期=date(2026, 1, 5),
            days=3,
            办结日期=date(2026, 1, 8),
        ),
        start=1,
    ):
        sheet.cell(3, column, value)
    workbook.save(path)
    db = database
    result = db.call(import_file, path=path)
    assert (result.projects_created, result.procedures_created) == (1, 2)
    with db.session() as s:
        energy = s.exec(select(Procedure).where(Procedure.item_key == "energy_review")).scalar_one()
    assert (energy.accepted_on, energy.finished_on) == (date(2026, 1, 5), date(2026, 1, 8))


def test_export_round_trip(tmp_path, database):
    rows = [
        ledger_row(手续="立项", 状态="已办结", 受理日期="2025-12-01", days=0, 办结日期="2025-12-01", 备注="即来即办"),
        ledger_row(手续="环评", 责任部门="生态环境局"),
        ledger_row(手续="土地供应/不动产权", 状态="未启动", 受理日期=None, days=None),
        ledger_row(手续="不动产权证", 状态="未启动", 受理日期=None, days=None),
        ledger_row(
            项目代码="P2",
            项目名称="数据中心",
            investment="10.0001",
            计划开工="2026-10-08",
            项目管家=None,
            建设单位=None,
            手续="核准",
            状态="无需办理",
            受理日期=None,
            days=None,
        ),
        ledger_row(
            项目代码="P3",
            项目名称="学校",
            investment=3,
            计划开工="2027下半年",
            手续="项目建议书",
            状态="办理中",
            受理日期="2027-01-04",
            days=2,
        ),
    ]
    first = database
    first.call(import_file, path=write_xlsx(tmp_path / "in.xlsx", rows))
    progress = []
    written = first.call(
        export_ledger, path=tmp_path / "out.xlsx", progress=lambda done, total: progress.append((done, total))
    )
    assert written == 6 and progress[-1] == (6, 6)

    again = first.call(import_file, path=tmp_path / "out.xlsx")
    assert not again.changed and again.procedures_unchanged == 6

    second = sqlite_database(tmp_path, "second.db")  # SQLite on both runs: on PostgreSQL
    # the round trip also crosses from one database to the other
    second.call(import_file, path=tmp_path / "out.xlsx")
    assert ledger_values(second) == ledger_values(first)
    keys = {row[10] for row in ledger_values(second)}
    assert keys == {"filing", "eia", "land_supply", "property_cert", "verification", "proposal"}


STATUSES = ("已办结", "无需办理", "办理中", "未启动")
NAMES = (
    "立项",
    "用地预审与选址",
    "土地供应",
    "不动产权",
    "建设用地规划许可",
    "建设工程规划许可",
    "环评",
    "节能审查",
    "水土保持",
    "林草审核",
    "施工许可",
    "核准",
    "项目建议书",
    "取水许可",
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # project
            st.sampled_from(NAMES),
            st.sampled_from(STATUSES),
            st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2027, 12, 31))),
            st.one_of(st.none(), st.integers(0, 60)),
            st.one_of(st.none(), st.text('=环评备注（）：, "A1', min_size=1, max_size=12).map(str.strip).filter(bool)),
        ),
        min_size=1,
        max_size=25,
        unique_by=lambda r: (r[0], r[1]),
    ),
    st.lists(st.decimals(0, 500, places=4, allow_nan=False), min_size=4, max_size=4),
    st.lists(st.sampled_from(["2026上半年", "2027下半年", "2026-10-08"]), min_size=4, max_size=4),
)
def test_any_ledger_survives_export_and_import(tmp_path_factory, databases, rows, investments, starts):
    folder = tmp_path_factory.mktemp("rt")
    source = [
        ledger_row(
            项目代码=f"Q{p}",
            项目名称=f"项目{p}",
            investment=str(investments[p]),
            计划开工=starts[p],
            手续=name,
            状态=status,
            受理日期=accepted if status in ("已办结", "办理中") else None,
            days=days,
            办结日期=(accepted or date(2025, 6, 1)) if status == "已办结" else None,
            备注=note,
        )
        for p, name, status, accepted, days, note in rows
    ]
    first = databases.new()  # an empty one for each example
    first.call(import_file, path=write_xlsx(folder / "in.xlsx", source))
    first.call(export_ledger, path=folder / "out.xlsx")
    second = sqlite_database(folder, "b.db")  # the reference, SQLite on both runs
    second.call(import_file, path=folder / "out.xlsx")
    assert ledger_values(second) == ledger_values(first)
    assert not first.call(import_file, path=folder / "out.xlsx").changed


def test_text_that_looks_like_a_formula_is_exported_as_text(tmp_path, database):
    db = database
    db.call(import_file, path=write_csv(tmp_path / "f.csv", [ledger_row(备注="=HYPERLINK(1)")]))
    db.call(export_ledger, path=tmp_path / "out.xlsx")
    cell = load_workbook(tmp_path / "out.xlsx").active.cell(2, HEADERS.index("备注") + 1)
    assert (cell.value, cell.data_type) == ("=HYPERLINK(1)", "s")
    assert not db.call(import_file, path=tmp_path / "out.xlsx").changed
