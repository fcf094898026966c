"""Every problem of a refused import as an .xlsx: the offending rows as they were, a reason
column beside them, so the operator fixes the file row by row."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

import texts
from knowledge.atomic_file import replaced
from ledger.errors import LedgerImportError
from ledger.reader import Uncalculated, read_rows
from ledger.render import reason_text


def write_error_workbook(*, source: Path, error: LedgerImportError, path: Path) -> int:
    """Write `error`'s problems beside the rows of `source` they are about; returns the
    number of problems. Problems of the file or header come first, with their row number."""
    by_row: dict[int, list[str]] = defaultdict(list)
    for problem in error.errors:
        reason = reason_text(problem)
        by_row[problem.row].append(f"「{problem.column}」{reason}" if problem.column else reason)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(texts.LEDGER_ERRORS_SHEET)
    bold = Font(bold=True)

    def header(values: list[object]) -> list[object]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # the file's own heading may look like a formula: it stays text
            cell.font = bold
            cells.append(cell)
        return cells

    def text_cell(value: object) -> object:
        if isinstance(value, Uncalculated):
            return None
        if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # a formula-looking cell stays text
            return cell
        return value

    header_cells: list[object] = []
    cells_of: dict[int, list[object]] = {}
    try:
        for number, cells in read_rows(source).rows:
            if not header_cells and any(c is not None for c in cells):
                header_cells = list(cells)  # the sheet's own header row heads the columns
            if number in by_row:
                cells_of[number] = list(cells)
    except LedgerImportError:  # the file itself cannot be read: the reasons alone
        pass
    width = max([len(header_cells), *(len(c) for c in cells_of.values())])
    sheet.append(
        header(
            [
                texts.LEDGER_ERRORS_ROW_HEADER,
                *(header_cells + [None] * (width - len(header_cells))),
                texts.LEDGER_ERRORS_REASON_HEADER,
            ]
        )
    )
    for number in sorted(by_row):
        cells = cells_of.get(number, [])
        padded = [text_cell(c) for c in cells] + [None] * (width - len(cells))
        sheet.append([number or None, *padded, "；".join(by_row[number])])
    with replaced(path, binary=True) as handle:  # never a half-written report over an old one
        workbook.save(handle)
    return len(error.errors)
