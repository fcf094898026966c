"""Importing ledger files: all rows or none, every error reported, upserts idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from ledger.columns import HEADERS
from ledger.errors import LedgerImportError
from ledger.importer import import_file
from ledger.models import Procedure, ProcedureStatus, Project
from tests.ledger_support import ledger_row, write_csv, write_xlsx
from tests.updates import supergroup_id


def counts(db):
    with db.session() as s:
        return (
            s.execute(select(func.count()).select_from(Project)).scalar_one(),
            s.execute(select(func.count()).select_from(Procedure)).scalar_one(),
        )


def snapshot(db):
    with db.session() as s:
        projects = s.execute(select(Project.__table__)).all()
        procedures = s.execute(select(Procedure.__table__)).all()
    return sorted(map(tuple, projects)), sorted(map(tuple, procedures))


def errors_of(db, path):
    with pytest.raises(LedgerImportError) as caught:
        db.call(import_file, path=path)
    return {(e.row, e.column, e.reason) for e in caught.value.errors}


GOOD_ROWS = [
    ledger_row(手续="立项", 状态="已办结", 受理日期="2025-12-01", days=2, 办结日期="2025-12-03"),
    ledger_row(手续="环评", 状态="办理中", 受理日期="2026-02-10", days=20),
    ledger_row(手续="节能审查", 状态="无需办理", 受理日期=None, days=None),
    ledger_row(
        项目代码="P002",
        项目名称="物流园",
        建设单位="乙公司",
        旗县区="回民区",
        领域="物流",
        investment="8",
        计划开工="2026下半年",
        项目管家="李四",
        手续="用地预审与选址",
        状态="未启动",
        受理日期=None,
        days=None,
    ),
]


def test_import_creates_projects_and_procedures(tmp_path, database):
    db = database
    result = db.call(import_file, path=write_xlsx(tmp_path / "l.xlsx", GOOD_ROWS))
    assert (result.rows, result.projects_created, result.procedures_created) == (4, 2, 4)
    with db.session() as s:
        p1 = s.exec(select(Project).where(Project.code == "P001")).scalar_one()
        assert (p1.name, p1.region, p1.sector, p1.start_half, p1.start_year) == (
            "新材料产业园",
            "新城区",
            "工业",
            1,
            2026,
        )
        assert p1.investment_yi == Decimal("12.5")
        procs = {p.item_key: p for p in s.exec(select(Procedure)).scalars()}
    assert set(procs) == {"filing", "eia", "energy_review", "land_prereview"}
    assert procs["filing"].status is ProcedureStatus.done
    assert procs["filing"].finished_on == date(2025, 12, 3)
    assert procs["eia"].accepted_on == date(2026, 2, 10) and procs["eia"].promised_days == 20
    assert procs["energy_review"].status is ProcedureStatus.not_needed


def test_reimport_changes_nothing_and_changed_file_updates_in_place(tmp_path, database):
    db = database
    path = write_xlsx(tmp_path / "l.xlsx", GOOD_ROWS)
    db.call(import_file, path=path)
    with db.session() as s:  # a /bind happened meanwhile; an import must keep it
        s.exec(select(Project).where(Project.code == "P001")).scalar_one().help_chat_id = supergroup_id(123)
    before = snapshot(db)
    again = db.call(import_file, path=path)
    assert not again.changed
    assert (again.projects_unchanged, again.procedures_unchanged) == (2, 4)
    assert snapshot(db) == before

    rows = [list(r) for r in GOOD_ROWS]
    status, finished = HEADERS.index("状态"), HEADERS.index("办结日期")
    rows[1][status], rows[1][finished] = "已办结", "2026-03-02"  # 环评 finished
    rows[3][HEADERS.index("总投资(亿元)")] = "9.75"  # P002 investment
    rows.append(ledger_row(手续="水土保持", 状态="未启动", 受理日期=None, days=None))
    result = db.call(import_file, path=write_xlsx(tmp_path / "l2.xlsx", rows))
    assert (result.projects_created, result.projects_updated, result.projects_unchanged) == (0, 1, 1)
    assert (result.procedures_created, result.procedures_updated, result.procedures_unchanged) == (1, 1, 3)
    with db.session() as s:
        p1 = s.exec(select(Project).where(Project.code == "P001")).scalar_one()
        assert p1.help_chat_id == supergroup_id(123)
        eia = s.exec(select(Procedure).where(Procedure.project_id == p1.id, Procedure.item_key == "eia")).scalar_one()
        assert eia.status is ProcedureStatus.done and eia.finished_on == date(2026, 3, 2)
        p2 = s.exec(select(Project).where(Project.code == "P002")).scalar_one()
        assert p2.investment_yi == Decimal("9.75")
    assert counts(db) == (2, 5)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_accepted_encoding(tmp_path, encoding, database):
    db = database
    result = db.call(import_file, path=write_csv(tmp_path / "l.csv", GOOD_ROWS, encoding=encoding))
    assert (result.projects_created, result.procedures_created) == (2, 4)
    with db.session() as s:
        names = sorted(s.execute(select(Project.name)).scalars())
    assert names == ["新材料产业园", "物流园"]


def test_english_headers_item_keys_and_ascii_statuses(tmp_path, database):
    header = [
        "code",
        "name",
        "enterprise",
        "region",
        "sector",
        "investment",
        "start",
        "steward",
        "procedure",
        "status",
        "accepted_on",
        "promised_days",
        "finished_on",
        "department",
        "note",
    ]
    rows = [
        [
            "E1",
            "Wind farm",
            "Co",
            "East",
            "Energy",
            "30",
            "2027H2",
            "Wang",
            "eia",
            "in_progress",
            "2027-01-05",
            "5",
            "",
            "Ecology bureau",
            "note",
        ],
        ["E1", "", "", "", "", "", "", "", "construction_permit", "not_started", "", "", "", "", ""],
    ]
    db = database
    result = db.call(import_file, path=write_csv(tmp_path / "e.csv", rows, header=header))
    assert (result.projects_created, result.procedures_created) == (1, 2)
    with db.session() as s:
        project = s.exec(select(Project)).scalar_one()
        assert (project.start_half, project.start_year, project.investment_yi) == (2, 2027, 30)
        eia = s.exec(select(Procedure).where(Procedure.item_key == "eia")).scalar_one()
        assert eia.department == "Ecology bureau"


def test_text_is_stored_as_written_and_codes_are_normalized(tmp_path, database):
    rows = [ledger_row(项目代码="Ｐ００１", 项目名称="某某（一期）项目：A", 手续="环评")]
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "w.xlsx", rows))
    with db.session() as s:
        project = s.exec(select(Project)).scalar_one()
    assert (project.code, project.name) == ("P001", "某某（一期）项目：A")


def test_title_row_blank_inherited_project_cells_and_start_dates(tmp_path, database):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["XX市2026年重大项目前期手续台账"])
    sheet.append(["序号", *HEADERS])
    sheet.append(
        [1, *ledger_row(计划开工=date(2026, 9, 15), 手续="施工许可证", 状态="未启动", 受理日期=None, days=None)]
    )
    # merged cells in Excel read back empty: the project fields come from the first row
    sheet.append(
        [
            2,
            "P001",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "水保",
            "办理中",
            date(2026, 3, 2),
            "10个工作日",
            None,
            "水利局",
            None,
        ]
    )
    workbook.save(tmp_path / "t.xlsx")
    db = database
    result = db.call(import_file, path=tmp_path / "t.xlsx")
    assert (result.projects_created, result.procedures_created) == (1, 2)
    with db.session() as s:
        project = s.exec(select(Project)).scalar_one()
        assert (project.start_half, project.start_year, project.planned_start_date) == (2, 2026, date(2026, 9, 15))
        soil = s.exec(select(Procedure).where(Procedure.item_key == "soil_water")).scalar_one()
        assert (soil.promised_days, soil.accepted_on, soil.department) == (10, date(2026, 3, 2), "水利局")


def test_every_kind_of_bad_row_is_reported_and_nothing_imported(tmp_path, database):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "ok.xlsx", GOOD_ROWS))
    before = snapshot(db)
    rows = [
        ledger_row(手续="立项", 状态="已办结", 办结日期="2026-02-20"),  # row 2: fine
        ledger_row(手续="环评", 状态="快好了"),  # 3: status
        ledger_row(手续="节能审查", 受理日期="2026-02-30"),  # 4: date
        ledger_row(项目代码="P009", investment=-3, 手续="环评"),  # 5: negative
        ledger_row(手续="办个证"),  # 6: procedure
        ledger_row(手续="环境影响评价", 状态="未启动", 受理日期=None),  # 7: dup of 3
        ledger_row(项目代码=None, 手续="施工许可"),  # 8: no code
        ledger_row(手续="水土保持", 旗县区="回民区"),  # 9: conflict
        ledger_row(手续="林草审核", days=-2),  # 10: days
        ledger_row(手续="施工许可", 计划开工="明年"),  # 11: start
        ledger_row(手续="建设工程规划许可", 状态="已办结", 受理日期="2026-03-05", 办结日期="2026-03-01"),  # 12
        ledger_row(项目代码="P010", 项目名称=None, 手续="环评"),  # 13: name
        ledger_row(手续="土地供应", 状态="未启动", 受理日期=None, days=None, 备注="很长" * 600),  # 14: note
        ledger_row(项目代码="P" * 65, 手续="环评"),  # 15: code
    ]
    found = errors_of(db, write_xlsx(tmp_path / "bad.xlsx", rows))
    assert found == {
        (3, "状态", "unknown_status"),
        (4, "受理日期", "bad_date"),
        (5, "总投资(亿元)", "negative"),
        (6, "手续", "unknown_procedure"),
        (7, "手续", "duplicate_row"),
        (8, "项目代码", "required"),
        (9, "旗县区", "conflict"),
        (10, "承诺时限(工作日)", "bad_days"),
        (11, "计划开工", "bad_start"),
        (12, "办结日期", "finished_before_accepted"),
        (13, "项目名称", "required"),
        (14, "备注", "too_long"),
        (15, "项目代码", "too_long"),
    }
    assert snapshot(db) == before


def test_errors_carry_the_values_and_the_first_row(tmp_path, database):
    db = database
    rows = [ledger_row(手续="环评"), ledger_row(手续="环评", 状态="未启动", 受理日期=None)]
    with pytest.raises(LedgerImportError) as caught:
        db.call(import_file, path=write_csv(tmp_path / "d.csv", rows))
    (error,) = caught.value.errors
    assert (error.row, error.value, error.params["first_row"]) == (3, "环评", 2)
    assert counts(db) == (0, 0)


def test_wrong_and_missing_headers(tmp_path, database):
    header = list(HEADERS)
    header[HEADERS.index("状态")] = "进展情况"
    db = database
    found = errors_of(db, write_xlsx(tmp_path / "h.xlsx", [ledger_row()], header=header))
    assert found == {(1, "进展情况", "unknown_header"), (1, "状态", "missing_header")}
    assert counts(db) == (0, 0)
    # over an existing ledger: nothing changes either
    db.call(import_file, path=write_xlsx(tmp_path / "ok.xlsx", GOOD_ROWS))
    before = snapshot(db)
    changed = [ledger_row(状态="已办结")]
    assert errors_of(db, write_xlsx(tmp_path / "h2.xlsx", changed, header=header)) == found
    assert snapshot(db) == before


def test_xlsx_that_is_really_a_text_file(tmp_path, database):
    path = tmp_path / "ledger.xlsx"
    path.write_text("项目代码,项目名称\nP1,x\n", encoding="utf-8")
    db = database
    assert errors_of(db, path) == {(0, "", "not_xlsx")}
    assert counts(db) == (0, 0)
    db.call(import_file, path=write_xlsx(tmp_path / "ok.xlsx", GOOD_ROWS))
    before = snapshot(db)
    assert errors_of(db, path) == {(0, "", "not_xlsx")}
    assert snapshot(db) == before


def test_empty_files_and_other_extensions(tmp_path, database):
    db = database
    (tmp_path / "e.csv").write_bytes(b"")
    assert errors_of(db, tmp_path / "e.csv") == {(0, "", "empty_file")}
    assert errors_of(db, write_csv(tmp_path / "h.csv", [])) == {(1, "", "no_rows")}
    (tmp_path / "l.ods").write_bytes(b"x")
    assert errors_of(db, tmp_path / "l.ods") == {(0, "", "unsupported_file")}


def test_progress_reports_rows_read(tmp_path, database):
    rows = [
        ledger_row(项目代码=f"P{i:04d}", 手续=key, 状态="未启动", 受理日期=None, days=None)
        for i in range(250)
        for key in ("环评", "施工许可", "节能审查", "水保", "林草审核")
    ]
    calls, written = [], []
    db = database
    result = db.call(
        import_file,
        path=write_xlsx(tmp_path / "p.xlsx", rows),
        progress=lambda done, total: calls.append((done, total)),
        write_progress=lambda done, total: written.append((done, total)),
    )
    assert result.procedures_created == 1250
    # a few hundred rows already move the bar, every 100 rows
    assert calls[0] == (100, 1250) and calls[-1] == (1250, 1250) and len(calls) == 13
    assert written and written[-1] == (1250, 1250)
    assert [done for done, _ in written] == sorted(done for done, _ in written)
