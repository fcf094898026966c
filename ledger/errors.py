"""Domain errors of the ledger; the edge (CLI, bot) turns them into Chinese via texts.py.

Errors carry stable reason codes and the offending values, never sentences, so the wording
is reviewed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class LedgerError(Exception):
    """Base of every ledger error."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an import file.

    `row` is the 1-based row of the sheet (the header is row 1; 0 for the file as a whole);
    `column` is the header as written in the file, or the canonical header when it is
    missing; `reason` is a code listed in REASONS; `value` is the offending cell as text.
    """

    row: int
    column: str
    reason: str
    value: str = ""
    params: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


# Reason codes of RowError (texts.LEDGER_REASONS has one sentence per code).
REASONS = (
    "not_xlsx",  # the .xlsx is not a zip workbook (e.g. a renamed text file)
    "unsupported_file",  # an extension other than .xlsx / .csv
    "unreadable",  # the file cannot be read or decoded
    "empty_file",  # no header row
    "no_rows",  # a header but no data rows
    "unknown_header",  # a header the ledger does not know
    "missing_header",  # a required header is absent
    "duplicate_header",  # two columns map to the same field
    "required",  # a required cell is empty
    "unknown_status",
    "unknown_procedure",
    "bad_date",
    "bad_start",  # 计划开工 is neither 2027上半年/下半年 nor a date
    "bad_number",
    "negative",
    "bad_days",  # 承诺时限 not a whole number of days >= 0
    "finished_before_accepted",
    "duplicate_row",  # same (code, procedure) as params["first_row"]
    "conflict",  # project field differs from params["first_row"]
    "too_long",
    # issue 11
    "missing_file",  # the file named does not exist
    "not_a_file",  # a folder, not a file
    "no_ledger_sheet",  # several sheets and none named 台账
    "corrupt_sheet",  # the sheet's XML cannot be parsed
    "cell_too_large",  # a CSV cell over the csv module's 131,072-character limit
    "unclosed_quote",  # a CSV quote that is never closed
    "bad_csv",
    "date_out_of_range",  # a date outside params["low"]..params["high"]
    "date_is_time",  # a time of day (Excel's date serial 0) where a date belongs
    "date_in_future",  # a done/accepted date after today
    "start_out_of_range",  # 计划开工 year outside the window
    "dates_not_allowed",  # 未启动 / 无需办理 with an accepted or done date
    "finished_required",  # 已办结 without 办结日期
    "finished_while_in_progress",  # 办理中 with 办结日期
    "unknown_department",  # 责任部门 not in departments.yaml
    "example_row",  # the template's example row left in the file
    "code_as_number",  # a project code of 16+ digits in a number cell: Excel has rounded it
    "investment_too_large",  # 总投资 over 5,000 亿元: a figure in 万元 or 元
    "formula_without_value",  # a formula no spreadsheet program calculated; value is the cell (D4)
)


class LedgerImportError(LedgerError):
    """An import was refused; nothing was written. `errors` lists every problem found."""

    def __init__(self, errors: list[RowError], *, sheet: str | None = None) -> None:
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))
        self.sheet = sheet  # the sheet read (None for a .csv), named in every message
        super().__init__(f"{len(self.errors)} error(s) in the ledger file")


class UnsupportedFileKind(LedgerError):
    """A file to write whose suffix is neither .xlsx nor .csv."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"cannot write {name!r}: .xlsx or .csv only")


class ProjectNotFound(LedgerError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no project with code {code!r}")


class ProcedureNotInLedger(LedgerError):
    def __init__(self, code: str, item_key: str) -> None:
        self.code = code
        self.item_key = item_key
        super().__init__(f"project {code!r} has no procedure {item_key!r} in the ledger")


class BadMonthDay(LedgerError):
    """A configured deadline is not "MM-DD"."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"not a MM-DD date: {text!r}")
