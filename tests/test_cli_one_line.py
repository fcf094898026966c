"""Every mistake on the command line and every bad setting is one Chinese line, never a
traceback; commands that only read never create a database; files are what their names say."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

import texts
from cli.main import main
from config import Settings
from ledger.columns import HEADERS
from ledger.models import STATUS_LABELS, ProcedureStatus
from ledger.render import investment_text
from tests.ledger_support import ledger_row, write_csv
from tests.texts_match import says

DEVSET = Path(__file__).parent / "data" / "devset.jsonl"


@pytest.fixture(autouse=True)
def empty_folder(monkeypatch, tmp_path):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(capsys, *argv: str, code: int = 1) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "Error" not in err
    return err


def test_missing_files_and_folders(capsys, empty_folder):
    assert "missing.txt" in one_line(capsys, "ask", "--batch", "missing.txt")
    missing, folder = texts.CLI_OS_NOT_FOUND, texts.CLI_OS_IS_FOLDER
    assert says(texts.CLI_FILE_ERROR, one_line(capsys, "eval", "missing.jsonl"), reason=missing)
    assert says(texts.CLI_PATH_IS_FOLDER, one_line(capsys, "kb", "export", "--xlsx", "/tmp"), path="/tmp")
    assert says(texts.CLI_FILE_ERROR, one_line(capsys, "ledger", "import", "missing.xlsx"), reason=missing)
    assert says(texts.CLI_FILE_ERROR, one_line(capsys, "ledger", "import", str(empty_folder)), reason=folder)


def test_every_writer_refuses_a_missing_folder_the_same_way(capsys, empty_folder):
    main(["ledger", "import", str(write_csv(empty_folder / "l.csv", [ledger_row()]))])
    capsys.readouterr()
    missing = empty_folder / "nope"
    lines = [
        one_line(capsys, "ledger", "export", str(missing / "e.xlsx")),
        one_line(capsys, "ledger", "export", str(missing / "e.csv")),
        one_line(capsys, "ledger", "template", str(missing / "t.xlsx")),
        one_line(capsys, "ledger", "profile", "P001", "--xlsx", str(missing / "p.xlsx")),
        one_line(capsys, "kb", "export", "--xlsx", str(missing / "kb.xlsx")),
        one_line(capsys, "ledger", "import", str(empty_folder / "l.csv"), "--errors", str(missing / "errors.xlsx")),
    ]
    for line in lines:
        assert says(texts.CLI_FOLDER_MISSING, line, folder=missing), line
    assert not missing.exists()
    assert says(texts.LEDGER_WRITE_KIND, one_line(capsys, "ledger", "export", "out.txt"), path="out.txt")


def test_read_only_commands_never_create_a_database(capsys, empty_folder):
    for argv in (
        ["stats"],
        ["ledger", "report"],
        ["ledger", "export", "x.xlsx"],
        ["ledger", "profile", "P001"],
        ["ledger", "remove", "P001"],
    ):
        assert says(texts.CLI_NO_DATABASE, one_line(capsys, *argv))
    assert not (empty_folder / "steward.db").exists()


def test_an_unreachable_database_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres:secret@127.0.0.1:1/x")
    line = one_line(capsys, "ledger", "report")
    assert says(texts.CLI_DATABASE_UNREACHABLE, line) and "secret" not in line


@pytest.mark.parametrize(
    ("name", "value", "wanted"),
    [
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("TELEGRAM_API_BASE_URL", "notaurl", "TELEGRAM_API_BASE_URL"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
    ],
)
def test_bad_settings_are_one_line(capsys, monkeypatch, name, value, wanted):
    monkeypatch.setenv(name, value)
    line = one_line(capsys, "ledger", "report")
    assert says(texts.SETTINGS_INVALID, line) and wanted in line


def test_argument_mistakes_are_chinese(capsys):
    assert says(texts.CLI_DAYS_INVALID, one_line(capsys, "stats", "--days", "abc", code=2), value="abc")
    assert says(texts.CLI_ARG_ERRORS["choice"], one_line(capsys, "ledger", "frob", code=2), value="frob")
    assert says(texts.CLI_ARG_ERRORS["unrecognized"], one_line(capsys, "ledger", "report", "--xml", code=2))
    assert texts.CLI_ASK_EMPTY in one_line(capsys, "ask", "", code=2)  # not the greeting


def test_help_is_chinese_everywhere(capsys):
    for argv in (
        ["--help"],
        ["ledger", "--help"],
        ["ledger", "import", "--help"],
        ["kb", "import", "--help"],
        ["stats", "--help"],
        ["ask", "--help"],
    ):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert out.startswith(texts.CLI_USAGE_PREFIX) and "show this help" not in out
        assert "options" not in out and "positional arguments" not in out


def test_export_and_template_write_what_their_names_say(capsys, empty_folder):
    rows = [ledger_row(investment=10), ledger_row(investment=10, 手续="立项", 状态="已办结", 办结日期="2026-02-12")]
    main(["ledger", "import", str(write_csv(empty_folder / "l.csv", rows))])
    main(["ledger", "export", "out.csv"])
    main(["ledger", "template", "t.csv"])
    main(["ledger", "export", "out.xlsx"])
    capsys.readouterr()
    data = (empty_folder / "out.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"PK" not in data[:4]
    with (empty_folder / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == list(HEADERS) and len(table) == 3
    assert table[1][HEADERS.index("总投资(亿元)")] == "10"
    template = (empty_folder / "t.csv").read_bytes()
    assert template.startswith(b"\xef\xbb\xbf" + HEADERS[0].encode())
    sheet = load_workbook(empty_folder / "out.xlsx").active
    status = "ABCDEFGHIJKLMNO"[HEADERS.index("状态")]
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists[f"{status}2:{status}3"] == '"' + ",".join(STATUS_LABELS[s] for s in ProcedureStatus) + '"'
    main(["ledger", "import", "out.csv"])  # the CSV export imports back unchanged
    assert says(texts.LEDGER_IMPORT_DONE, capsys.readouterr().out, procedures_unchanged=2, procedures_created=0)


def test_investment_is_shown_as_written():
    assert [investment_text(Decimal(v)) for v in ("10.0000", "12.5000", "0.0001", "100")] == [
        "10",
        "12.5",
        "0.0001",
        "100",
    ]


@pytest.mark.parametrize(
    ("name", "value", "wanted"),
    [
        ("LOG_LEVEL", "LOUD", texts.SETTINGS_INVALID.format(detail="LOG_LEVEL")),
        ("TELEGRAM_API_BASE_URL", "notaurl", texts.SETTINGS_INVALID.format(detail="TELEGRAM_API_BASE_URL")),
    ],
)  # a database down at start is waited for by the bot, one line per attempt: tests/test_runtime.py
def test_the_bot_stops_with_one_line_on_a_bad_setting(empty_folder, name, value, wanted):
    import os
    import subprocess
    import sys

    bot = Path(__file__).resolve().parent.parent / "bot.py"
    environment = {**os.environ, "TELEGRAM_BOT_TOKEN": "123456:TEST", name: value}
    done = subprocess.run(
        [sys.executable, str(bot)], env=environment, capture_output=True, text=True, timeout=60, cwd=empty_folder
    )
    assert done.returncode == 2
    err = done.stderr.strip()
    assert err.startswith(wanted.split("。")[0]) and len(err.splitlines()) == 1 and "secret" not in err
