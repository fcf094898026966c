"""Read the rows of a ledger file (.xlsx or .csv) as typed cells.

Every reader yields the same cells, whatever parsed the file: None for an empty cell, str for
text, int for a whole number (12, not 12.0), float for any other number, bool, `date` for a
date and `datetime` for a date with a time, `time` for a time of day (what Excel's date serial 0
reads as). The importer's value parsers rely on exactly these types.

.xlsx is read with python-calamine (Rust; ~12x faster than openpyxl on a 100,000-row ledger);
the openpyxl reader is kept for the benchmark's side-by-side figure. The ledger is the sheet
named 台账, or the only sheet of the workbook.

Both .xlsx readers give every cell of a merged range its top-left value (what an operator means
by merging 受理日期 over a project's rows), and an `Uncalculated` cell for a formula that has no
calculated value (a workbook a program wrote and nobody opened in Excel or WPS), which the
importer refuses naming the cell instead of reading it as empty.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from knowledge.sheet_xml import SheetFacts, filled_merged, sheet_facts
from ledger.errors import LedgerImportError, RowError

Row = tuple[int, Sequence[object]]  # (1-based row number in the sheet, cells)
XlsxReader = Literal["calamine", "openpyxl"]

LEDGER_SHEET = "台账"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: far above any ledger column


@dataclass(frozen=True, slots=True)
class Uncalculated:
    """A formula cell without a calculated value; `ref` is the cell as Excel names it (D4)."""

    ref: str

    def __str__(self) -> str:
        return ""


@dataclass
class SheetRows:
    """The rows of the ledger sheet, an estimate of their number (0: unknown) and the sheet's
    name (None for a .csv)."""

    rows: Iterator[Row]
    total: int
    sheet: str | None


def read_rows(path: Path, *, reader: XlsxReader = "calamine") -> SheetRows:
    if not path.is_file():
        raise _refuse("missing_file" if not path.exists() else "not_a_file", str(path))
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _read_openpyxl(path) if reader == "openpyxl" else _read_calamine(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise LedgerImportError([RowError(0, "", "unsupported_file", path.suffix or path.name)])


def _refuse(reason: str, value: str, row: int = 0, sheet: str | None = None) -> LedgerImportError:
    return LedgerImportError([RowError(row, "", reason, value)], sheet=sheet)


def choose_sheet(names: Sequence[str], file_name: str) -> str:
    """台账 if the workbook has it, else its only sheet; else refuse naming the sheets."""
    if LEDGER_SHEET in names:
        return LEDGER_SHEET
    if len(names) == 1:
        return names[0]
    raise LedgerImportError(
        [RowError(0, "", "no_ledger_sheet", file_name, {"sheets": "、".join(names), "wanted": LEDGER_SHEET})]
    )


def _read_calamine(path: Path) -> SheetRows:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except OSError as exc:
        raise _refuse("unreadable", exc.strerror or str(exc)) from None
    except CalamineError:
        raise _refuse("not_xlsx", path.name) from None
    name = choose_sheet(workbook.sheet_names, path.name)
    try:
        sheet = workbook.get_sheet_by_name(name)
    except CalamineError as exc:
        raise _refuse("corrupt_sheet", str(exc)[:200], sheet=name) from None

    # calamine's rows start at the sheet's first row but its columns at the first one used
    facts = sheet_facts(path, name)
    facts.merged = [(r0 + 1, c0, r1 + 1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ()]
    first_column = sheet.start[1] if sheet.start else 0

    def rows() -> Iterator[Row]:
        number = 0
        try:
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                # _typed inlined: one call per cell costs ~0.4 s on 100,000 rows
                yield (
                    number,
                    [None if c == "" else int(c) if c.__class__ is float and c.is_integer() else c for c in cells],
                )
        except CalamineError as exc:
            raise _refuse("corrupt_sheet", str(exc)[:200], number + 1, name) from None
        finally:
            workbook.close()

    return SheetRows(_completed(rows(), facts, first_column), sheet.height, name)


def _read_openpyxl(path: Path) -> SheetRows:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise _refuse("unreadable", exc.strerror or str(exc)) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError):
        raise _refuse("not_xlsx", path.name) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on broken XML
        raise _refuse("corrupt_sheet", str(exc)[:200]) from None
    name = choose_sheet(workbook.sheetnames, path.name)
    sheet = workbook[name]

    def rows() -> Iterator[Row]:
        number = 0
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_date_of(c) for c in cells]
        except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
            raise _refuse("corrupt_sheet", str(exc)[:200], number + 1, name) from None
        finally:
            workbook.close()

    return SheetRows(_completed(rows(), sheet_facts(path, name), 0), sheet.max_row or 0, name)


def _completed(rows: Iterator[Row], facts: SheetFacts, first_column: int) -> Iterator[Row]:
    """`rows` with each uncalculated formula an `Uncalculated` cell and each merged range filled with its top-left
    value (`filled_merged`); `first_column` is the sheet column of the rows' first cell."""
    return filled_merged(_marked_uncalculated(rows, facts, first_column), facts.merged, first_column)


def _marked_uncalculated(rows: Iterator[Row], facts: SheetFacts, first_column: int) -> Iterator[Row]:
    if not facts.uncalculated:
        yield from rows
        return
    formulas: dict[int, list[tuple[int, str]]] = {}
    for (row, column), ref in facts.uncalculated.items():
        if column >= first_column:
            formulas.setdefault(row, []).append((column - first_column, ref))
    for number, cells in rows:
        uncalculated = formulas.get(number)
        if uncalculated:
            cells = list(cells)
            for column, ref in uncalculated:
                cells.extend([None] * (column + 1 - len(cells)))
                if cells[column] is None:
                    cells[column] = Uncalculated(ref)
        yield number, cells


def _date_of(value: object) -> object:
    """openpyxl reads a date as a datetime at midnight: a date, as calamine gives it."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, str) and not value:
        return None
    return value


def _read_csv(path: Path) -> SheetRows:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refuse("unreadable", exc.strerror or str(exc)) from None
    text = None
    for encoding in ("utf-8-sig", "gb18030"):  # gb18030 is the superset of gbk
        try:
            text = codecs.decode(data, encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise _refuse("unreadable", path.name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def rows() -> Iterator[Row]:
        row = 0
        try:
            for row, cells in enumerate(reader, start=1):
                yield row, [c if c.strip() else None for c in cells]
        except csv.Error as exc:
            row += 1
            if "field limit" in str(exc):
                raise _refuse("cell_too_large", "", row) from None
            if "end of data" in str(exc) or "expected" in str(exc):
                raise _refuse("unclosed_quote", "", row) from None
            raise _refuse("bad_csv", str(exc), row) from None

    return SheetRows(rows(), text.count("\n"), None)
