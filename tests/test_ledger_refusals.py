"""The importer refuses contradictions and broken files with sheet, row and column; both .xlsx
readers yield the same typed cells."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

import texts
from cli.main import main
from ledger.columns import HEADERS
from ledger.errors import LedgerImportError
from ledger.importer import Checks, validate_file
from ledger.reader import read_rows
from ledger.render import import_error_lines
from tests.ledger_support import ledger_row, write_csv, write_xlsx
from tests.texts_match import says


def problems(path: Path, checks: Checks | None = None) -> set[tuple[int, str, str]]:
    with pytest.raises(LedgerImportError) as caught:
        validate_file(path, checks=checks)
    return {(e.row, e.column, e.reason) for e in caught.value.errors}


def test_calamine_and_openpyxl_yield_the_same_typed_cells(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append(["文字", 12, 12.5, 10.0, date(2026, 3, 5), datetime(2026, 3, 5, 9, 30), None, True])
    sheet.append([None, None, 3])
    sheet.cell(3, 1).value = 0
    sheet.cell(3, 1).number_format = "yyyy-mm-dd"  # Excel's date serial 0
    workbook.save(tmp_path / "t.xlsx")

    fast = list(read_rows(tmp_path / "t.xlsx").rows)
    slow = list(read_rows(tmp_path / "t.xlsx", reader="openpyxl").rows)
    first = fast[0][1]
    assert first == ["文字", 12, 12.5, 10, date(2026, 3, 5), datetime(2026, 3, 5, 9, 30), None, True]
    assert [type(c) for c in first[:6]] == [str, int, float, int, date, datetime]
    assert fast[1][1][:3] == [None, None, 3]
    assert fast[2][1][0] == time(0, 0)
    for (n_fast, cells_fast), (n_slow, cells_slow) in zip(fast, slow):
        width = len(cells_slow)
        assert n_fast == n_slow
        assert cells_fast[:width] == list(cells_slow)


def test_status_against_dates(tmp_path):
    rows = [
        ledger_row(手续="立项", 状态="未启动", 受理日期="2026-11-01", 办结日期="2026-11-05"),  # 2
        ledger_row(手续="环评", 状态="无需办理", 受理日期=None, 办结日期="2026-01-05"),  # 3
        ledger_row(手续="节能审查", 状态="已办结", 受理日期="2026-01-05"),  # 4
        ledger_row(手续="水保", 状态="已办结", 受理日期="2026-01-05", 办结日期="2026-01-02"),  # 5
        ledger_row(手续="施工许可", 状态="办理中", 办结日期="2026-03-01"),  # 6
        ledger_row(手续="林草审核", 状态="已办结", 受理日期="2026-01-05", 办结日期="2026-01-09"),  # 7: ok
    ]
    assert problems(write_xlsx(tmp_path / "s.xlsx", rows)) == {
        (2, "受理日期", "dates_not_allowed"),
        (2, "办结日期", "dates_not_allowed"),
        (3, "办结日期", "dates_not_allowed"),
        (4, "办结日期", "finished_required"),
        (5, "办结日期", "finished_before_accepted"),
        (6, "办结日期", "finished_while_in_progress"),
    }


def test_dates_outside_the_window_or_in_the_future(tmp_path):
    rows = [
        ledger_row(手续="立项", 受理日期="1900-01-01"),  # 2
        ledger_row(手续="环评", 受理日期=date(2202, 1, 1)),  # 3
        ledger_row(项目代码="P2", 计划开工="0000上半年", 手续="环评"),  # 4
        ledger_row(项目代码="P3", 计划开工="2202下半年", 手续="环评"),  # 5
        ledger_row(手续="水保", 状态="已办结", 受理日期="2026-11-20", 办结日期="2031-01-05"),  # 6
        ledger_row(手续="施工许可", 受理日期=date(2026, 12, 2)),  # 7
    ]
    today = Checks(today=date(2026, 12, 1))
    assert problems(write_xlsx(tmp_path / "d.xlsx", rows), today) == {
        (2, "受理日期", "date_out_of_range"),
        (3, "受理日期", "date_out_of_range"),
        (4, "计划开工", "start_out_of_range"),
        (5, "计划开工", "start_out_of_range"),
        (6, "办结日期", "date_in_future"),
        (7, "受理日期", "date_in_future"),
    }


def test_excel_date_serial_zero_is_named_as_such(tmp_path):
    path = write_xlsx(tmp_path / "z.xlsx", [ledger_row()])
    workbook = load_workbook(path)
    cell = workbook.active.cell(2, HEADERS.index("受理日期") + 1)
    cell.value, cell.number_format = 0, "yyyy-mm-dd"
    workbook.save(path)
    with pytest.raises(LedgerImportError) as caught:
        validate_file(path)
    (error,) = caught.value.errors
    assert (error.row, error.column, error.reason) == (2, "受理日期", "date_is_time")
    assert says(texts.LEDGER_ROW_ERROR, import_error_lines(caught.value)[1], row=2, column="受理日期")
    assert says(texts.LEDGER_REASONS["date_is_time"], import_error_lines(caught.value)[1])


def test_unknown_department_against_the_knowledge_base(tmp_path):
    rows = [ledger_row(手续="环评", 责任部门="生态环境局"), ledger_row(手续="水保", 责任部门="火星局")]
    known = Checks(known_department=lambda text: text == "生态环境局")
    assert problems(write_xlsx(tmp_path / "k.xlsx", rows), known) == {(3, "责任部门", "unknown_department")}


def test_the_sheet_named_taizhang_is_read_and_named_in_every_error(tmp_path):
    workbook = Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["请按模板填写"])
    sheet = workbook.create_sheet("台账")
    sheet.append(list(HEADERS))
    sheet.append(ledger_row(状态="快好了"))
    workbook.save(tmp_path / "two.xlsx")
    with pytest.raises(LedgerImportError) as caught:
        validate_file(tmp_path / "two.xlsx")
    assert caught.value.sheet == "台账"
    lines = import_error_lines(caught.value)
    assert says(texts.LEDGER_IMPORT_FAILED_SHEET, lines[0], sheet="台账")
    assert lines[1].startswith(texts.LEDGER_SHEET_PREFIX.format(sheet="台账"))
    assert says(texts.LEDGER_ROW_ERROR, lines[1], row=2, column="状态")

    workbook["台账"].title = "Sheet2"
    workbook.save(tmp_path / "none.xlsx")
    assert problems(tmp_path / "none.xlsx") == {(0, "", "no_ledger_sheet")}
    workbook.remove(workbook["说明"])
    workbook["Sheet2"]["A2"] = "P001"
    workbook["Sheet2"]["J2"] = "办理中"
    workbook.save(tmp_path / "one.xlsx")  # the only sheet, whatever its name
    assert validate_file(tmp_path / "one.xlsx").rows == 1


# The CLI tests that refuse a file before the database is opened take `sqlite_env`: they touch no
# database, so one backend is enough; a CLI import that writes takes `env` (SQLite and PostgreSQL).


def test_corrupt_sheet_xml_huge_cell_and_unclosed_quote_are_one_line(sqlite_env, capsys):
    path = write_xlsx(sqlite_env / "c.xlsx", [ledger_row()])
    broken = sqlite_env / "broken.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] + b"<row><c"
            target.writestr(info, data)
    huge = write_csv(sqlite_env / "huge.csv", [ledger_row(备注="x" * 140_000)])
    quote = sqlite_env / "quote.csv"
    quote.write_text(",".join(HEADERS) + '\nP001,"新材料产业园,甲公司\n', encoding="utf-8")
    reasons = texts.LEDGER_REASONS
    for path, reason in ((broken, "corrupt_sheet"), (huge, "cell_too_large"), (quote, "unclosed_quote")):
        with pytest.raises(SystemExit) as exit_:
            main(["ledger", "import", str(path)])
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert says(reasons[reason], err) and "Traceback" not in err
        assert len(err.strip().splitlines()) == 2  # the refusal and the one problem


def test_error_output_is_capped_and_errors_file_has_every_problem_beside_its_row(sqlite_env, capsys):
    rows = [ledger_row(项目代码=f"P{i:03d}", 手续="环评", 状态="快好了") for i in range(120)]
    path = write_csv(sqlite_env / "bad.csv", rows)
    with pytest.raises(SystemExit):
        main(["ledger", "import", str(path), "--errors", str(sqlite_env / "errors.xlsx")])
    err = capsys.readouterr().err.strip().splitlines()
    assert says(texts.LEDGER_IMPORT_FAILED, err[0], count=120)
    assert len(err) == 1 + 50 + 2
    assert says(texts.LEDGER_ERRORS_MORE, err[51], count=70)
    assert says(texts.LEDGER_ERRORS_WRITTEN, err[52], count=120, path=sqlite_env / "errors.xlsx")
    sheet = load_workbook(sqlite_env / "errors.xlsx").active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == texts.LEDGER_ERRORS_ROW_HEADER and values[0][1] == HEADERS[0]
    assert values[0][-1] == texts.LEDGER_ERRORS_REASON_HEADER
    assert len(values) == 121
    assert values[1][:2] == (2, "P000") and "快好了" in values[1][-1]
    assert values[-1][:2] == (121, "P119")


def test_errors_file_in_a_missing_folder_is_refused_before_reading(sqlite_env, capsys):
    path = write_csv(sqlite_env / "bad.csv", [ledger_row(状态="快好了")])
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "import", str(path), "--errors", str(sqlite_env / "nope" / "e.xlsx")])
    assert exit_.value.code == 1
    assert says(texts.CLI_FOLDER_MISSING, capsys.readouterr().err, folder=sqlite_env / "nope")


def test_a_real_import_from_the_cli_checks_departments_and_today(env, capsys):
    rows = [
        ledger_row(手续="环评", 责任部门="火星局"),
        ledger_row(手续="立项", 状态="已办结", 受理日期="2026-01-05", 办结日期="2099-01-05"),
    ]
    with pytest.raises(SystemExit):
        main(["ledger", "import", str(write_csv(env / "x.csv", rows))])
    err = capsys.readouterr().err
    reasons = texts.LEDGER_REASONS
    assert says(reasons["unknown_department"], err, value="火星局")
    assert says(reasons["date_in_future"], err, value="2099-01-05")
    main(["ledger", "import", str(write_csv(env / "ok.csv", [ledger_row(责任部门="环保局")]))])
    # an alias of departments.yaml is known
    assert says(texts.LEDGER_IMPORT_DONE, capsys.readouterr().out, projects_created=1)


FORMULAS = ('=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)")


def test_errors_file_keeps_formula_looking_cells_as_text(sqlite_env):
    """A refused row's cells and the file's own header go back to the operator as text, never as
    live formulas (formula injection), read back from the real .xlsx."""
    row = ledger_row(项目名称=FORMULAS[0], 建设单位=FORMULAS[1], 备注=FORMULAS[2], 项目管家=FORMULAS[3], 状态="快好了")
    bad_row = write_csv(sqlite_env / "row.csv", [row])
    bad_header = write_csv(sqlite_env / "header.csv", [[*row, ""]], header=[*HEADERS, FORMULAS[0]])
    for path, expected in ((bad_row, FORMULAS), (bad_header, FORMULAS[:1] * 2)):  # heading, and row 1
        with pytest.raises(SystemExit):
            main(["ledger", "import", str(path), "--errors", str(sqlite_env / "errors.xlsx")])
        sheet = load_workbook(sqlite_env / "errors.xlsx").active
        cells = [cell for row_cells in sheet.iter_rows() for cell in row_cells if cell.value in FORMULAS]
        assert sorted(c.value for c in cells) == sorted(expected), path
        assert {c.data_type for c in cells} == {"s"}, path
