"""`steward ledger import|export|template|report|profile`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

import texts
from cli.common import (
    fail,
    failing,
    first_line,
    knowledge_or_exit,
    open_database,
    settings_or_exit,
    writable_or_exit,
)
from config import Settings, SettingsError
from config.clock import working_clock
from ledger.archive import active_codes_absent, archive_projects
from ledger.error_report import write_error_workbook
from ledger.errors import BadMonthDay, LedgerImportError, ProjectNotFound, UnsupportedFileKind
from ledger.exporter import export_ledger, file_kind, write_template
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
    bar: list[tqdm[Any]] = []

    def show(done: int, total: int) -> None:
        if max(done, total) < PROGRESS_MIN_ROWS:
            return
        if not bar:
            bar.append(
                tqdm(
                    total=total or None,
                    desc=label,
                    file=out,
                    unit="行",
                    disable=not out.isatty(),
                    dynamic_ncols=True,
                    leave=True,
                )
            )
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
    return Checks(
        today=datetime.now(settings.tz).date(),
        known_department=lambda text: lookups.resolve_department(text) is not None,
    )


def cmd_import(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    errors_path = Path(args.errors) if args.errors else None
    path = Path(args.file)
    if errors_path is not None:
        writable_or_exit(errors_path)
        if errors_path.resolve() == path.resolve():
            fail(texts.LEDGER_ERRORS_IS_SOURCE.format(path=errors_path))
    if not path.is_file():
        fail(
            texts.CLI_FILE_ERROR.format(
                path=path, reason=texts.CLI_OS_IS_FOLDER if path.is_dir() else texts.CLI_OS_NOT_FOUND
            )
        )
    checks = _import_checks(settings)
    try:
        ledger = validate_file(path, progress=progress_bar(texts.LEDGER_PROGRESS_IMPORT), checks=checks)
    except LedgerImportError as exc:
        failing(1)
        for line in import_error_lines(exc):
            print(line, file=sys.stderr)
        if errors_path is not None:
            try:
                count = write_error_workbook(source=path, error=exc, path=errors_path)
            except OSError as os_error:
                _cannot_write(str(errors_path), os_error)
            print(texts.LEDGER_ERRORS_WRITTEN.format(count=count, path=errors_path), file=sys.stderr)
        raise SystemExit(1) from None
    db = open_database(settings)
    if args.prune:
        absent = db.call(active_codes_absent, present=ledger.projects)
        if absent and not args.yes:
            _list_codes(texts.LEDGER_PRUNE_WOULD_ARCHIVE, absent)
            fail(texts.LEDGER_PRUNE_NEEDS_YES)
    try:
        result = db.call(
            write_ledger,
            ledger=ledger,
            progress=progress_bar(texts.LEDGER_PROGRESS_WRITE),
            archive_absent_at=utcnow() if args.prune else None,
        )
    except DBAPIError as exc:  # the transaction rolled back: nothing of the file is in the database
        fail(texts.LEDGER_IMPORT_DB_FAILED.format(reason=first_line(exc.orig)))
    finally:
        db.dispose()
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
        rows = db.call(export_ledger, path=path, progress=progress_bar(texts.LEDGER_PROGRESS_EXPORT))
    except OSError as exc:
        _cannot_write(args.file, exc)
    print(texts.LEDGER_EXPORT_DONE.format(rows=rows, path=args.file))


def cmd_template(args: argparse.Namespace) -> None:
    path = _output_or_exit(args.file)
    try:
        write_template(path)
    except OSError as exc:
        _cannot_write(args.file, exc)
    print(
        (texts.LEDGER_TEMPLATE_CSV_DONE if path.suffix.lower() == ".csv" else texts.LEDGER_TEMPLATE_DONE).format(
            path=path
        )
    )


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
        profile = db.call(
            project_profile,
            code=args.code,
            today=today,
            calendar=calendar,
            materials_for=kb.materials_for,
            department_for=kb.department_for,
            first_half_deadline=settings.first_half_deadline,
            second_half_deadline=settings.second_half_deadline,
        )
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
    ledger = sub.add_parser(
        "ledger",
        help="项目台账：导入、导出、统计、画像、归档",
        description="项目台账（长表格式：每个项目的每项手续一行）。",
    )
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="命令")

    imp = ledger_sub.add_parser(
        "import",
        help="导入台账（.xlsx 或 .csv）：全部导入或一行也不导入",
        description="先逐行检查（状态与日期是否矛盾、日期是否在 2000–2100 年间且不晚于今天、"
        "责任部门是否在知识库中、是否还留着模板示例行……），有任何问题就列出"
        "（工作表、行、列、原因）并一行也不导入，退出码 1；没有问题则在一个事务里"
        "按项目代码和手续更新，同一文件导入两次不会有变化。.xlsx 读取名为「台账」的"
        "工作表（或唯一的工作表）。",
    )
    imp.add_argument("file", metavar="文件", help="台账文件（.xlsx 或 .csv）")
    imp.add_argument(
        "--errors", metavar="文件.xlsx", help="导入被拒时，把全部问题写到这个 .xlsx（原样保留出错的行，最后一列是原因）"
    )
    imp.add_argument("--prune", action="store_true", help="把文件中没有的项目归档（先列出，需要再加 --yes 确认）")
    imp.add_argument("--yes", action="store_true", help="确认 --prune 的归档")
    imp.set_defaults(func=cmd_import)

    rem = ledger_sub.add_parser(
        "remove",
        help="归档项目：不再计入统计和提醒，历史保留",
        description="归档这些项目代码的项目。手续记录和帮办群绑定都保留；再次导入包含该项目的台账即恢复。",
    )
    rem.add_argument("codes", nargs="+", metavar="项目代码", help="一个或多个项目代码")
    rem.set_defaults(func=cmd_remove)

    exp = ledger_sub.add_parser("export", help="把整个台账导出为 .xlsx 或 .csv（按扩展名）")
    exp.add_argument("file", metavar="文件", help="要写入的 .xlsx 或 .csv 文件（文件夹须已存在）")
    exp.set_defaults(func=cmd_export)

    tpl = ledger_sub.add_parser("template", help="生成空白台账模板（表头、下拉框、一行示例）")
    tpl.add_argument("file", metavar="文件", help="要写入的 .xlsx 或 .csv 文件（文件夹须已存在）")
    tpl.set_defaults(func=cmd_template)

    rep = ledger_sub.add_parser(
        "report",
        help="办结率：总体、分旗县区、分领域、10亿元以上",
        description="手续办结率 =（已办结 + 无需办理）/ 全部手续；项目办结率 = 全部手续已办结或"
        "无需办理的项目 / 全部项目；百分比保留一位小数，四舍五入。已归档的项目不计入。",
    )
    rep.add_argument("--json", action="store_true", help="以 JSON 输出")
    rep.set_defaults(func=cmd_report)

    pro = ledger_sub.add_parser(
        "profile",
        help="项目审批画像表",
        description="每项手续的状态、责任部门、到期日，未办结手续的材料清单（来自知识库）。",
    )
    pro.add_argument("code", metavar="项目代码", help="项目代码")
    pro.add_argument("--xlsx", metavar="文件", help="同时把画像表写入这个 .xlsx 文件")
    pro.set_defaults(func=cmd_profile)
