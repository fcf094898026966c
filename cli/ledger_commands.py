"""`steward ledger import|export|template|report|profile`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from tqdm import tqdm

import texts
from cli.common import (
    fail,
    knowledge_or_exit,
    open_database,
    settings_or_exit,
    writable_or_exit,
)
from config import Settings, SettingsError
from config.clock import working_clock
from ledger.archive import active_codes_absent, archive_projects
from ledger.errors import BadMonthDay, LedgerImportError, ProjectNotFound, UnsupportedFileKind
from ledger.exporter import export_ledger, file_kind, write_template
from ledger.error_report import write_error_workbook
from ledger.importer import Checks, validate_file, write_ledger
from ledger.lookups import KnowledgeLookups
from ledger.profile import project_profile
from ledger.render import (
    import_error_lines,
    profile_text,
    report_text,
    write_profile_xlsx,
)
from ledger.report import compute_report
from storage import utcnow

PROGRESS_MIN_ROWS = 300  # smaller files finish before a bar would be read


def progress_bar(label: str, stream: TextIO | None = None) -> Callable[[int, int], None]:
    """A tqdm bar on stderr for jobs of PROGRESS_MIN_ROWS rows or more, drawn only when the
    stream is a terminal (a log file gets no carriage returns); `total` 0 means not known yet.
    The final call has done == total."""
    out = stream or sys.stderr
    bar: list[tqdm] = []

    def show(done: int, total: int) -> None:
        if max(done, total) < PROGRESS_MIN_ROWS:
            return
        if not bar:
            bar.append(tqdm(total=total or None, desc=label, file=out, unit="行",
                            disable=not out.isatty(), dynamic_ncols=True, leave=True))
        current = bar[0]
        if total and current.total != total:
            current.total = total
        current.update(done - current.n)
        if done == total:
            current.close()

    return show


def _import_checks(settings: Settings) -> Checks:
    """Today in the configured time zone, and the departments of the knowledge base."""
    lookups = KnowledgeLookups(knowledge_or_exit(settings))
    return Checks(today=datetime.now(settings.tz).date(),
                  known_department=lambda text: lookups.resolve_department(text) is not None)


def cmd_import(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    errors_path = Path(args.errors) if args.errors else None
    if errors_path is not None:
        writable_or_exit(errors_path)
    checks = _import_checks(settings)
    path = Path(args.file)
    try:
        ledger = validate_file(path, progress=progress_bar(texts.LEDGER_PROGRESS_IMPORT),
                               checks=checks)
    except LedgerImportError as exc:
        for line in import_error_lines(exc):
            print(line, file=sys.stderr)
        if errors_path is not None:
            try:
                count = write_error_workbook(source=path, error=exc, path=errors_path)
            except OSError as os_error:
                _cannot_write(str(errors_path), os_error)
            print(texts.LEDGER_ERRORS_WRITTEN.format(count=count, path=errors_path),
                  file=sys.stderr)
        raise SystemExit(1) from None
    db = open_database(settings)
    if args.prune:
        absent = db.call(active_codes_absent, present=ledger.projects)
        if absent and not args.yes:
            _list_codes(texts.LEDGER_PRUNE_WOULD_ARCHIVE, absent)
            fail(texts.LEDGER_PRUNE_NEEDS_YES)
    result = db.call(write_ledger, ledger=ledger,
                     progress=progress_bar(texts.LEDGER_PROGRESS_WRITE),
                     archive_absent_at=utcnow() if args.prune else None)
    print(texts.LEDGER_IMPORT_DONE.format(**vars(result)))
    if result.projects_restored:
        print(texts.LEDGER_IMPORT_RESTORED.format(count=result.projects_restored))
    if result.archived:
        _list_codes(texts.LEDGER_ARCHIVED, result.archived, out=sys.stdout)


LIST_CODES_SHOWN = 30


def _list_codes(template: str, codes: list[str], out: TextIO | None = None) -> None:
    """A count, then the codes (at most LIST_CODES_SHOWN, and how many more)."""
    out = out or sys.stderr
    print(template.format(count=len(codes)), file=out)
    shown = codes[:LIST_CODES_SHOWN]
    print("  " + "、".join(shown), file=out)
    if len(codes) > len(shown):
        print(texts.LEDGER_CODES_MORE.format(count=len(codes) - len(shown)), file=out)


def cmd_remove(args: argparse.Namespace) -> None:
    db = open_database(settings_or_exit(), create=False)
    try:
        archived = db.call(archive_projects, codes=args.codes, now=utcnow())
    except ProjectNotFound as exc:
        fail(texts.LEDGER_PROJECT_NOT_FOUND.format(code=exc.code))
    if archived:
        _list_codes(texts.LEDGER_ARCHIVED, archived, out=sys.stdout)
    skipped = len(dict.fromkeys(args.codes)) - len(archived)
    if skipped:
        print(texts.LEDGER_ALREADY_ARCHIVED.format(count=skipped))


def _cannot_write(path: str, exc: OSError) -> NoReturn:
    fail(texts.LEDGER_WRITE_FAILED.format(path=path, reason=exc.strerror or exc))


def _output_or_exit(name: str) -> Path:
    """A ledger file to write: .xlsx or .csv, in a folder that exists."""
    path = Path(name)
    try:
        file_kind(path)
    except UnsupportedFileKind:
        fail(texts.LEDGER_WRITE_KIND.format(path=name))
    writable_or_exit(path)
    return path


def cmd_export(args: argparse.Namespace) -> None:
    path = _output_or_exit(args.file)
    db = open_database(settings_or_exit(), create=False)
    try:
        rows = db.call(export_ledger, path=path,
                       progress=progress_bar(texts.LEDGER_PROGRESS_EXPORT))
    except OSError as exc:
        _cannot_write(args.file, exc)
    print(texts.LEDGER_EXPORT_DONE.format(rows=rows, path=args.file))


def cmd_template(args: argparse.Namespace) -> None:
    path = _output_or_exit(args.file)
    try:
        write_template(path)
    except OSError as exc:
        _cannot_write(args.file, exc)
    print((texts.LEDGER_TEMPLATE_CSV_DONE if path.suffix.lower() == ".csv"
           else texts.LEDGER_TEMPLATE_DONE).format(path=path))


def cmd_report(args: argparse.Namespace) -> None:
    db = open_database(settings_or_exit(), create=False)
    report = db.call(compute_report)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report_text(report))


def cmd_profile(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    db = open_database(settings, create=False)
    kb = KnowledgeLookups(knowledge_or_exit(settings))
    try:
        calendar, _hours = working_clock(settings)
    except SettingsError as exc:
        fail(texts.SETTINGS_INVALID.format(detail=exc))
    today = datetime.now(settings.tz).date()
    try:
        profile = db.call(project_profile, code=args.code, today=today, calendar=calendar,
                          materials_for=kb.materials_for, department_for=kb.department_for,
                          first_half_deadline=settings.first_half_deadline,
                          second_half_deadline=settings.second_half_deadline)
    except ProjectNotFound as exc:
        fail(texts.LEDGER_PROJECT_NOT_FOUND.format(code=exc.code))
    except BadMonthDay as exc:
        fail(texts.LEDGER_BAD_DEADLINE_SETTING.format(value=exc.text))
    print(profile_text(profile))
    if args.xlsx:
        writable_or_exit(Path(args.xlsx))
        try:
            write_profile_xlsx(profile, Path(args.xlsx))
        except OSError as exc:
            _cannot_write(args.xlsx, exc)
        print(texts.LEDGER_PROFILE_XLSX_DONE.format(path=args.xlsx))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ledger = sub.add_parser("ledger", help="the project ledger (台账): import, export, report",
                            description="The project ledger: one row per procedure of a project.")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)

    imp = ledger_sub.add_parser(
        "import", help="import a ledger (.xlsx or .csv, long format); all rows or none",
        description="Validate every row and import the file in one transaction; on any bad row "
                    "list every problem (row, column, reason), import nothing and exit 1. "
                    "Upserts by project code and procedure, so importing the same file twice "
                    "changes nothing.")
    imp.add_argument("file", metavar="FILE", help="the .xlsx or .csv ledger file")
    imp.add_argument("--errors", metavar="FILE.xlsx",
                     help="on a refused import, write every problem beside its row to this .xlsx")
    imp.add_argument("--prune", action="store_true",
                     help="archive the projects the file does not name (listed first; needs --yes)")
    imp.add_argument("--yes", action="store_true", help="confirm --prune")
    imp.set_defaults(func=cmd_import)

    rem = ledger_sub.add_parser(
        "remove", help="archive projects: out of reports and reminders, history kept",
        description="Archive the projects with these codes. Their procedures and help group "
                    "stay; an import that names a project again brings it back.")
    rem.add_argument("codes", nargs="+", metavar="CODE", help="project codes")
    rem.set_defaults(func=cmd_remove)

    exp = ledger_sub.add_parser("export", help="write the whole ledger to an .xlsx or .csv file")
    exp.add_argument("file", metavar="FILE", help="the .xlsx or .csv file to write")
    exp.set_defaults(func=cmd_export)

    tpl = ledger_sub.add_parser(
        "template", help="write an empty ledger template (headers, drop-downs, one example row)")
    tpl.add_argument("file", metavar="FILE", help="the .xlsx or .csv file to write")
    tpl.set_defaults(func=cmd_template)

    rep = ledger_sub.add_parser(
        "report", help="completion figures overall, by region, by sector and for 10亿元+",
        description="Procedure completion rate = (done + not needed) / all procedures; project "
                    "completion rate = projects with every procedure done or not needed / all "
                    "projects; percent with one decimal, rounded half up.")
    rep.add_argument("--json", action="store_true", help="print the figures as JSON")
    rep.set_defaults(func=cmd_report)

    pro = ledger_sub.add_parser(
        "profile", help="a project's approval profile (项目审批画像表)",
        description="Every procedure with status, department, due date and, for the unfinished, "
                    "the material list from the knowledge base.")
    pro.add_argument("code", metavar="CODE", help="the project code")
    pro.add_argument("--xlsx", metavar="FILE", help="also write the profile to this .xlsx file")
    pro.set_defaults(func=cmd_profile)
