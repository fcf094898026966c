"""What operators feed the ledger import, as they really make it: files without the optional
columns, merged cells, formulas nobody calculated, codes typed as numbers, 总投资 in 万元. A
file either says exactly what it means or is refused naming the cell; nothing is lost
silently. Real .xlsx files, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ledger.columns import HEADERS
from ledger.errors import LedgerImportError
from ledger.importer import import_file
from ledger.models import Procedure, Project
from tests.ledger_support import ledger_row, write_xlsx

FULL = [
    ledger_row(手续="环评", 责任部门="生态环境局", 备注="已踏勘"),
    ledger_row(手续="节能审查", 受理日期="2026-03-02", days=3, 责任部门="发展和改革委员会"),
]
OPTIONAL = ["建设单位", "项目管家", "受理日期", "承诺时限(工作日)", "办结日期", "责任部门", "备注"]


def only(headers: list[str], rows: list[list[object]]) -> tuple[list[str], list[list[object]]]:
    """`rows` (in HEADERS order) cut down to the columns `headers`."""
    index = [HEADERS.index(h) for h in headers]
    return headers, [[row[i] for i in index] for row in rows]


def stored(db) -> tuple[dict[str, tuple], dict[str, tuple]]:
    with db.session() as s:
        projects = {p.code: (p.name, p.enterprise, p.steward) for p in s.exec(select(Project)).scalars()}
        procedures = {
            p.item_key: (p.status.value, p.accepted_on, p.promised_days, p.finished_on, p.department, p.note)
            for p in s.exec(select(Procedure)).scalars()
        }
    return projects, procedures


def errors_of(db, path):
    with pytest.raises(LedgerImportError) as caught:
        db.call(import_file, path=path)
    return caught.value.errors


# --- 1. a missing optional column leaves the stored values alone ----------------------------


def test_a_file_without_the_optional_columns_leaves_their_values_alone(tmp_path, database):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "full.xlsx", FULL))
    before = stored(db)
    assert before[0]["P001"] == ("新材料产业园", "甲公司", "张三")
    assert before[1]["energy_review"] == ("in_progress", date(2026, 3, 2), 3, None, "发展和改革委员会", None)

    kept = [h for h in HEADERS if h not in OPTIONAL]
    name = "新材料产业园二期"
    header, rows = only(kept, [ledger_row(手续="环评", 项目名称=name), ledger_row(手续="节能审查", 项目名称=name)])
    result = db.call(import_file, path=write_xlsx(tmp_path / "short.xlsx", rows, header=header))
    assert (result.projects_updated, result.procedures_unchanged) == (1, 2)
    after = stored(db)
    assert after[0]["P001"] == ("新材料产业园二期", "甲公司", "张三")
    assert after[1] == before[1]


def test_a_blank_cell_in_a_present_column_still_clears(tmp_path, database):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "full.xlsx", FULL))
    header, rows = only(
        [h for h in HEADERS if h not in ("受理日期", "承诺时限(工作日)")],
        [ledger_row(手续="环评", 责任部门=None, 备注=None, 项目管家=None), ledger_row(手续="节能审查", 项目管家=None)],
    )
    db.call(import_file, path=write_xlsx(tmp_path / "blank.xlsx", rows, header=header))
    projects, procedures = stored(db)
    assert projects["P001"][2] is None
    assert procedures["eia"][4:] == (None, None)
    assert procedures["energy_review"][1:3] == (date(2026, 3, 2), 3)  # its columns are absent: kept


def test_a_new_row_without_the_optional_columns_has_them_empty_and_a_status_clears_dates_it_rules_out(
    tmp_path, database
):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "full.xlsx", FULL))
    kept = [h for h in HEADERS if h not in OPTIONAL]
    header, rows = only(
        kept,
        [
            ledger_row(手续="节能审查", 状态="未启动"),  # its stored 受理日期 contradicts 未启动
            ledger_row(项目代码="P002", 项目名称="物流园", 手续="环评"),
        ],
    )
    db.call(import_file, path=write_xlsx(tmp_path / "short.xlsx", rows, header=header))
    projects, procedures = stored(db)
    assert projects["P002"] == ("物流园", None, None)
    assert procedures["energy_review"] == ("not_started", None, 3, None, "发展和改革委员会", None)


# --- 2. merged cells: every cell of the range has the top-left value -------------------------


def _merged_workbook(path, rows, merges):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def _column(header: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(HEADERS.index(header) + 1)


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_merged_cells_give_every_row_the_merged_value(tmp_path, database, reader):
    db = database
    rows = [
        ledger_row(手续="环评", 受理日期="2026-02-10", days=20, 责任部门="生态环境局"),
        ledger_row(手续="节能审查", 受理日期=None, days=None, 责任部门=None),
    ]
    merges = [f"{_column(h)}2:{_column(h)}3" for h in ("项目代码", "受理日期", "承诺时限(工作日)", "责任部门")]
    path = _merged_workbook(tmp_path / "merged.xlsx", [row[:] for row in rows], merges)
    # openpyxl blanks every cell of a merged range but the top-left one, as Excel saves it
    result = db.call(import_file, path=path, reader=reader)
    assert (result.projects_created, result.procedures_created) == (1, 2)
    _projects, procedures = stored(db)
    for item in ("eia", "energy_review"):
        assert procedures[item][1:3] == (date(2026, 2, 10), 20)
        assert procedures[item][4] == "生态环境局"


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_a_range_merged_across_columns_and_rows(tmp_path, database, reader):
    db = database
    rows = [ledger_row(手续="环评", 备注="先行"), ledger_row(手续="节能审查", 备注=None)]
    # 责任部门 and 备注 side by side: merged as one block over both rows, top-left 责任部门
    assert HEADERS.index("备注") == HEADERS.index("责任部门") + 1
    rows[0][HEADERS.index("责任部门")] = "生态环境局"
    path = _merged_workbook(tmp_path / "block.xlsx", rows, [f"{_column('责任部门')}2:{_column('备注')}3"])
    db.call(import_file, path=path, reader=reader)
    _projects, procedures = stored(db)
    assert procedures["eia"][4:] == ("生态环境局", "生态环境局")
    assert procedures["energy_review"][4:] == ("生态环境局", "生态环境局")


# --- 8. formulas without a calculated value are refused, naming the cell ---------------------


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_a_formula_without_a_calculated_value_is_refused_naming_the_cell(tmp_path, database, reader):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "full.xlsx", FULL))
    before = stored(db)
    rows = [ledger_row(手续="环评", days="=10+10"), ledger_row(手续="节能审查", 责任部门="=A1")]
    path = write_xlsx(tmp_path / "formula.xlsx", rows, formulas=True)
    with pytest.raises(LedgerImportError) as caught:
        db.call(import_file, path=path, reader=reader)
    days, department = _column("承诺时限(工作日)"), _column("责任部门")
    assert {(e.row, e.column, e.reason, e.value) for e in caught.value.errors} == {
        (2, "承诺时限(工作日)", "formula_without_value", f"{days}2"),
        (3, "责任部门", "formula_without_value", f"{department}3"),
    }
    assert stored(db) == before


def test_a_formula_excel_calculated_is_read_as_its_value(tmp_path, database):
    """What Excel/WPS save: the formula and its cached value (here written into the XML)."""
    import zipfile

    db = database
    source = write_xlsx(tmp_path / "formula.xlsx", [ledger_row(手续="环评", days="=10+10")], formulas=True)
    target = tmp_path / "calculated.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.endswith("sheet1.xml"):
                data = data.replace(b"<f>10+10</f><v />", b"<f>10+10</f><v>20</v>")
                assert b"<v>20</v>" in data
            new.writestr(item, data)
    db.call(import_file, path=target)
    assert stored(db)[1]["eia"][2] == 20


# --- 7. two imports at once: one after the other ---------------------------------------------


def test_two_imports_at_once_run_one_after_the_other(tmp_path, database):
    """A holds its import's transaction open; B, started meanwhile, waits for A's commit and
    then finds A's rows (unchanged), instead of inserting the same codes again."""
    import threading

    from ledger.importer import validate_file, write_ledger

    db = database
    rows = [ledger_row(项目代码=f"C{n:03d}", 项目名称=f"项目{n}") for n in range(30)]
    ledger = validate_file(write_xlsx(tmp_path / "both.xlsx", rows))
    written, b_started = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def a() -> None:
        with db.session() as session:
            results["a"] = write_ledger(session=session, ledger=ledger)
            written.set()
            b_started.wait(10)
            threading.Event().wait(1.0)  # B is waiting now, on the old code already past its reads

    def b() -> None:
        written.wait(10)
        b_started.set()
        try:
            results["b"] = db.call(write_ledger, ledger=ledger)
        except Exception as exc:  # noqa: BLE001 - the old code's IntegrityError / OperationalError
            results["b"] = exc

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not isinstance(results["b"], Exception), results["b"]
    assert results["a"].projects_created == 30
    assert (results["b"].projects_created, results["b"].projects_unchanged) == (0, 30)
    assert len(stored(db)[0]) == 30


