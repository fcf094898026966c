"""The command line with what operators really do: `--errors` naming the ledger itself, Ctrl-C
in the middle of writing a file, a database written by a newer version or a file that is no
database, an import while another holds the database, absurd numbers and binary files, output
piped into `head`. Each gets one Chinese line and the right exit code; no file is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

import texts
from storage import Database
from tests.ledger_support import ledger_row, write_csv, write_xlsx
from tests.test_cli import run
from tests.texts_match import says

ROOT = Path(__file__).resolve().parent.parent


def one_line(err: str) -> bool:
    return "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- 5. --errors naming the ledger itself ------------------------------------------------------


def test_errors_file_that_is_the_ledger_itself_is_refused_before_reading(sqlite_env, capsys):
    ledger = write_xlsx(sqlite_env / "台账.xlsx", [ledger_row(状态="快好了")])
    before = ledger.read_bytes()
    for errors in (str(ledger), "./台账.xlsx", str(sqlite_env / "." / "台账.xlsx")):
        code, _out, err = run(capsys, "ledger", "import", str(ledger), "--errors", errors)
        assert code == 1 and one_line(err) and says(texts.LEDGER_ERRORS_IS_SOURCE, err, path=Path(errors)), err
        assert ledger.read_bytes() == before


# --- 6. Ctrl-C while a file is written: the old file stays whole ------------------------------


@pytest.fixture
def interrupted_save(monkeypatch):
    """openpyxl's save writes some bytes, then Ctrl-C."""
    from openpyxl.workbook.workbook import Workbook as Book

    def save(self, target):
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as handle:
                handle.write(b"PK half")
        else:
            target.write(b"PK half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Book, "save", save)


def _old_file(path: Path) -> bytes:
    workbook = Workbook()
    workbook.active.append(["旧文件"])
    workbook.save(path)
    return path.read_bytes()


def test_ctrl_c_while_exporting_leaves_the_old_files_whole(env, capsys, monkeypatch):
    run(capsys, "ledger", "import", str(write_csv(env / "l.csv", [ledger_row()])))
    targets = {name: env / name for name in ("export.xlsx", "template.xlsx", "kb.xlsx", "profile.xlsx")}
    before = {name: _old_file(path) for name, path in targets.items()}
    export_csv = env / "export.csv"
    export_csv.write_text("旧文件\n", encoding="utf-8")

    from openpyxl.workbook.workbook import Workbook as Book

    real_save = Book.save

    def save(self, target):
        if isinstance(target, (str, os.PathLike)):
            Path(target).write_bytes(b"PK half")
        else:
            target.write(b"PK half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Book, "save", save)
    for argv in (
        ["ledger", "export", str(targets["export.xlsx"])],
        ["ledger", "template", str(targets["template.xlsx"])],
        ["kb", "export", "--xlsx", str(targets["kb.xlsx"])],
        ["ledger", "profile", "P001", "--xlsx", str(targets["profile.xlsx"])],
    ):
        code, _out, err = run(capsys, *argv)
        assert code == 130 and one_line(err) and says(texts.CLI_INTERRUPTED, err), (argv, err)
    assert {name: path.read_bytes() for name, path in targets.items()} == before

    import ledger.exporter

    def interrupted(*args, **kwargs):  # the database read stops half-way
        raise KeyboardInterrupt

    monkeypatch.setattr(Book, "save", real_save)
    monkeypatch.setattr(ledger.exporter, "_procedure_count", interrupted)
    code, _out, err = run(capsys, "ledger", "export", str(export_csv))
    assert code == 130 and says(texts.CLI_INTERRUPTED, err)
    assert export_csv.read_text(encoding="utf-8") == "旧文件\n"
    assert not [p.name for p in env.iterdir() if p.name.startswith(".")]


def test_an_error_report_is_written_whole_or_not_at_all(sqlite_env, capsys, interrupted_save):
    report = sqlite_env / "问题.xlsx"
    report.write_bytes(b"old report")
    code, _out, err = run(
        capsys,
        "ledger",
        "import",
        str(write_csv(sqlite_env / "bad.csv", [ledger_row(状态="快")])),
        "--errors",
        str(report),
    )
    assert code == 130 and says(texts.CLI_INTERRUPTED, err)
    assert report.read_bytes() == b"old report"


# --- 10. a database from a newer version, a file that is no database --------------------------


def test_a_database_newer_than_the_program_gives_one_line(sqlite_env, capsys, monkeypatch):
    db = Database(f"sqlite:///{sqlite_env / 'cli.db'}")
    db.migrate()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    db.dispose()
    for argv in (["ledger", "report"], ["ledger", "import", str(write_csv(sqlite_env / "l.csv", [ledger_row()]))]):
        code, _out, err = run(capsys, *argv)
        assert code == 1 and one_line(err) and says(texts.DATABASE_NEWER, err), err
    assert bot_start(sqlite_env) == (2, True)


def test_a_file_that_is_no_database_gives_one_line(sqlite_env, capsys, monkeypatch):
    (sqlite_env / "cli.db").write_text("这是一份笔记，不是数据库\n" * 100, encoding="utf-8")
    for argv in (["ledger", "report"], ["ledger", "import", str(write_csv(sqlite_env / "l.csv", [ledger_row()]))]):
        code, _out, err = run(capsys, *argv)
        assert code == 1 and one_line(err) and says(texts.DATABASE_NOT_A_DATABASE, err), err
    assert bot_start(sqlite_env, texts.DATABASE_NOT_A_DATABASE) == (2, True)


def bot_start(folder: Path, wanted: str = texts.DATABASE_NEWER) -> tuple[int, bool]:
    """`python bot.py` on the folder's cli.db: its exit code and whether stderr is the one line `wanted`."""
    from tests.bot_process import run_bot

    done = run_bot(folder, TELEGRAM_BOT_TOKEN="123456:TEST", DATABASE_URL=f"sqlite:///{folder / 'cli.db'}")
    return done.returncode, one_line(done.stderr) and says(wanted, done.stderr)


# --- 7. the database held by another writer: one line, nothing imported ------------------------


def test_an_import_while_another_holds_the_database_says_nothing_was_imported(sqlite_env, capsys, monkeypatch):
    """Another writer takes SQLite's write lock between the opening of the database and the
    import's first write: past busy_timeout, one line says nothing was imported."""
    import cli.ledger_commands

    ledger = write_csv(sqlite_env / "l.csv", [ledger_row()])
    run(capsys, "ledger", "report")  # makes and migrates cli.db
    holder = sqlite3.connect(sqlite_env / "cli.db", isolation_level=None)
    real_open = cli.ledger_commands.open_database

    def open_then_lock(*args, **kwargs):
        db = real_open(*args, **kwargs)
        holder.execute("BEGIN IMMEDIATE")
        return db

    monkeypatch.setattr(cli.ledger_commands, "open_database", open_then_lock)
    try:
        code, _out, err = run(capsys, "ledger", "import", str(ledger))
    finally:
        holder.execute("ROLLBACK")
    assert code == 1 and one_line(err) and says(texts.LEDGER_IMPORT_DB_FAILED, err), err

    monkeypatch.setattr(cli.ledger_commands, "open_database", real_open)
    holder.execute("BEGIN IMMEDIATE")  # held from before the command starts
    try:
        code, _out, err = run(capsys, "ledger", "import", str(ledger))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (
        code == 1 and one_line(err) and (says(texts.CLI_DATABASE_BUSY, err) or says(texts.LEDGER_IMPORT_DB_FAILED, err))
    ), err
    code, out, _err = run(capsys, "ledger", "import", str(ledger))
    assert code == 0 and says(texts.LEDGER_IMPORT_DONE, out, projects_created=1)


# --- 14. numbers out of range, binary and broken files, a closed pipe -------------------------


def test_stats_days_out_of_range_is_an_argument_error(sqlite_env, capsys):
    code, _out, err = run(capsys, "stats", "--days", "1000000")
    assert code == 2 and "Traceback" not in err and says(texts.CLI_DAYS_INVALID, err, value="1000000")


def test_ask_batch_of_a_binary_file_names_the_file(sqlite_env, capsys):
    binary = sqlite_env / "questions.txt"
    binary.write_bytes("环评要什么材料\n".encode() + bytes(range(128, 256)) * 4)
    code, out, err = run(capsys, "ask", "--batch", str(binary))
    assert code == 1 and one_line(err) and says(texts.CLI_NOT_TEXT_FILE, err, path=binary, line=2), err
    assert len(out.strip().splitlines()) >= 1  # the first question was answered


def test_score_of_a_broken_jsonl_names_the_file_and_line(sqlite_env, capsys):
    broken = sqlite_env / "bad.jsonl"
    broken.write_text('\n{bad json\n{"q": "环评", "item": "eia"}\n', encoding="utf-8")
    code, _out, err = run(capsys, "kb", "questions", "--score", str(broken), "--file", str(sqlite_env / "t.jsonl"))
    assert code == 1 and one_line(err) and says(texts.CLI_BAD_JSONL, err, path=broken, line=2), err
    labelled = sqlite_env / "arr.jsonl"
    labelled.write_text('{"q": "环评", "item": "eia"}\n[1, 2]\n', encoding="utf-8")
    code, _out, err = run(capsys, "kb", "questions", "--score", str(labelled), "--file", str(sqlite_env / "t.jsonl"))
    assert code == 1 and one_line(err) and says(texts.CLI_BAD_LABELLED_FILE, err) and f"{labelled}:2" in err, err


def test_a_refused_import_piped_into_head_keeps_exit_code_1(sqlite_env):
    bad = write_csv(sqlite_env / "bad.csv", [ledger_row(状态=f"坏{n}") for n in range(200)])
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{sqlite_env / 'cli.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ledger", "import", str(bad)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=sqlite_env,
    )
    assert process.stderr is not None
    process.stderr.readline()
    process.stderr.close()  # `| head -1`
    assert process.wait(60) == 1
