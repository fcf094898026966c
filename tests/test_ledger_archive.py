"""Projects leave the ledger: `ledger remove`, `import --prune --yes`; archived projects leave
reports and reminders, keep their history and come back by import."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

import texts
from cli.main import main
from ledger.archive import archive_projects
from ledger.errors import ProjectNotFound
from ledger.importer import import_file
from ledger.models import Procedure, Project
from ledger.report import compute_report
from scheduler.reminders import plan_reminders
from tests.ledger_support import ledger_row, write_csv, write_xlsx
from tests.texts_match import says
from workdays import WorkingCalendar

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ROWS = [
    ledger_row(手续="环评", 受理日期="2026-02-10", days=5),
    ledger_row(项目代码="P002", 项目名称="物流园", 手续="环评", 受理日期="2026-02-10", days=5),
    ledger_row(项目代码="P003", 项目名称="光伏", 手续="施工许可", 状态="未启动", 受理日期=None, days=None),
]


def test_archived_project_leaves_report_and_reminders_keeps_history_and_comes_back(tmp_path, database):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "l.xlsx", ROWS))
    with db.session() as s:
        for project in s.exec(select(Project)).scalars():
            project.help_chat_id = -1001000000000 - project.id
    assert db.call(compute_report).overall.projects == 3
    before = db.call(
        plan_reminders, today=date(2026, 3, 2), calendar=WorkingCalendar(), department_key_for=lambda key: "eco_env"
    )
    assert any("P002" in str(r) for r in before)

    assert db.call(archive_projects, codes=["P002", "P002"], now=NOW) == ["P002"]
    assert db.call(archive_projects, codes=["P002"], now=NOW) == []  # already archived
    report = db.call(compute_report)
    assert (report.overall.projects, report.overall.procedures) == (2, 2)
    after = db.call(
        plan_reminders, today=date(2026, 3, 2), calendar=WorkingCalendar(), department_key_for=lambda key: "eco_env"
    )
    assert after and not any("P002" in str(r) for r in after)
    with db.session() as s:  # history kept: the project, its procedures, its help group
        p2 = s.exec(select(Project).where(Project.code == "P002")).scalar_one()
        assert p2.archived_at is not None and p2.help_chat_id is not None
        assert len(s.exec(select(Procedure).where(Procedure.project_id == p2.id)).all()) == 1

    result = db.call(import_file, path=write_xlsx(tmp_path / "again.xlsx", ROWS[1:2]))
    assert result.projects_restored == 1
    assert db.call(compute_report).overall.projects == 3


def test_archiving_an_unknown_code_changes_nothing(tmp_path, database):
    db = database
    db.call(import_file, path=write_xlsx(tmp_path / "l.xlsx", ROWS))
    with pytest.raises(ProjectNotFound):
        db.call(archive_projects, codes=["P001", "NOPE"], now=NOW)
    assert db.call(compute_report).overall.projects == 3


def test_remove_from_the_command_line(env, capsys):
    main(["ledger", "import", str(write_csv(env / "l.csv", ROWS))])
    capsys.readouterr()
    main(["ledger", "remove", "P001", "P003"])
    out = capsys.readouterr().out
    assert says(texts.LEDGER_ARCHIVED, out, count=2) and "P001、P003" in out
    main(["ledger", "remove", "P001"])
    assert says(texts.LEDGER_ALREADY_ARCHIVED, capsys.readouterr().out, count=1)
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "remove", "NOPE"])
    assert exit_.value.code == 1
    assert "NOPE" in capsys.readouterr().err
    main(["ledger", "report", "--json"])
    assert '"projects": 1' in capsys.readouterr().out
    main(["ledger", "export", "now.csv"])  # archived projects are not exported either
    assert says(texts.LEDGER_EXPORT_DONE, capsys.readouterr().out, rows=1)


def test_prune_lists_first_and_needs_yes(env, capsys):
    main(["ledger", "import", str(write_csv(env / "l.csv", ROWS))])
    capsys.readouterr()
    smaller = write_csv(env / "s.csv", [ROWS[0]])
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "import", "--prune", str(smaller)])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert says(texts.LEDGER_PRUNE_WOULD_ARCHIVE, err, count=2) and "P002、P003" in err
    assert texts.LEDGER_PRUNE_NEEDS_YES in err
    main(["ledger", "report", "--json"])
    assert '"projects": 3' in capsys.readouterr().out  # nothing imported, nothing archived

    main(["ledger", "import", "--prune", "--yes", str(smaller)])
    out = capsys.readouterr().out
    assert says(texts.LEDGER_ARCHIVED, out, count=2) and "P002、P003" in out
    main(["ledger", "report", "--json"])
    assert '"projects": 1' in capsys.readouterr().out

    main(["ledger", "import", str(env / "l.csv")])  # back by import
    assert says(texts.LEDGER_IMPORT_RESTORED, capsys.readouterr().out, count=2)
    main(["ledger", "report", "--json"])
    assert '"projects": 3' in capsys.readouterr().out