# --- 9. project codes: numbers Excel rounded, blanks inside ----------------------------------


def test_a_long_code_in_a_number_cell_is_refused_and_inner_blanks_are_one_code(tmp_path, database):
    db = database
    rows = [
        ledger_row(项目代码=2026150100000100000001, 手续="环评"),  # 22 digits, a number in Excel
        ledger_row(项目代码=123456789012345, 项目名称="十五位", 手续="环评"),  # 15 digits: exact, kept
    ]
    errors = errors_of(db, write_xlsx(tmp_path / "number.xlsx", rows))
    assert [(e.row, e.column, e.reason) for e in errors] == [(2, "项目代码", "code_as_number")]

    db.call(import_file, path=write_xlsx(tmp_path / "one.xlsx", [ledger_row(项目代码="2026-150100-00-01-000001")]))
    spaced = [ledger_row(项目代码=" 2026-150100 -00-01-000001", 手续="节能审查", 受理日期=None, days=None)]
    result = db.call(import_file, path=write_xlsx(tmp_path / "spaced.xlsx", spaced))
    assert (result.projects_created, result.procedures_created) == (0, 1)
    projects, _procedures = stored(db)
    assert list(projects) == ["2026-150100-00-01-000001"]


# --- 11. 总投资 in 万元 under a header without its unit --------------------------------------


def test_an_investment_in_wan_yuan_is_refused_with_the_unit(tmp_path, database):
    db = database
    header = [h if h != "总投资(亿元)" else "总投资" for h in HEADERS]
    rows = [ledger_row(investment=125000), ledger_row(项目代码="P002", investment="5000", 手续="节能审查")]
    errors = errors_of(db, write_xlsx(tmp_path / "wan.xlsx", rows, header=header))
    assert [(e.row, e.column, e.reason, e.value) for e in errors] == [(2, "总投资", "investment_too_large", "125000")]
    assert stored(db) == ({}, {})
