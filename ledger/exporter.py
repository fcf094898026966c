"""Write the ledger (or an empty template) as .xlsx or .csv in the long format the importer
reads; the file's suffix decides which (a .csv is UTF-8 with a BOM, so Excel opens it right).

An export imports back unchanged: every value is written in a form the importer parses to the
same stored value. A project without any procedure has no row in the long format and is not
exported, nor is an archived project (it has left the ledger; an import of the export must not
bring it back).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import func, select
from sqlmodel import Session

from knowledge.atomic_file import replaced
from ledger.columns import COLUMNS, EXAMPLE_ROW, HEADERS
from ledger.errors import UnsupportedFileKind
from ledger.models import (
    PROCEDURE_TABLE,
    PROJECT_TABLE,
    STATUS_LABELS,
    ProcedureStatus,
)
from ledger.procedures import DEFAULT_TEN, procedure_name, sort_key

Progress = Callable[[int, int], None]

SHEET_TITLE = "台账"
DATE_FORMAT = "yyyy-mm-dd"
PROGRESS_EVERY = 100
_WIDTHS = {
    "code": 26,
    "name": 30,
    "enterprise": 24,
    "procedure": 18,
    "department": 16,
    "note": 30,
    "investment": 12,
    "start": 14,
}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def start_text(half: int, year: int, planned: date | None) -> str | date:
    if planned is not None:
        return planned
    return f"{year}{'上半年' if half == 1 else '下半年'}"


def file_kind(path: Path) -> str:
    """ "xlsx" or "csv" from the file's suffix; UnsupportedFileKind for anything else."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv"):
        raise UnsupportedFileKind(path.name)
    return kind


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(handle: Any, rows: Iterator[list[object]]) -> None:
    """UTF-8 with a BOM (Excel reads a BOM-less UTF-8 CSV as the local code page)."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    text.flush()
    text.detach()


def write_template(path: Path | str, *, rows: int = 2000) -> Path:
    """An empty ledger: the headers, a drop-down for 状态 and 手续 (.xlsx), and one example
    row; a .csv template has the headers and the example row."""
    path = Path(path)
    if file_kind(path) == "csv":
        with replaced(path, binary=True) as handle:
            _write_csv(handle, iter([list(HEADERS), [EXAMPLE_ROW[c.field] for c in COLUMNS]]))
        return path
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    sheet.append([EXAMPLE_ROW[c.field] for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDTHS.get(column.field, 12)
        if isinstance(EXAMPLE_ROW[column.field], date):
            sheet.cell(2, index).number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"

    sheet.add_data_validation(_status_drop_down(rows))
    # Other items and synonyms are accepted too; the drop-down offers the default ten.
    letter = get_column_letter([c.field for c in COLUMNS].index("procedure") + 1)
    procedures = DataValidation(
        type="list",
        allow_blank=False,
        showDropDown=False,
        formula1='"' + ",".join(procedure_name(k) for k in DEFAULT_TEN) + '"',
        showErrorMessage=False,
    )
    procedures.add(f"{letter}2:{letter}{rows + 1}")
    sheet.add_data_validation(procedures)
    with replaced(path, binary=True) as handle:
        workbook.save(handle)
    return path


def export_ledger(*, session: Session, path: Path | str, progress: Progress | None = None) -> int:
    """Write every procedure of every project, one row each; returns the number of rows.
    The file is opened first, so a path that cannot be written fails (OSError) at once; it is
    written beside the target and renamed over it at the end, so an existing file stays whole
    when the export stops (Ctrl-C, a database error)."""
    path = Path(path)
    kind = file_kind(path)
    with replaced(path, binary=True) as handle:
        if kind == "csv":
            return _export_csv(session, handle, progress)
        return _export(session, handle, progress)


def _export_csv(session: Session, handle: Any, progress: Progress | None) -> int:
    total = _procedure_count(session)
    written = 0

    def rows() -> Iterator[list[object]]:
        nonlocal written
        yield list(HEADERS)
        for values in _ledger_rows(session):
            yield [values[c.field] for c in COLUMNS]
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(written, total)

    _write_csv(handle, rows())
    if progress:
        progress(written, written)
    return written


def _procedure_count(session: Session) -> int:
    """Procedures of the projects not archived: the rows an export writes."""
    p, q = PROJECT_TABLE.c, PROCEDURE_TABLE.c
    return session.execute(
        select(func.count())
        .select_from(PROCEDURE_TABLE)
        .join(PROJECT_TABLE, q.project_id == p.id)
        .where(p.archived_at.is_(None))
    ).scalar_one()


def _status_drop_down(rows: int) -> DataValidation:
    """The 状态 list on data rows 2..rows+1, as in the template."""
    letter = get_column_letter([c.field for c in COLUMNS].index("status") + 1)
    validation = DataValidation(
        type="list",
        allow_blank=False,
        showDropDown=False,
        formula1='"' + ",".join(STATUS_LABELS[s] for s in ProcedureStatus) + '"',
    )
    validation.add(f"{letter}2:{letter}{max(rows, 1) + 1}")
    return validation


def _export(session: Session, handle: Any, progress: Progress | None) -> int:
    total = _procedure_count(session)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column.field, 12)
    header = []
    for text in HEADERS:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    written = 0
    for values in _ledger_rows(session):
        sheet.append([_cell(sheet, values[c.field]) for c in COLUMNS])
        written += 1
        if progress and written % PROGRESS_EVERY == 0:
            progress(written, total)
    if progress:
        progress(written, written)
    sheet.data_validations.append(_status_drop_down(written))
    workbook.save(handle)
    return written


def _cell(sheet: Any, value: object) -> object:
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text that looks like a formula stays text (no formula injection)
        return cell
    return value


def _ledger_rows(session: Session) -> Iterator[dict[str, object]]:
    p, q = PROJECT_TABLE.c, PROCEDURE_TABLE.c
    statement = (
        select(
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
            q.status,
            q.accepted_on,
            q.promised_days,
            q.finished_on,
            q.department,
            q.note,
        )
        .join_from(PROCEDURE_TABLE, PROJECT_TABLE, q.project_id == p.id)
        .where(p.archived_at.is_(None))
        .order_by(p.code)
        .execution_options(yield_per=2000)
    )
    current: str | None = None
    group: list[Any] = []
    for row in session.execute(statement):
        if row.code != current and group:
            yield from _group_rows(group)
            group = []
        current = row.code
        group.append(row)
    if group:
        yield from _group_rows(group)


def _group_rows(group: list[Any]) -> Iterator[dict[str, object]]:
    for row in sorted(group, key=lambda r: sort_key(r.item_key)):
        status = ProcedureStatus(row.status)
        investment = Decimal(str(row.investment_yi)).normalize()
        yield {
            "code": row.code,
            "name": row.name,
            "enterprise": row.enterprise,
            "region": row.region,
            "sector": row.sector,
            "investment": investment if investment != investment.to_integral() else int(investment),
            "start": start_text(row.start_half, row.start_year, row.planned_start_date),
            "steward": row.steward,
            "procedure": procedure_name(row.item_key),
            "status": STATUS_LABELS[status],
            "accepted_on": row.accepted_on,
            "promised_days": row.promised_days,
            "finished_on": row.finished_on,
            "department": row.department,
            "note": row.note,
        }
