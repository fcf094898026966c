"""`steward ledger import|export|template|report|profile`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import texts
from cli.common import fail, knowledge_or_exit, open_database, settings_or_exit
from config import SettingsError
from config.clock import working_clock
from ledger.errors import BadMonthDay, LedgerImportError, ProjectNotFound
from ledger.exporter import export_ledger, write_template
from ledger.importer import import_file
from ledger.lookups import KnowledgeLookups
from ledger.profile import project_profile
from ledger.render import (
    import_error_lines,
    profile_text,
    report_text,
    write_profile_xlsx,
)
from ledger.report import compute_report

PROGRESS_MIN_ROWS = 300  # smaller files finish before a bar would be read


def progress_bar(label: str, stream=None) -> Callable[[int, int], None]:  # type: ignore[no-untyped-def]
    """A one-line bar on stderr for jobs of PROGRESS_MIN_ROWS rows or more; `total` 0 means
    not known yet (the count is shown without a bar). The final call has done == total."""
    out = stream or sys.stderr
    last: list[tuple[int, int]] = []

    def show(done: int, total: int) -> None:
        if max(done, total) < PROGRESS_MIN_ROWS or last == [(done, total)]:
            return  # small job, or the same figures again (the final call repeats the last)
        last[:] = [(done, total)]
        if total <= 0:
            out.write(f"\r{label} {done}")
        else:
            filled = min(done * 30 // total, 30)
            out.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] "
                      f"{min(done * 100 // total, 100):3d}% {done}/{total}")
        if done == total:
            out.write("\n")
        out.flush()

    return show


def cmd_import(args: argparse.Namespace) -> None:
    db = open_database(settings_or_exit())
    try:
        result = db.call(import_file, path=Path(args.file),
                         progress=progress_bar(texts.LEDGER_PROGRESS_IMPORT),
                         write_progress=progress_bar(texts.LEDGER_PROGRESS_WRITE))
    except LedgerImportError as exc:
        for line in import_error_lines(exc):
            print(line, file=sys.stderr)
        raise SystemExit(1) from None
    print(texts.LEDGER_IMPORT_DONE.format(**vars(result)))


def _cannot_write(path: str, exc: OSError) -> NoReturn:
    fail(texts.LEDGER_WRITE_FAILED.format(path=path, reason=exc.strerror or exc))


def cmd_export(args: argparse.Namespace) -> None:
    db = open_database(settings_or_exit())
    try:
        rows = db.call(export_ledger, path=Path(args.file),
                       progress=progress_bar(texts.LEDGER_PROGRESS_EXPORT))
    except OSError as exc:
        _cannot_write(args.file, exc)
    print(texts.LEDGER_EXPORT_DONE.format(rows=rows, path=args.file))


def cmd_template(args: argparse.Namespace) -> None:
    try:
        path = write_template(Path(args.file))
    except OSError as exc:
        _cannot_write(args.file, exc)
    print(texts.LEDGER_TEMPLATE_DONE.format(path=path))


def cmd_report(args: argparse.Namespace) -> None:
    db = open_database(settings_or_exit())
    report = db.call(compute_report)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report_text(report))


def cmd_profile(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    db = open_database(settings)
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
    imp.set_defaults(func=cmd_import)

    exp = ledger_sub.add_parser("export", help="write the whole ledger to an .xlsx file")
    exp.add_argument("file", metavar="FILE.xlsx", help="the .xlsx file to write")
    exp.set_defaults(func=cmd_export)

    tpl = ledger_sub.add_parser(
        "template", help="write an empty ledger template (headers, drop-downs, one example row)")
    tpl.add_argument("file", metavar="FILE.xlsx", help="the .xlsx file to write")
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
