"""The project profile (项目审批画像表), the short progress summary, and status answers.

Material lists and default departments come from the knowledge base through two plain
callables the edge passes in (`materials_for(item_key)`, `department_for(item_key)`), so the
ledger does not depend on how the knowledge base is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from ledger.deadlines import (
    DEFAULT_FIRST_HALF,
    DEFAULT_SECOND_HALF,
    DEFAULT_SOON_DAYS,
    Calendar,
    DeadlineRule,
    deadline_or_none,
    procedure_timing,
)
from ledger.errors import ProcedureNotInLedger, ProjectNotFound
from ledger.models import STATUS_LABELS, Procedure, ProcedureStatus, Project
from ledger.procedures import procedure_name, slot_siblings, sort_key
from ledger.values import project_code

MaterialsFor = Callable[[str], list[str]]
DepartmentFor = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class ProcedureLine:
    item_key: str
    name: str
    status: ProcedureStatus
    department: str
    accepted_on: date | None
    promised_days: int | None
    due_on: date | None
    working_days_left: int | None
    overdue: bool
    due_soon: bool
    finished_on: date | None
    note: str | None
    materials: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True, slots=True)
class ProgressSummary:
    code: str
    name: str
    done: int
    not_needed: int
    in_progress: int
    not_started: int
    overdue: int
    deadline: date | None  # None: the stored planned start makes no sense
    days_to_deadline: int | None  # calendar days; negative once passed
    working_days_to_deadline: int | None  # working days in (today, deadline]; negative once passed

    @property
    def total(self) -> int:
        return self.done + self.not_needed + self.in_progress + self.not_started

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.in_progress == self.not_started == 0


@dataclass(frozen=True, slots=True)
class ProjectProfile:
    code: str
    name: str
    enterprise: str | None
    region: str
    sector: str
    investment_yi: Decimal
    start_half: int
    start_year: int
    planned_start_date: date | None
    steward: str | None
    today: date
    procedures: tuple[ProcedureLine, ...]
    summary: ProgressSummary

    @property
    def deadline(self) -> date | None:
        return self.summary.deadline


def _project_code(code: str) -> str:
    """A project code as the ledger stores it (full-width characters folded, no blanks)."""
    return project_code(code)


def get_project(*, session: Session, code: str) -> Project:
    code = _project_code(code)
    project = session.exec(select(Project).where(Project.code == code)).first()
    if project is None:
        raise ProjectNotFound(code)
    return project


def _procedures(session: Session, project: Project) -> list[Procedure]:
    rows = session.exec(select(Procedure).where(Procedure.project_id == project.id)).all()
    return sorted(rows, key=lambda p: sort_key(p.item_key))


def _line(
    procedure: Procedure,
    *,
    today: date,
    calendar: Calendar,
    department_for: DepartmentFor,
    materials_for: MaterialsFor | None,
    soon_days: int,
) -> ProcedureLine:
    status = ProcedureStatus(procedure.status)
    timing = procedure_timing(
        status=status,
        accepted_on=procedure.accepted_on,
        promised_days=procedure.promised_days,
        today=today,
        calendar=calendar,
        soon_days=soon_days,
    )
    materials: tuple[str, ...] = ()
    if materials_for is not None and not status.is_finished:
        materials = tuple(materials_for(procedure.item_key))
    return ProcedureLine(
        item_key=procedure.item_key,
        name=procedure_name(procedure.item_key),
        status=status,
        department=procedure.department or department_for(procedure.item_key),
        accepted_on=procedure.accepted_on,
        promised_days=procedure.promised_days,
        due_on=timing.due_on,
        working_days_left=timing.working_days_left,
        overdue=timing.overdue,
        due_soon=timing.due_soon,
        finished_on=procedure.finished_on,
        note=procedure.note,
        materials=materials,
    )


def _summary(
    project: Project, lines: list[ProcedureLine], *, today: date, calendar: Calendar, rule: DeadlineRule
) -> ProgressSummary:
    counts = dict.fromkeys(ProcedureStatus, 0)
    for line in lines:
        counts[line.status] += 1
    deadline = deadline_or_none(rule, project.start_half, project.start_year)
    return ProgressSummary(
        code=project.code,
        name=project.name,
        done=counts[ProcedureStatus.done],
        not_needed=counts[ProcedureStatus.not_needed],
        in_progress=counts[ProcedureStatus.in_progress],
        not_started=counts[ProcedureStatus.not_started],
        overdue=sum(1 for line in lines if line.overdue),
        deadline=deadline,
        days_to_deadline=(deadline - today).days if deadline else None,
        working_days_to_deadline=(calendar.working_days_between(today, deadline) if deadline else None),
    )


def project_profile(
    *,
    session: Session,
    code: str,
    today: date,
    calendar: Calendar,
    materials_for: MaterialsFor,
    department_for: DepartmentFor,
    first_half_deadline: str = DEFAULT_FIRST_HALF,
    second_half_deadline: str = DEFAULT_SECOND_HALF,
    soon_days: int = DEFAULT_SOON_DAYS,
) -> ProjectProfile:
    project = get_project(session=session, code=code)
    lines = [
        _line(
            p,
            today=today,
            calendar=calendar,
            department_for=department_for,
            materials_for=materials_for,
            soon_days=soon_days,
        )
        for p in _procedures(session, project)
    ]
    rule = DeadlineRule(first_half_deadline, second_half_deadline)
    return ProjectProfile(
        code=project.code,
        name=project.name,
        enterprise=project.enterprise,
        region=project.region,
        sector=project.sector,
        investment_yi=project.investment_yi,
        start_half=project.start_half,
        start_year=project.start_year,
        planned_start_date=project.planned_start_date,
        steward=project.steward,
        today=today,
        procedures=tuple(lines),
        summary=_summary(project, lines, today=today, calendar=calendar, rule=rule),
    )


def progress_summary(
    *,
    session: Session,
    code: str,
    today: date,
    calendar: Calendar,
    first_half_deadline: str = DEFAULT_FIRST_HALF,
    second_half_deadline: str = DEFAULT_SECOND_HALF,
) -> ProgressSummary:
    project = get_project(session=session, code=code)
    lines = [
        _line(
            p,
            today=today,
            calendar=calendar,
            department_for=lambda key: "",
            materials_for=None,
            soon_days=DEFAULT_SOON_DAYS,
        )
        for p in _procedures(session, project)
    ]
    rule = DeadlineRule(first_half_deadline, second_half_deadline)
    return _summary(project, lines, today=today, calendar=calendar, rule=rule)


# A project's procedures by its code, in one statement (the project by its code, with its procedure rows, if
# any), built once.
_PROCEDURES_BY_CODE = (
    select(Project.id, Procedure)
    .outerjoin(Procedure, col(Procedure.project_id) == col(Project.id))
    .where(col(Project.code) == bindparam("code"))
)


def procedures_by_code(*, session: Session, code: str) -> dict[str, Procedure] | None:
    """The procedures of the project with this code, by item key (one statement); None when there is no such
    project."""
    found = session.execute(_PROCEDURES_BY_CODE, {"code": _project_code(code)}).all()
    if not found:
        return None
    # copies outside the session: a cache may keep them, and the session's own rows stay as they are
    return {p.item_key: Procedure(**p.model_dump()) for _, p in found if p is not None}


def procedure_status(
    *,
    session: Session,
    code: str,
    item_key: str,
    today: date,
    calendar: Calendar,
    department_for: DepartmentFor,
    soon_days: int = DEFAULT_SOON_DAYS,
    procedures: dict[str, Procedure] | None = None,
) -> ProcedureLine:
    """Where one procedure stands (「我们环评办到哪了」), from `procedures` (the project's, by item key, as
    `procedures_by_code` gives them) or read now.

    An item sharing a slot of the ten stands in for the one asked about: a question about 备案
    is answered from the ledger's 核准 row when that is how the project was approved.
    """
    rows = procedures if procedures is not None else procedures_by_code(session=session, code=code)
    if rows is None:
        raise ProjectNotFound(_project_code(code))
    for key in (item_key, *slot_siblings(item_key)):
        if key in rows:
            return _line(
                rows[key],
                today=today,
                calendar=calendar,
                department_for=department_for,
                materials_for=None,
                soon_days=soon_days,
            )
    raise ProcedureNotInLedger(_project_code(code), item_key)
