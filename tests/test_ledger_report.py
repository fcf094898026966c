"""Completion figures exactly as the published reports compute them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import insert

from ledger.models import Procedure, ProcedureStatus, Project
from ledger.procedures import CATALOG
from ledger.report import compute_report, percent

S = ProcedureStatus
REGIONS = ("新城区", "回民区", "玉泉区", "赛罕区")
SECTORS = ("工业", "能源", "社会事业")


def published_ledger(session):
    """240 projects, 45 with every procedure finished; 2,640 procedures (11 each), 819 done,
    935 not needed, 886 open — the city's published check."""
    keys = [kind.key for kind in CATALOG[:11]]
    projects = [
        {
            "code": f"P{i:03d}",
            "name": f"项目{i}",
            "region": REGIONS[i % 4],
            "sector": SECTORS[i % 3],
            "investment_yi": Decimal(5 + i % 20),
            "start_half": 1,
            "start_year": 2026,
        }
        for i in range(240)
    ]
    session.execute(insert(Project), projects)
    ids = dict(
        session.execute(
            Project.__table__.select().with_only_columns(Project.__table__.c.code, Project.__table__.c.id)
        ).all()
    )

    slots: dict[tuple[int, int], ProcedureStatus | None] = {(i, k): None for i in range(240) for k in range(11)}
    # every incomplete project (45..239) gets one open procedure, 691 more are spread over them
    for i in range(45, 240):
        slots[(i, 0)] = S.in_progress
    spare = [(i, k) for k in range(1, 11) for i in range(45, 240)]
    for n, slot in enumerate(spare[: 886 - 195]):
        slots[slot] = S.not_started if n % 2 else S.in_progress
    finished = [slot for slot, status in slots.items() if status is None]
    assert len(finished) == 819 + 935
    for n, slot in enumerate(finished):
        slots[slot] = S.done if n < 819 else S.not_needed
    session.execute(
        insert(Procedure),
        [{"project_id": ids[f"P{i:03d}"], "item_key": keys[k], "status": status} for (i, k), status in slots.items()],
    )


def test_percent_is_half_up_with_one_decimal():
    assert percent(45, 240) == Decimal("18.8")  # 18.75
    assert percent(819 + 935, 2640) == Decimal("66.4")  # 66.439...
    assert percent(1, 16) == Decimal("6.3")  # 6.25
    assert percent(1, 3) == Decimal("33.3")
    assert percent(0, 5) == Decimal("0.0")
    assert percent(1, 0) is None


def check_published(db):
    db.call(published_ledger)
    data = db.call(compute_report).to_dict()
    assert {
        k: data[k]
        for k in (
            "projects",
            "projects_complete",
            "project_completion_rate",
            "procedures",
            "procedures_done",
            "procedures_not_needed",
            "procedure_completion_rate",
        )
    } == {
        "projects": 240,
        "projects_complete": 45,
        "project_completion_rate": 18.8,
        "procedures": 2640,
        "procedures_done": 819,
        "procedures_not_needed": 935,
        "procedure_completion_rate": 66.4,
    }
    assert [g["name"] for g in data["by_region"]] == sorted(REGIONS)
    assert sum(g["projects"] for g in data["by_region"]) == 240
    assert sum(g["projects_complete"] for g in data["by_sector"]) == 45
    assert sum(g["procedures_done"] for g in data["by_sector"]) == 819
    # investments 5..24亿 cycle every 20 projects: 10..24 (15 of 20) are 10亿元 and above
    assert data["over_1bn"]["projects"] == 180
    json.dumps(data)  # the JSON of the issue
    return data


def test_published_figures(database):
    check_published(database)


def test_breakdown_by_region_sector_and_over_1bn(database):
    db = database

    def build(session):
        rows = [
            ("A", "东区", "工业", Decimal(10), [S.done, S.not_needed]),  # complete
            ("B", "东区", "能源", Decimal("9.9999"), [S.done, S.in_progress]),
            ("C", "西区", "工业", Decimal(50), [S.not_started]),
            ("D", "西区", "工业", Decimal(0), []),
        ]  # nothing yet
        for code, region, sector, investment, statuses in rows:
            project = Project(
                code=code,
                name=code,
                region=region,
                sector=sector,
                investment_yi=investment,
                start_half=1,
                start_year=2026,
            )
            session.add(project)
            session.flush()
            for key, status in zip(("eia", "energy_review"), statuses):
                session.add(Procedure(project_id=project.id, item_key=key, status=status))

    db.call(build)
    report = db.call(compute_report)
    assert (report.overall.projects, report.overall.projects_complete) == (4, 1)
    assert report.overall.procedure_completion_rate == Decimal("60.0")  # 3 of 5
    regions = {g.name: g.figures for g in report.by_region}
    assert regions["东区"].project_completion_rate == Decimal("50.0")
    assert regions["东区"].procedure_completion_rate == Decimal("75.0")
    assert regions["西区"].projects == 2 and regions["西区"].procedures == 1
    assert regions["西区"].project_completion_rate == Decimal("0.0")
    sectors = {g.name: g.figures for g in report.by_sector}
    assert (sectors["工业"].projects, sectors["工业"].projects_complete) == (3, 1)
    # 10亿元以上 includes exactly 10
    assert (report.over_1bn.projects, report.over_1bn.projects_complete, report.over_1bn.procedures) == (2, 1, 3)


def test_empty_ledger_has_no_rates(database):
    data = database.call(compute_report).to_dict()
    assert data["projects"] == 0 and data["project_completion_rate"] is None
    assert data["by_region"] == [] and data["over_1bn"]["procedures"] == 0


def test_statuses_are_stored_as_ascii_values(database):
    # statuses stored as their stable ascii values, whatever wrote them
    db = database
    with db.session() as s:
        project = Project(
            code="X", name="X", region="r", sector="s", investment_yi=Decimal(1), start_half=2, start_year=2026
        )
        s.add(project)
        s.flush()
        s.execute(
            insert(Procedure),
            [
                {"project_id": project.id, "item_key": k, "status": "done"}
                for k in ("eia", "energy_review", "soil_water")
            ],
        )
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql("select distinct status from ledger_procedure").scalars().all()
    assert stored == ["done"]
    assert db.call(compute_report).overall.projects_complete == 1
