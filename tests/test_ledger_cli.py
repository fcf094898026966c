"""`steward ledger ...` end to end: real files, a real database (SQLite and PostgreSQL, by the
`env` fixture's DATABASE_URL), exit codes."""

from __future__ import annotations

import io
import json
import os

import pytest
from openpyxl import load_workbook

import texts
from cli.ledger_commands import progress_bar
from cli.main import main
from tests.ledger_support import ledger_row, write_csv
from tests.texts_match import says


def test_template_import_report_export_profile(env, capsys):
    main(["ledger", "template", str(env / "t.xlsx")])
    assert "t.xlsx" in capsys.readouterr().out

    rows = [
        ledger_row(手续="立项", 状态="已办结", 办结日期="2026-02-12"),
        ledger_row(手续="节能审查", 状态="无需办理", 受理日期=None),
        ledger_row(手续="环评"),
    ]
    main(["ledger", "import", str(write_csv(env / "l.csv", rows))])
    assert says(texts.LEDGER_IMPORT_DONE, capsys.readouterr().out, projects_created=1)
    main(["ledger", "import", str(env / "l.csv")])
    unchanged = {"procedures_created": 0, "procedures_updated": 0, "procedures_unchanged": 3}
    assert says(texts.LEDGER_IMPORT_DONE, capsys.readouterr().out, **unchanged)

    main(["ledger", "report", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert (data["procedures"], data["procedure_completion_rate"]) == (3, 66.7)
    assert data["by_region"][0]["name"] == "新城区"
    main(["ledger", "report"])
    rate = texts.LEDGER_RATE.format(rate="66.7")
    assert says(texts.LEDGER_REPORT_OVERALL, capsys.readouterr().out, procedure_rate=rate)

    main(["ledger", "export", str(env / "out.xlsx")])
    assert load_workbook(env / "out.xlsx").active.max_row == 4
    capsys.readouterr()

    main(["ledger", "profile", "P001", "--xlsx", str(env / "p.xlsx")])
    out = capsys.readouterr().out
    assert "新材料产业园" in out and "环评" in out and (env / "p.xlsx").exists()


def test_bad_import_lists_every_error_and_exits_1(env, capsys):
    rows = [ledger_row(状态="快好了"), ledger_row(手续="办个证"), ledger_row(项目代码=None)]
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "import", str(write_csv(env / "bad.csv", rows))])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    reasons = texts.LEDGER_REASONS
    assert says(texts.LEDGER_IMPORT_FAILED, err, count=3)
    status = reasons["unknown_status"].format(value="快好了")
    assert says(texts.LEDGER_ROW_ERROR, err, row=2, column="状态", reason=status)
    procedure = reasons["unknown_procedure"].format(value="办个证")
    assert says(texts.LEDGER_ROW_ERROR, err, row=3, column="手续", reason=procedure)
    assert says(texts.LEDGER_ROW_ERROR, err, row=4, column="项目代码", reason=reasons["required"])
    if os.environ["DATABASE_URL"].startswith("sqlite"):
        assert not (env / "cli.db").exists()  # a refused import does not even create the database
    main(["ledger", "import", str(write_csv(env / "good.csv", [ledger_row()]))])
    with pytest.raises(SystemExit):
        main(["ledger", "import", str(env / "bad.csv")])
    capsys.readouterr()
    main(["ledger", "report", "--json"])
    assert json.loads(capsys.readouterr().out)["procedures"] == 1


def test_unknown_project_exits_1(env, capsys):
    main(["ledger", "import", str(write_csv(env / "good.csv", [ledger_row()]))])
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "profile", "NOPE"])
    assert exit_.value.code == 1
    assert "NOPE" in capsys.readouterr().err


def test_every_subcommand_has_help(env, capsys):
    for command in ("import", "export", "template", "report", "profile", "remove"):
        with pytest.raises(SystemExit) as exit_:
            main(["ledger", command, "--help"])
        assert exit_.value.code == 0
        assert texts.CLI_USAGE_PREFIX + "steward ledger" in capsys.readouterr().out


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as an operator's shell is."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_only_for_big_jobs_and_only_on_a_terminal():
    out = Terminal()
    bar = progress_bar("读取", out)
    bar(120, 120)
    assert out.getvalue() == ""
    bar(1000, 0)  # total not known yet
    bar(1000, 4000)
    bar(4000, 4000)
    text = out.getvalue()
    assert "读取" in text and "100%" in text and text.rstrip().endswith("行/s]")
    assert "4000/4000" in text and text.endswith("\n")

    log = io.StringIO()  # stderr into a log file: not a terminal, nothing written
    quiet = progress_bar("读取", log)
    quiet(1000, 4000)
    quiet(4000, 4000)
    assert log.getvalue() == ""


def test_report_json_has_the_fields_of_the_issue_and_the_published_figures(env, capsys):
    from storage.db import Database
    from tests.test_ledger_report import published_ledger

    db = Database(os.environ["DATABASE_URL"])
    db.migrate()
    db.call(published_ledger)
    db.dispose()
    main(["ledger", "report", "--json"])
    data = json.loads(capsys.readouterr().out)
    fields = {
        "projects",
        "projects_complete",
        "project_completion_rate",
        "procedures",
        "procedures_done",
        "procedures_not_needed",
        "procedure_completion_rate",
    }
    assert set(data) == fields | {"by_region", "by_sector", "over_1bn"}
    assert (data["project_completion_rate"], data["procedure_completion_rate"]) == (18.8, 66.4)
    assert {k: data[k] for k in fields - {"project_completion_rate", "procedure_completion_rate"}} == {
        "projects": 240,
        "projects_complete": 45,
        "procedures": 2640,
        "procedures_done": 819,
        "procedures_not_needed": 935,
    }
    for group in (*data["by_region"], *data["by_sector"]):
        assert set(group) == fields | {"name"}
    assert set(data["over_1bn"]) == fields


def test_files_that_cannot_be_written_give_one_line_and_exit_1(env, capsys):
    main(["ledger", "import", str(write_csv(env / "l.csv", [ledger_row()]))])
    capsys.readouterr()
    missing = env / "no-such-folder"
    for command in (
        ["ledger", "export", str(missing / "e.xlsx")],
        ["ledger", "template", str(missing / "t.xlsx")],
        ["ledger", "profile", "P001", "--xlsx", str(missing / "p.xlsx")],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(command)
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert says(texts.LEDGER_WRITE_FAILED, err) and str(missing) in err and "Traceback" not in err


def test_a_big_import_keeps_stderr_clean_when_it_is_not_a_terminal(env, capsys):
    rows = [
        ledger_row(项目代码=f"P{i:03d}", 手续=key, 状态="未启动", 受理日期=None, days=None)
        for i in range(100)
        for key in ("环评", "施工许可", "节能审查", "水保")
    ]
    main(["ledger", "import", str(write_csv(env / "big.csv", rows))])
    captured = capsys.readouterr()
    assert says(texts.LEDGER_IMPORT_DONE, captured.out, procedures_created=400)
    assert captured.err == ""  # no bar, no carriage returns in a log
