"""Ledger benchmark: import 10,000 projects x 10 procedures, report, daily reminder sweep.

    python -m benchmarks.ledger_bench [--projects 10000] [--database-url URL] [--keep DIR]

Writes the ledger as .xlsx and .csv, then, each in a fresh process so peak memory is the
import's own, side by side in one run: imports the .xlsx with the python-calamine reader into an
empty SQLite database, the same .xlsx with the openpyxl reader (the baseline) into another, the
.csv into a third (time and peak RSS; with --trace also the Python heap peak under tracemalloc,
which is slow), and the .xlsx again (nothing changes); then times the completion report and the
daily reminder plan on the imported ledger.
Targets: import .xlsx (calamine) <= 6 s, report <= 1 s, sweep <= 2 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TypedDict

TODAY = date(2026, 3, 10)
REGIONS = (
    "新城区",
    "回民区",
    "玉泉区",
    "赛罕区",
    "土默特左旗",
    "托克托县",
    "和林格尔县",
    "清水河县",
    "武川县",
    "经开区",
    "和林新区",
    "高新区",
)
SECTORS = ("工业", "能源", "交通", "水利", "农牧业", "社会事业", "城建", "文旅")
ITEMS = (
    "立项",
    "用地预审与选址",
    "土地供应",
    "建设用地规划许可",
    "建设工程规划许可",
    "环评",
    "节能审查",
    "水土保持",
    "林草审核",
    "施工许可",
)
STATUSES = ("已办结", "无需办理", "办理中", "未启动")


def ledger_rows(projects: int, seed: int = 7) -> Iterator[list[object]]:
    from ledger.columns import HEADERS

    rng = random.Random(seed)
    yield list(HEADERS)
    for n in range(projects):
        code = f"2026-150100-{n // 1000:02d}-01-{n:06d}"
        project = [
            code,
            f"重大项目{n}",
            f"建设单位{n}",
            REGIONS[n % len(REGIONS)],
            SECTORS[n % len(SECTORS)],
            round(rng.uniform(0.5, 80), 2),
            "2026上半年" if n % 2 else "2026下半年",
            f"管家{n % 50}",
        ]
        for item in ITEMS:
            status = rng.choices(STATUSES, weights=(31, 35, 20, 14))[0]
            accepted: date | None = None
            days: int | None = None
            finished: date | None = None
            if status in ("已办结", "办理中"):
                accepted = TODAY - timedelta(days=rng.randint(1, 70))
                days = rng.choice((0, 2, 3, 5, 10, 20))
                if status == "已办结":
                    finished = accepted + timedelta(days=rng.randint(0, 10))
            yield [*project, item, status, accepted, days, finished, None, None]


def write_files(projects: int, folder: Path) -> tuple[Path, Path, int]:
    from openpyxl import Workbook

    xlsx, csv_path = folder / f"ledger_{projects}.xlsx", folder / f"ledger_{projects}.csv"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    rows = 0
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        for row in ledger_rows(projects):
            sheet.append(row)
            writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in row])
            rows += 1
    workbook.save(xlsx)
    return xlsx, csv_path, rows - 1


class ImportRun(TypedDict):
    """What one import phase reports (as a JSON line on stdout)."""

    seconds: float
    cpu_seconds: float  # user + system CPU of the import: comparable on a busy machine
    baseline_mb: float
    maxrss_mb: float
    traced_mb: float
    result: dict[str, int]


def phase_import(path: str, url: str, trace: bool, reader: str) -> ImportRun:
    """Runs in its own process: one import, its time and peak memory."""
    from ledger.importer import import_file
    from storage.db import Database

    db = Database(url)
    db.migrate()
    import openpyxl.reader.excel  # noqa: F401 - baseline RSS includes the libraries
    import python_calamine  # noqa: F401

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with db.session() as session:
        result = import_file(session=session, path=Path(path), reader=reader)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "baseline_mb": baseline,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "traced_mb": traced / 2**20,
        "result": vars(result),
    }


def run_phase(path: Path, url: str, trace: bool = False, reader: str = "calamine") -> ImportRun:
    command = [
        sys.executable,
        "-m",
        "benchmarks.ledger_bench",
        "--phase-import",
        str(path),
        "--database-url",
        url,
        "--reader",
        reader,
    ] + (["--trace"] if trace else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    run: ImportRun = json.loads(out.strip().splitlines()[-1])
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger_bench", description=__doc__.split("\n")[1])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--keep", metavar="DIR", help="write the files and databases here")
    parser.add_argument("--phase-import", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="calamine", help=argparse.SUPPRESS)
    parser.add_argument(
        "--trace", action="store_true", help="also import under tracemalloc for the Python heap peak (slow)"
    )
    args = parser.parse_args(argv)
    if args.phase_import:
        print(json.dumps(phase_import(args.phase_import, args.database_url, args.trace, args.reader)))
        return

    from sqlalchemy import text

    from ledger.report import compute_report
    from scheduler.reminders import plan_reminders
    from storage.db import Database
    from workdays import WorkingCalendar

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ledger_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    xlsx, csv_path, rows = write_files(args.projects, folder)
    print(
        f"wrote {rows:,} rows ({args.projects:,} projects) to {xlsx.name} and {csv_path.name} "
        f"in {time.perf_counter() - started:.1f} s ({folder})"
    )

    url = f"sqlite:///{folder / 'bench_xlsx.db'}"
    for name in ("bench_xlsx.db", "bench_openpyxl.db", "bench_csv.db", "bench_trace.db"):
        for suffix in ("", "-wal", "-shm"):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)
    first = run_phase(xlsx, url)
    baseline = run_phase(xlsx, f"sqlite:///{folder / 'bench_openpyxl.db'}", reader="openpyxl")
    again = run_phase(xlsx, url)
    csv_run = run_phase(csv_path, f"sqlite:///{folder / 'bench_csv.db'}")
    traced = run_phase(xlsx, f"sqlite:///{folder / 'bench_trace.db'}", trace=True) if args.trace else None
    assert first["result"]["procedures_created"] == rows, first
    assert baseline["result"] == first["result"], baseline
    assert again["result"]["procedures_unchanged"] == rows, again

    db = Database(url)
    with db.session() as session:  # every project gets a help group, as in production
        session.execute(text("update ledger_project set help_chat_id = -1000000000 - id"))
    db.call(compute_report)  # warm the page cache, as a running bot has it
    started = time.perf_counter()
    report = db.call(compute_report)
    report_seconds = time.perf_counter() - started
    calendar = WorkingCalendar()
    calendar.is_working_day(TODAY)
    started = time.perf_counter()
    plan = db.call(plan_reminders, today=TODAY, calendar=calendar, department_key_for=lambda key: key)
    sweep_seconds = time.perf_counter() - started

    def memory(run: ImportRun) -> str:
        return (
            f"CPU {run['cpu_seconds']:.2f} s, peak RSS {run['maxrss_mb']:.0f} MB "
            f"(+{run['maxrss_mb'] - run['baseline_mb']:.0f} MB over the "
            f"{run['baseline_mb']:.0f} MB before the import)"
        )

    table: list[tuple[str, float, float | None, str]] = [
        ("import .xlsx, calamine (empty db)", first["seconds"], 6, memory(first)),
        ("import .xlsx, openpyxl (empty db)", baseline["seconds"], None, memory(baseline)),
        ("import .csv (empty db)", csv_run["seconds"], None, memory(csv_run)),
        ("import .xlsx, calamine, again", again["seconds"], 6, memory(again)),
        (
            "completion report",
            report_seconds,
            1,
            f"{report.overall.projects:,} projects, {report.overall.procedures:,} procedures",
        ),
        ("daily reminder plan", sweep_seconds, 2, f"{len(plan):,} reminders"),
    ]
    if traced:
        table.insert(
            3,
            (
                "import .xlsx under tracemalloc",
                traced["seconds"],
                None,
                f"Python heap peak {traced['traced_mb']:.0f} MB",
            ),
        )
    print(f"\n{'step':34} {'seconds':>8} {'target':>7}  {'':4} notes")
    for name, seconds, target, note in table:
        verdict = "" if target is None else ("ok" if seconds <= target else "SLOW")
        target_text = "" if target is None else f"<= {target}"
        print(f"{name:34} {seconds:8.2f} {target_text:>7}  {verdict:4} {note}")
    overall = report.to_dict()
    print(
        f"\nproject completion {overall['project_completion_rate']}%, "
        f"procedure completion {overall['procedure_completion_rate']}%"
    )


if __name__ == "__main__":
    main()
