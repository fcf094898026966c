"""Import a ledger file (.xlsx or .csv, long format) into the database, all or nothing.

Every row is validated before anything is written; a file with any problem raises
LedgerImportError listing every problem (row, column, reason) and writes nothing. A valid file
is upserted by project code and by (project, procedure) with a handful of bulk statements, so
100,000 rows import in seconds: one SELECT per 900 codes, never one per row.

What the file does not mention is left alone: projects and procedures missing from it stay
(unless a prune archives the projects, see `write_ledger`), an optional column the file does
not have (建设单位, 项目管家, 受理日期, 承诺时限, 办结日期, 责任部门, 备注) leaves that field of
every row as it is stored (only a blank cell in a column the file has clears it), and a
project's help group binding is never touched by an import. Rows are checked against each other (status against dates, one
value per project field), against a date window and today, and against the knowledge base's
departments (`Checks`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, text, update
from sqlmodel import Session

from ledger.archive import active_codes_absent, archive_projects
from ledger.columns import (
    BY_FIELD,
    COLUMNS,
    EXAMPLE_ROW,
    IGNORED_HEADERS,
    PROJECT_FIELDS,
    resolve_header,
)
from ledger.errors import LedgerImportError, RowError
from ledger.models import PROCEDURE_TABLE, PROJECT_TABLE, ProcedureStatus
from ledger.procedures import normalize_label, resolve_procedure, resolve_status
from ledger.reader import Row, Uncalculated, XlsxReader, read_rows
from ledger.values import (
    CODE_NUMBER_LIMIT,
    BadCell,
    as_text,
    is_blank,
    parse_date,
    parse_days,
    parse_investment,
    parse_start,
    project_code,
)

Progress = Callable[[int, int], None]
KnownDepartment = Callable[[str], bool]

# Dates outside this window are typing mistakes (1900-01-01, 2202); see `Checks`.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

PROGRESS_EVERY = 100  # a bar that moves on a few hundred rows too
HEADER_SCAN_ROWS = 10  # a title line or two above the header is common in city ledgers
_CHUNK = 900  # keeps IN (...) lists under every backend's parameter limit
_IMPORT_LOCK = 0x4C65_6467  # "Ledg": the advisory lock two imports on PostgreSQL take in turn
_PROCEDURE_FIELDS = ("status", "department", "accepted_on", "promised_days", "finished_on", "note")
# Optional columns: stored column -> the file's field. A file without the field leaves it alone.
_OPTIONAL_PROJECT_COLUMNS = {"enterprise": "enterprise", "steward": "steward"}
_OPTIONAL_PROCEDURE_COLUMNS = {
    "department": "department",
    "accepted_on": "accepted_on",
    "promised_days": "promised_days",
    "finished_on": "finished_on",
    "note": "note",
}

R = TypeVar("R")


@dataclass
class ImportResult:
    rows: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    projects_unchanged: int = 0
    procedures_created: int = 0
    procedures_updated: int = 0
    procedures_unchanged: int = 0
    projects_restored: int = 0  # archived projects the file named again
    archived: list[str] = field(default_factory=list)  # codes archived by a prune

    @property
    def changed(self) -> bool:
        return bool(
            self.projects_created or self.projects_updated or self.procedures_created or self.procedures_updated
        )


@dataclass(slots=True)
class ProjectDraft:
    code: str
    first_row: int
    values: dict[str, Any] = field(default_factory=dict)  # field -> parsed value
    rows: dict[str, int] = field(default_factory=dict)  # field -> row that gave it
    rejected: set[str] = field(default_factory=set)  # fields given but invalid

    def columns(self) -> dict[str, Any]:
        half, year, planned = self.values["start"]
        return {
            "code": self.code,
            "name": self.values["name"],
            "enterprise": self.values.get("enterprise"),
            "region": self.values["region"],
            "sector": self.values["sector"],
            "investment_yi": self.values["investment"],
            "start_half": half,
            "start_year": year,
            "planned_start_date": planned,
            "steward": self.values.get("steward"),
            "archived_at": None,  # a project the file names is in the ledger again
        }

    def changes(self, present: frozenset[str]) -> dict[str, Any]:
        """The columns an update writes: not the optional ones whose column the file lacks."""
        return _without_absent(self.columns(), _OPTIONAL_PROJECT_COLUMNS, present)


@dataclass(slots=True)
class ProcedureDraft:
    row: int
    code: str
    item_key: str
    status: ProcedureStatus
    department: str | None
    accepted_on: date | None
    promised_days: int | None
    finished_on: date | None
    note: str | None

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PROCEDURE_FIELDS}

    def changes(self, present: frozenset[str]) -> dict[str, Any]:
        """The columns an update writes: not the optional ones whose column the file lacks,
        except a stored date the new status rules out (未启动 has no dates, 办理中 no 办结日期)."""
        values = _without_absent(self.columns(), _OPTIONAL_PROCEDURE_COLUMNS, present)
        if self.status in (ProcedureStatus.not_started, ProcedureStatus.not_needed):
            values.setdefault("accepted_on", None)
            values.setdefault("finished_on", None)
        elif self.status is ProcedureStatus.in_progress:
            values.setdefault("finished_on", None)
        return values


def _without_absent(values: dict[str, Any], optional: dict[str, str], present: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in optional or optional[name] in present}


@dataclass(frozen=True)
class Checks:
    """What a row is checked against beyond its own cells: today (accepted and done dates
    cannot be later; None skips that check) and the known departments (None skips it)."""

    today: date | None = None
    known_department: KnownDepartment | None = None


@dataclass
class ValidLedger:
    projects: dict[str, ProjectDraft]
    procedures: dict[tuple[str, str], ProcedureDraft]
    rows: int
    # The fields the file has a column for; None: every field (a ledger built in code).
    fields: frozenset[str] | None = None

    @property
    def present(self) -> frozenset[str]:
        return self.fields if self.fields is not None else frozenset(BY_FIELD)


# ---------------------------------------------------------------------------- entry points


def import_file(
    *,
    session: Session,
    path: Path | str,
    progress: Progress | None = None,
    write_progress: Progress | None = None,
    checks: Checks | None = None,
    reader: XlsxReader = "calamine",
) -> ImportResult:
    """Import a .xlsx or .csv ledger file; raises LedgerImportError and writes nothing on error.
    `progress` follows the rows read and checked, `write_progress` the procedures written."""
    ledger = validate_file(Path(path), progress=progress, checks=checks, reader=reader)
    return write_ledger(session=session, ledger=ledger, progress=write_progress)


def validate_file(
    path: Path, *, progress: Progress | None = None, checks: Checks | None = None, reader: XlsxReader = "calamine"
) -> ValidLedger:
    """Read and check a ledger file; LedgerImportError (naming the sheet) on any problem."""
    sheet = read_rows(path, reader=reader)
    try:
        return validate_rows(sheet.rows, progress=progress, total=sheet.total, checks=checks)
    except LedgerImportError as exc:
        exc.sheet = exc.sheet or sheet.sheet
        raise


def import_rows(
    *,
    session: Session,
    rows: Iterable[Row],
    progress: Progress | None = None,
    total: int = 0,
    write_progress: Progress | None = None,
    checks: Checks | None = None,
) -> ImportResult:
    """Import rows (header row first, then data rows) as read from a sheet."""
    ledger = validate_rows(rows, progress=progress, total=total, checks=checks)
    return write_ledger(session=session, ledger=ledger, progress=write_progress)


# ---------------------------------------------------------------------------- validation


def validate_rows(
    rows: Iterable[Row], *, progress: Progress | None = None, total: int = 0, checks: Checks | None = None
) -> ValidLedger:
    """Check every row; raise LedgerImportError with every problem, or return the drafts."""
    iterator = iter(rows)
    header_row, header_cells, pending = _find_header(iterator)
    if header_row == 0:
        raise LedgerImportError([RowError(0, "", "empty_file")])
    fields, headers, errors = _map_header(header_row, header_cells)
    if errors:
        raise LedgerImportError(errors)
    total = max(total - header_row, 0)

    checker = _RowChecker(fields, headers, checks or Checks())
    count = 0
    for number, cells in itertools.chain(pending, iterator):
        if all(is_blank(c) for c in cells):
            continue
        checker.check(number, cells)
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count, total if total >= count else 0)  # 0: total not known
    if progress:
        progress(count, count)
    if count == 0:
        raise LedgerImportError([RowError(header_row, "", "no_rows")])
    checker.finish()
    if checker.errors:
        raise LedgerImportError(checker.errors)
    return ValidLedger(projects=checker.projects, procedures=checker.procedures, rows=count, fields=frozenset(headers))


def _find_header(rows: Iterator[Row]) -> tuple[int, Sequence[object], list[Row]]:
    """The header is the first row naming 项目代码 (or three known columns) among the first
    non-blank rows; failing that, the first non-blank row (so its problems get reported)."""
    seen: list[Row] = []
    for number, cells in rows:
        if all(is_blank(c) for c in cells):
            continue
        seen.append((number, cells))
        known = [resolve_header(as_text(c)) for c in cells if not is_blank(c)]
        if "code" in known or sum(1 for k in known if k) >= 3:
            return number, cells, []
        if len(seen) >= HEADER_SCAN_ROWS:
            break
    if not seen:
        return 0, (), []
    number, cells = seen[0]
    return number, cells, seen[1:]


def _map_header(row: int, cells: Sequence[object]) -> tuple[dict[int, str], dict[str, str], list[RowError]]:
    fields: dict[int, str] = {}  # column index -> field
    headers: dict[str, str] = {}  # field -> header text as written
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
        if is_blank(cell):
            continue
        text = as_text(cell)
        name = resolve_header(text)
        if name is None:
            if normalize_label(text) not in IGNORED_HEADERS:
                errors.append(RowError(row, text, "unknown_header", text))
            continue
        if name in headers:
            errors.append(RowError(row, text, "duplicate_header", text, {"other": headers[name]}))
            continue
        fields[index] = name
        headers[name] = text
    for column in COLUMNS:
        if column.required and column.field not in headers:
            errors.append(RowError(row, column.header, "missing_header"))
    return fields, headers, errors


class _RowChecker:
    def __init__(self, fields: dict[int, str], headers: dict[str, str], checks: Checks) -> None:
        self.fields = fields
        self.headers = headers
        self.checks = checks
        self.departments: dict[str, bool] = {}  # text -> known (one lookup per distinct text)
        self.resolved: dict[str, dict[str, Any]] = {}  # field -> text -> resolved value
        self.errors: list[RowError] = []
        self.projects: dict[str, ProjectDraft] = {}
        self.procedures: dict[tuple[str, str], ProcedureDraft] = {}
        self.seen: dict[tuple[str, str], int] = {}  # (code, item) -> first row, valid or not
        # A project's cells repeat on each of its rows: parse them once (valid ones only, so
        # an invalid cell is still reported on every row that has it).
        self.last_project: tuple[tuple[object, ...], dict[str, object]] | None = None

    def _error(self, row: int, name: str, reason: str, value: object = "", **params: object) -> None:
        header = self.headers.get(name, BY_FIELD[name].header)
        text = "" if is_blank(value) else as_text(value)[:80]
        self.errors.append(RowError(row, header, reason, text, params))

    def check(self, row: int, cells: Sequence[object]) -> None:
        raw: dict[str, object] = {}
        width = len(cells)
        uncalculated = False
        for index, name in self.fields.items():  # is_blank inlined: 1.5 M calls on 100,000 rows
            if index < width:
                value = cells[index]
                if value is not None and (value.__class__ is not str or value.strip()):
                    raw[name] = value
                    if value.__class__ is Uncalculated:
                        uncalculated = True
        if uncalculated:  # what the cell holds is not known: nothing of this row is checked
            for name, value in raw.items():
                if isinstance(value, Uncalculated):
                    self._error(row, name, "formula_without_value", value.ref)
            return

        given = raw.get("code")
        if given.__class__ in (int, float) and abs(given) >= CODE_NUMBER_LIMIT:
            self._error(row, "code", "code_as_number", given)
            code = None
        else:
            code = self._text(row, raw, "code")
        if code is not None:
            code = project_code(code)
        elif "code" not in raw:
            self._error(row, "code", "required")
        project_values, rejected = self._project_values(row, raw)
        if "name" in raw and as_text(raw["name"]) == EXAMPLE_ROW["name"]:
            self._error(row, "name", "example_row", raw["name"])
        item_key, procedure = self._procedure(row, raw, code)
        if code is None:
            return
        draft = self.projects.get(code)
        if draft is None:
            draft = self.projects[code] = ProjectDraft(code, row)
        draft.rejected |= rejected
        for name, value in project_values.items():
            if name not in draft.values:
                draft.values[name] = value
                draft.rows[name] = row
            elif draft.values[name] != value:
                self._error(row, name, "conflict", raw[name], first_row=draft.rows[name])
        if item_key is not None:
            key = (code, item_key)
            first = self.seen.setdefault(key, row)
            if first != row:
                self._error(row, "procedure", "duplicate_row", raw["procedure"], first_row=first)
            elif procedure is not None:
                self.procedures[key] = procedure

    def _text(self, row: int, raw: dict[str, object], name: str) -> str | None:
        if name not in raw:
            return None
        text = as_text(raw[name])
        limit = BY_FIELD[name].max_length
        if limit and len(text) > limit:
            self._error(row, name, "too_long", raw[name], limit=limit)
            return None
        return text

    def _project_values(self, row: int, raw: dict[str, object]) -> tuple[dict[str, object], set[str]]:
        cells = tuple(raw.get(name) for name in PROJECT_FIELDS)
        if self.last_project is not None and self.last_project[0] == cells:
            return self.last_project[1], set()
        values, rejected = self._parse_project_values(row, raw)
        self.last_project = (cells, values) if not rejected else None
        return values, rejected

    def _parse_project_values(self, row: int, raw: dict[str, object]) -> tuple[dict[str, object], set[str]]:
        values: dict[str, object] = {}
        rejected: set[str] = set()
        for name in PROJECT_FIELDS:
            if name not in raw:
                continue
            try:
                if name == "investment":
                    values[name] = parse_investment(raw[name])
                elif name == "start":
                    values[name] = self._start(parse_start(raw[name]))
                else:
                    text = self._text(row, raw, name)
                    if text is None:
                        rejected.add(name)
                    else:
                        values[name] = text
            except BadCell as bad:
                self._error(row, name, bad.reason, raw[name])
                rejected.add(name)
        return values, rejected

    @staticmethod
    def _start(start: tuple[int, int, date | None]) -> tuple[int, int, date | None]:
        """计划开工 within the window (a year like 0000 or 2202 is a typing mistake)."""
        if not EARLIEST.year <= start[1] <= LATEST.year:
            raise BadCell("start_out_of_range")
        return start

    def _date(self, value: object) -> date:
        """A date cell within the window, and not after today."""
        day = parse_date(value)
        if not EARLIEST <= day <= LATEST:
            raise BadCell("date_out_of_range")
        if self.checks.today is not None and day > self.checks.today:
            raise BadCell("date_in_future")
        return day

    def _department(self, row: int, raw: dict[str, object], text: str | None) -> bool:
        """False (after recording why) when 责任部门 names no department of the knowledge base."""
        known = self.checks.known_department
        if text is None or known is None:
            return True
        ok = self.departments.get(text)
        if ok is None:
            ok = self.departments[text] = known(text)
        if not ok:
            self._error(row, "department", "unknown_department", raw["department"])
        return ok

    def _status_dates(
        self, row: int, raw: dict[str, object], status: ProcedureStatus, accepted: date | None, finished: date | None
    ) -> bool:
        """False (after recording why) when the status contradicts the dates."""
        ok = True
        if status in (ProcedureStatus.not_started, ProcedureStatus.not_needed):
            for name, day in (("accepted_on", accepted), ("finished_on", finished)):
                if day is not None:
                    self._error(row, name, "dates_not_allowed", raw[name], status=as_text(raw["status"]))
                    ok = False
        elif status is ProcedureStatus.done and finished is None and "finished_on" not in raw:
            self._error(row, "finished_on", "finished_required")
            ok = False
        elif status is ProcedureStatus.in_progress and finished is not None:
            self._error(row, "finished_on", "finished_while_in_progress", raw["finished_on"])
            ok = False
        return ok

    def _resolved(
        self, row: int, raw: dict[str, object], name: str, resolve: Callable[[str], R | None], unknown: str
    ) -> R | None:
        """A required cell turned into its value by `resolve`; None after recording why not."""
        if name not in raw:
            self._error(row, name, "required")
            return None
        text = as_text(raw[name])
        cache = self.resolved.setdefault(name, {})  # a ledger repeats a dozen labels
        if text not in cache:
            cache[text] = resolve(text)
        value = cache[text]
        if value is None:
            self._error(row, name, unknown, raw[name])
        return value

    def _procedure(
        self, row: int, raw: dict[str, object], code: str | None
    ) -> tuple[str | None, ProcedureDraft | None]:
        item_key = self._resolved(row, raw, "procedure", resolve_procedure, "unknown_procedure")
        status = self._resolved(row, raw, "status", resolve_status, "unknown_status")
        ok = item_key is not None and status is not None
        dates: dict[str, date | None] = {}
        for name in ("accepted_on", "finished_on"):
            dates[name] = None
            if name in raw:
                try:
                    dates[name] = self._date(raw[name])
                except BadCell as bad:
                    self._error(row, name, bad.reason, raw[name])
                    ok = False
        days = None
        if "promised_days" in raw:
            try:
                days = parse_days(raw["promised_days"])
            except BadCell as bad:
                self._error(row, "promised_days", bad.reason, raw["promised_days"])
                ok = False
        accepted, finished = dates["accepted_on"], dates["finished_on"]
        if accepted and finished and finished < accepted:
            self._error(row, "finished_on", "finished_before_accepted", raw["finished_on"])
            ok = False
        if status is not None and not self._status_dates(row, raw, status, accepted, finished):
            ok = False
        texts: dict[str, str | None] = {}
        for name in ("department", "note"):
            texts[name] = self._text(row, raw, name)  # None: absent, or too long (reported)
            ok = ok and (name not in raw or texts[name] is not None)
        department, note = texts["department"], texts["note"]
        ok = self._department(row, raw, department) and ok
        if not ok or code is None:
            return item_key, None
        assert item_key is not None and status is not None
        return item_key, ProcedureDraft(row, code, item_key, status, department, accepted, days, finished, note)

    def finish(self) -> None:
        """Every project needs its identity fields in at least one of its rows."""
        for draft in self.projects.values():
            for name in ("name", "region", "sector", "investment", "start"):
                # A value given but rejected is reported already; don't add "required".
                if name not in draft.values and name not in draft.rejected:
                    self._error(draft.first_row, name, "required")


# ---------------------------------------------------------------------------- writing


def write_ledger(
    *,
    session: Session,
    ledger: ValidLedger,
    progress: Progress | None = None,
    archive_absent_at: datetime | None = None,
) -> ImportResult:
    """Upsert validated drafts with bulk statements; the caller's unit of work commits.
    `progress(done, total)` after each chunk of procedures written. With `archive_absent_at`
    (a prune), the projects the file does not name are archived at that time."""
    _one_import_at_a_time(session)
    result = ImportResult(rows=ledger.rows)
    if archive_absent_at is not None:
        absent = active_codes_absent(session=session, present=ledger.projects)
        result.archived = archive_projects(session=session, codes=absent, now=archive_absent_at)
    table = PROJECT_TABLE
    codes = list(ledger.projects)
    existing: dict[str, Any] = {}
    for chunk in _chunks(codes, _CHUNK):
        for row in session.execute(select(table).where(table.c.code.in_(chunk))).mappings():
            existing[row["code"]] = row

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    present = ledger.present
    for code, draft in ledger.projects.items():
        old = existing.get(code)
        if old is None:
            inserts.append(draft.columns())  # a column the file lacks: None in a new row
            continue
        values = draft.changes(present)
        ids[code] = old["id"]
        if old["archived_at"] is not None:
            result.projects_restored += 1
        if _changed(old, values):
            updates.append(_update_params(old["id"], values))
        else:
            result.projects_unchanged += 1
    if inserts:
        session.execute(insert(table), inserts)
        new_codes = [values["code"] for values in inserts]
        for chunk in _chunks(new_codes, _CHUNK):
            for pid, code in session.execute(select(table.c.id, table.c.code).where(table.c.code.in_(chunk))):
                ids[code] = pid
    if updates:
        session.execute(_update_by_id(table, updates[0]), updates)
    result.projects_created = len(inserts)
    result.projects_updated = len(updates)

    # Procedures go project chunk by project chunk so the statements' parameters stay small.
    ptable = PROCEDURE_TABLE
    by_code: dict[str, list[ProcedureDraft]] = {}
    for (code, _item), proc in ledger.procedures.items():
        by_code.setdefault(code, []).append(proc)
    for chunk in _chunks(codes, _CHUNK):
        existing_procs: dict[tuple[int, str], Any] = {}
        known = [ids[c] for c in chunk if c in existing]
        if known:
            statement = select(ptable).where(ptable.c.project_id.in_(known))
            for row in session.execute(statement).mappings():
                existing_procs[(row["project_id"], row["item_key"])] = row
        proc_inserts: list[dict[str, Any]] = []
        proc_updates: list[dict[str, Any]] = []
        for code in chunk:
            for proc in by_code.get(code, ()):
                old = existing_procs.get((ids[code], proc.item_key))
                if old is None:
                    proc_inserts.append({"project_id": ids[code], "item_key": proc.item_key, **proc.columns()})
                    continue
                values = proc.changes(present)
                if _changed(old, values):
                    proc_updates.append(_update_params(old["id"], values))
                else:
                    result.procedures_unchanged += 1
        if proc_inserts:
            session.execute(insert(ptable), proc_inserts)
        for same_columns in _by_shape(proc_updates):
            session.execute(_update_by_id(ptable, same_columns[0]), same_columns)
        result.procedures_created += len(proc_inserts)
        result.procedures_updated += len(proc_updates)
        if progress:
            progress(
                result.procedures_created + result.procedures_updated + result.procedures_unchanged,
                len(ledger.procedures),
            )
    return result


def _one_import_at_a_time(session: Session) -> None:
    """Wait for any other import to commit before reading what is stored: two imports at once
    would both find a new code absent and both insert it (a unique-index violation), or write
    over each other's rows. PostgreSQL: a transaction-scoped advisory lock (waits up to the
    session's lock_timeout). SQLite: the transaction's first statement is a write, which takes
    the database's write lock (waiting up to busy_timeout) before anything is read, as BEGIN
    IMMEDIATE would."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
    elif dialect == "sqlite":
        session.execute(update(PROJECT_TABLE).where(PROJECT_TABLE.c.id.is_(None)).values(code=PROJECT_TABLE.c.code))


def _changed(old: Any, values: dict[str, Any]) -> bool:
    """Some of `values` differ from the stored row `old`."""
    return any(not _same(old[name], value) for name, value in values.items())


def _update_params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of one row of `_update_by_id`."""
    return {"_id": row_id, **{f"v_{name}": value for name, value in values.items()}}


def _by_shape(updates: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """`updates` grouped by the columns they set: one executemany statement per group."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for params in updates:
        groups.setdefault(tuple(params), []).append(params)
    return list(groups.values())


def _update_by_id(table: Any, sample: dict[str, Any]) -> Any:
    """One executemany UPDATE ... WHERE id = :_id for rows shaped like `sample` ({"_id",
    "v_<column>"...}). Core, not the ORM's bulk helpers: those split a batch with NULLs in
    varying columns into many statements."""
    return (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({name[2:]: bindparam(name) for name in sample if name.startswith("v_")})
    )


def _same(old: object, new: object) -> bool:
    if isinstance(new, ProcedureStatus):
        return old == new or old == new.value
    if isinstance(new, Decimal) and old is not None:
        return Decimal(str(old)) == new
    return old == new


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
