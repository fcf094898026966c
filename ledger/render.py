"""Renderings of profiles, progress, status answers and import errors: plain text, and the
profile as an Excel workbook.

Shared by the command line and the bot; wording comes from texts.py. Values that come from
the ledger file pass through `escape` (the bot gives html.escape for parse_mode=HTML).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import texts
from knowledge.atomic_file import replaced
from ledger.errors import LedgerImportError, RowError
from ledger.profile import ProcedureLine, ProgressSummary, ProjectProfile
from ledger.report import Figures, LedgerReport

Escape = Callable[[str], str]


def _plain(text: str) -> str:
    return text


def investment_text(amount: Decimal) -> str:
    """亿元 as written: 10, 12.5, 0.0001 (never 1E+1)."""
    return format(amount.normalize(), "f")


def reason_text(error: RowError) -> str:
    """The reason of one import problem, without where it is."""
    template = texts.LEDGER_REASONS.get(error.reason, error.reason)
    return template.format(value=error.value, **error.params)


def row_error_text(error: RowError, sheet: str | None = None) -> str:
    reason = reason_text(error)
    if error.row == 0:
        return texts.LEDGER_FILE_ERROR.format(reason=reason)
    prefix = texts.LEDGER_SHEET_PREFIX.format(sheet=sheet) if sheet else ""
    if error.reason in ("unknown_header", "missing_header", "duplicate_header", "no_rows"):
        if not error.column:
            return prefix + texts.LEDGER_FILE_ERROR.format(reason=reason)
        return prefix + texts.LEDGER_HEADER_ERROR.format(column=error.column, reason=reason)
    if not error.column:
        return prefix + texts.LEDGER_ROW_ERROR_NO_COLUMN.format(row=error.row, reason=reason)
    return prefix + texts.LEDGER_ROW_ERROR.format(row=error.row, column=error.column, reason=reason)


IMPORT_ERRORS_SHOWN = 50  # a bad 10,000-row file would print tens of thousands of lines


def import_error_lines(error: LedgerImportError, *, limit: int | None = IMPORT_ERRORS_SHOWN) -> list[str]:
    """The refusal, then at most `limit` problems and a count of the rest."""
    count = len(error.errors)
    head = (
        texts.LEDGER_IMPORT_FAILED_SHEET.format(sheet=error.sheet, count=count)
        if error.sheet
        else texts.LEDGER_IMPORT_FAILED.format(count=count)
    )
    shown = error.errors if limit is None else error.errors[:limit]
    lines = [head, *(row_error_text(e, error.sheet) for e in shown)]
    if len(shown) < count:
        lines.append(texts.LEDGER_ERRORS_MORE.format(count=count - len(shown)))
    return lines


def rate_text(rate: Decimal | None) -> str:
    return texts.LEDGER_RATE_NONE if rate is None else texts.LEDGER_RATE.format(rate=rate)


def _group_line(name: str, figures: Figures, escape: Escape) -> str:
    return texts.LEDGER_REPORT_GROUP.format(
        name=escape(name),
        projects=figures.projects,
        projects_complete=figures.projects_complete,
        project_rate=rate_text(figures.project_completion_rate),
        procedures=figures.procedures,
        procedure_rate=rate_text(figures.procedure_completion_rate),
    )


def report_text(report: LedgerReport, *, escape: Escape = _plain) -> str:
    overall = report.overall
    lines = [
        texts.LEDGER_REPORT_TITLE,
        texts.LEDGER_REPORT_OVERALL.format(
            projects=overall.projects,
            projects_complete=overall.projects_complete,
            project_rate=rate_text(overall.project_completion_rate),
            procedures=overall.procedures,
            procedures_done=overall.procedures_done,
            procedures_not_needed=overall.procedures_not_needed,
            procedure_rate=rate_text(overall.procedure_completion_rate),
        ),
        _group_line(texts.LEDGER_REPORT_OVER_1BN, report.over_1bn, _plain),
        texts.LEDGER_REPORT_BY_REGION,
        *(_group_line(g.name, g.figures, escape) for g in report.by_region),
        texts.LEDGER_REPORT_BY_SECTOR,
        *(_group_line(g.name, g.figures, escape) for g in report.by_sector),
    ]
    return "\n".join(lines)


def deadline_text(days: int | None, working_days: int | None) -> str:
    if days is None or working_days is None:
        return texts.LEDGER_DEADLINE_UNKNOWN
    if days > 0:
        return texts.LEDGER_DEADLINE_AHEAD.format(days=days, working_days=working_days)
    if days == 0:
        return texts.LEDGER_DEADLINE_TODAY
    return texts.LEDGER_DEADLINE_PASSED.format(days=-days)


def _counts(summary: ProgressSummary) -> str:
    return texts.LEDGER_PROGRESS_COUNTS.format(
        done=summary.done,
        not_needed=summary.not_needed,
        in_progress=summary.in_progress,
        not_started=summary.not_started,
    )


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _start(profile: ProjectProfile) -> str:
    """计划开工: the planned date, else the half and year."""
    if profile.planned_start_date:
        return profile.planned_start_date.isoformat()
    return texts.LEDGER_HALF[profile.start_half].format(year=profile.start_year)


def _shown_status(line: ProcedureLine) -> str:
    if line.overdue:
        return texts.LEDGER_STATUS_OVERDUE.format(status=line.status_label)
    return line.status_label


def _due_text(line: ProcedureLine, *, overdue_template: str, due_template: str) -> str:
    if line.due_on is None or line.working_days_left is None:
        return ""
    if line.overdue:
        return overdue_template.format(due=_iso(line.due_on), days=-line.working_days_left)
    return due_template.format(due=_iso(line.due_on), left=line.working_days_left)


def _dates_text(line: ProcedureLine, *, accepted: str, overdue: str, due: str, finished: str) -> str:
    """Accepted, due (or overdue) and finished dates of a procedure, in the given wording."""
    dates = accepted.format(accepted=_iso(line.accepted_on)) if line.accepted_on else ""
    dates += _due_text(line, overdue_template=overdue, due_template=due)
    if line.finished_on:
        dates += finished.format(finished=_iso(line.finished_on))
    return dates


def profile_text(profile: ProjectProfile, *, escape: Escape = _plain) -> str:
    summary = profile.summary
    lines = [
        texts.LEDGER_PROFILE_HEADER.format(
            name=escape(profile.name),
            code=escape(profile.code),
            enterprise=escape(profile.enterprise or "—"),
            region=escape(profile.region),
            sector=escape(profile.sector),
            investment=investment_text(profile.investment_yi),
            start=_start(profile),
            steward=escape(profile.steward or "—"),
            deadline=_iso(summary.deadline),
            days_text=deadline_text(summary.days_to_deadline, summary.working_days_to_deadline),
            counts=_counts(summary),
        )
    ]
    for index, line in enumerate(profile.procedures, start=1):
        dates = _dates_text(
            line,
            accepted=texts.LEDGER_PROFILE_ACCEPTED,
            overdue=texts.LEDGER_PROFILE_DUE_OVERDUE,
            due=texts.LEDGER_PROFILE_DUE,
            finished=texts.LEDGER_PROFILE_FINISHED,
        )
        lines.append(
            texts.LEDGER_PROFILE_LINE.format(
                index=index, name=line.name, status=_shown_status(line), department=escape(line.department), dates=dates
            )
        )
        if line.materials:
            lines.append(texts.LEDGER_PROFILE_MATERIALS.format(materials="、".join(escape(m) for m in line.materials)))
    return "\n".join(lines)


def progress_text(summary: ProgressSummary, *, escape: Escape = _plain) -> str:
    return texts.LEDGER_PROGRESS_SHORT.format(
        name=escape(summary.name),
        done=summary.done,
        not_needed=summary.not_needed,
        in_progress=summary.in_progress,
        not_started=summary.not_started,
        total=summary.total,
        deadline=_iso(summary.deadline),
        days_text=deadline_text(summary.days_to_deadline, summary.working_days_to_deadline),
    )


def status_text(line: ProcedureLine, *, escape: Escape = _plain) -> str:
    dates = _dates_text(
        line,
        accepted=texts.LEDGER_STATUS_ACCEPTED,
        overdue=texts.LEDGER_STATUS_DUE_OVERDUE,
        due=texts.LEDGER_STATUS_DUE,
        finished=texts.LEDGER_STATUS_FINISHED,
    )
    if dates.endswith("，"):  # accepted, with no promised days to give a due date
        dates = dates[:-1] + "。"
    return texts.LEDGER_STATUS_ANSWER.format(
        item=line.name, status=line.status_label, department=escape(line.department), dates=dates
    )


def _profile_workbook(profile: ProjectProfile) -> Any:
    """The profile as a one-sheet workbook: project facts, progress, one row per procedure."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = texts.LEDGER_PROFILE_SHEET
    bold = Font(bold=True)
    sheet.append([texts.LEDGER_PROFILE_TITLE.format(name=profile.name)])
    sheet["A1"].font = Font(bold=True, size=14)
    summary = profile.summary
    labels = texts.LEDGER_PROFILE_LABELS
    facts = [
        (labels["code"], profile.code),
        (labels["enterprise"], profile.enterprise or ""),
        (labels["region"], profile.region),
        (labels["sector"], profile.sector),
        (labels["investment"], float(profile.investment_yi)),
        (labels["start"], _start(profile)),
        (labels["steward"], profile.steward or ""),
        (labels["deadline"], summary.deadline),
        (
            labels["days_left"],
            texts.LEDGER_DAYS_LEFT.format(days=summary.days_to_deadline, working_days=summary.working_days_to_deadline)
            if summary.days_to_deadline is not None
            else texts.LEDGER_DEADLINE_UNKNOWN,
        ),
        (labels["progress"], _counts(summary)),
        (labels["as_of"], profile.today),
    ]
    for label, value in facts:
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = bold
        if isinstance(value, date):
            sheet.cell(sheet.max_row, 2).number_format = "yyyy-mm-dd"
    sheet.append([])
    sheet.append(list(texts.LEDGER_PROFILE_COLUMNS))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for line in profile.procedures:
        sheet.append(
            [
                line.name,
                _shown_status(line),
                line.department,
                line.accepted_on,
                line.promised_days,
                line.due_on,
                line.working_days_left,
                line.finished_on,
                "\n".join(line.materials),
                line.note or "",
            ]
        )
        row = sheet.max_row
        for column in (4, 6, 8):
            sheet.cell(row, column).number_format = "yyyy-mm-dd"
        sheet.cell(row, 9).alignment = wrap
    for letter, width in zip("ABCDEFGHIJ", (18, 14, 20, 12, 10, 12, 10, 12, 48, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    _as_text(sheet)
    return workbook


def _as_text(sheet: Any) -> None:
    """Keep every value from the ledger a value: openpyxl writes a string that starts with
    「=」 as a live formula, and this file goes to the enterprise (formula injection)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def write_profile_xlsx(profile: ProjectProfile, path: Path | str) -> Path:
    """Write the profile workbook to `path`."""
    path = Path(path)
    with replaced(path, binary=True) as handle:
        _profile_workbook(profile).save(handle)
    return path


def profile_xlsx_bytes(profile: ProjectProfile) -> bytes:
    """The profile workbook as the bytes of an .xlsx file (to send as a document)."""
    buffer = io.BytesIO()
    _profile_workbook(profile).save(buffer)
    return buffer.getvalue()
