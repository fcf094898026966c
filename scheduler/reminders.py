"""Which deadline reminders are due today, as plain values (no Telegram here).

The plan for a working day holds:

- for each help group (a project with a bound chat) with open procedures:
  * a *deadline* reminder when the approval deadline is 30, 14, 7, 3 or 1 days away — one per
    threshold, keyed by the day the threshold was reached (deadline - N days), so it is planned
    again on every later day until the next threshold and the log lets it out only once. A
    threshold reached on a weekend, a holiday or while the bot was down is sent on the next
    working day the plan is made; when several were missed, only the nearest is sent;
  * once the deadline has passed, a *deadline passed* reminder every working day;
  * an *overdue* reminder every working day listing the procedures past their promised due date;
- for each department: its overdue and due-soon procedures across all projects, daily;
- for the steward group: a daily digest (overdue, due soon, projects near or past deadline).

Everything is keyed (audience, subject, day): the caller claims each key in the reminder log
(scheduler.models.claim_reminder) before sending, so running the plan again — after a restart,
at start-up to catch up, or twice by mistake — sends nothing twice, and running it at start-up
sends whatever of today's plan was missed. On a non-working day the plan is empty.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from ledger.deadlines import (
    DEFAULT_FIRST_HALF,
    DEFAULT_SECOND_HALF,
    DEFAULT_SOON_DAYS,
    NO_TIMING,
    Calendar,
    DeadlineRule,
    Timing,
    deadline_or_none,
    procedure_timing,
)
from ledger.models import OPEN_STATUSES, PROCEDURE_TABLE, PROJECT_TABLE, ProcedureStatus
from ledger.procedures import procedure_name, sort_key

DEFAULT_THRESHOLDS = (30, 14, 7, 3, 1)
STEWARD_AUDIENCE_KEY = "steward"


class AudienceKind(str, enum.Enum):
    help_group = "help"  # key: the chat id of the project's help group
    department = "dept"  # key: the department key (as bound with /bind_dept)
    steward = "steward"  # key: "steward" (the steward group from the settings)


class Subject(str, enum.Enum):
    deadline = "deadline"  # the project's deadline is near (a threshold reached)
    deadline_passed = "deadline_passed"
    overdue = "overdue"  # the project's procedures past their due date
    department = "department"  # a department's overdue and due-soon procedures
    digest = "digest"  # the steward group's daily digest


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}"


@dataclass(frozen=True, slots=True)
class ProcedureRef:
    project_code: str
    project_name: str
    item_key: str
    item_name: str
    status: ProcedureStatus
    department: str | None  # as written in the ledger
    department_key: str | None  # resolved, for routing
    due_on: date | None
    working_days_left: int | None  # negative once overdue
    overdue: bool = False  # past its due date
    due_soon: bool = False  # at most `soon_days` working days left


@dataclass(frozen=True, slots=True)
class ProjectRef:
    code: str
    name: str
    steward: str | None
    deadline: date | None  # None: the ledger's planned start makes no sense
    days_left: int | None  # calendar days; negative once passed
    open_procedures: int


@dataclass(frozen=True, slots=True)
class Reminder:
    audience: Audience
    subject: Subject
    day: date  # the day the reminder belongs to (part of the key)
    project: ProjectRef | None = None
    threshold: int | None = None  # for a deadline reminder: 30, 14, 7, 3 or 1
    procedures: tuple[ProcedureRef, ...] = ()  # open (deadline) or overdue procedures
    overdue: tuple[ProcedureRef, ...] = ()  # department / digest
    due_soon: tuple[ProcedureRef, ...] = ()  # department / digest
    projects_near_deadline: tuple[ProjectRef, ...] = ()  # digest
    projects_past_deadline: tuple[ProjectRef, ...] = ()  # digest
    subject_detail: str = field(default="")  # project code / threshold, part of the key

    @property
    def key(self) -> str:
        subject = self.subject.value + (f":{self.subject_detail}" if self.subject_detail else "")
        return f"{self.audience}|{subject}|{self.day.isoformat()}"


def current_threshold(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The nearest threshold already reached: 20 days left -> 30; 0 days left -> 1."""
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached and days_left >= 0 else None


@dataclass(frozen=True)
class PlanProblem:
    """A project whose reminders could not (all) be planned, e.g. a nonsensical date already
    in the ledger. The rest of the plan stands; the caller logs and records it under `key`."""

    project_code: str
    day: date
    error: str
    audience: Audience | None = None  # its help group, when it has one

    @property
    def key(self) -> str:
        return f"{self.audience or 'project'}|plan:{self.project_code}|{self.day.isoformat()}"


@dataclass(frozen=True)
class Plan:
    reminders: list[Reminder]
    problems: list[PlanProblem]


def plan_reminders(**kwargs: Any) -> list[Reminder]:
    """Today's reminders (see plan_day, which also says what could not be planned)."""
    return plan_day(**kwargs).reminders


def plan_day(
    *,
    session: Session,
    today: date,
    calendar: Calendar,
    first_half_deadline: str = DEFAULT_FIRST_HALF,
    second_half_deadline: str = DEFAULT_SECOND_HALF,
    department_key_for: Callable[[str], str | None] = lambda item_key: None,
    resolve_department: Callable[[str], str | None] = lambda text: None,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    soon_days: int = DEFAULT_SOON_DAYS,
) -> Plan:
    """Today's reminders. `department_key_for(item_key)` gives an item's department key;
    `resolve_department(text)` turns a 责任部门 written in the ledger into a key (None: the
    text itself is used as the key, and the sender finds no group for it).

    One project's bad data never stops the plan: a procedure whose dates cannot be computed
    has no due date, a project whose deadline cannot be, no deadline reminder; each such
    problem is in `Plan.problems`, and every other reminder is planned."""
    problems: list[PlanProblem] = []
    if not calendar.is_working_day(today):
        return Plan([], problems)
    rule = DeadlineRule(first_half_deadline, second_half_deadline)
    deadlines: dict[tuple[int, int], date | None] = {}
    p, q = PROJECT_TABLE.c, PROCEDURE_TABLE.c
    statement = (
        select(
            p.id,
            p.code,
            p.name,
            p.steward,
            p.help_chat_id,
            p.start_half,
            p.start_year,
            q.item_key,
            q.status,
            q.department,
            q.accepted_on,
            q.promised_days,
        )
        .join_from(PROCEDURE_TABLE, PROJECT_TABLE, q.project_id == p.id)
        .where(q.status.in_(OPEN_STATUSES), p.archived_at.is_(None))  # archived: no reminders
    )
    # Many procedures share a status, an accepted day and promised days: time each once.
    timings: dict[tuple[ProcedureStatus, date | None, int | None], Timing] = {}
    dept_cache: dict[tuple[str | None, str], str | None] = {}
    projects: dict[int, Any] = {}
    open_by_project: dict[int, list[ProcedureRef]] = defaultdict(list)

    def department_of(text: str | None, item_key: str) -> str | None:
        cached = (text, item_key)
        if cached not in dept_cache:
            dept_cache[cached] = (resolve_department(text) or text) if text else department_key_for(item_key)
        return dept_cache[cached]

    for row in session.execute(statement):
        projects.setdefault(row.id, row)
        status = ProcedureStatus(row.status)
        cached = (status, row.accepted_on, row.promised_days)
        if cached not in timings:
            try:
                timings[cached] = procedure_timing(
                    status=status,
                    accepted_on=row.accepted_on,
                    promised_days=row.promised_days,
                    today=today,
                    calendar=calendar,
                    soon_days=soon_days,
                )
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the plan
                problems.append(_problem(row, today, f"{row.item_key}: {exc!r}"))
                timings[cached] = NO_TIMING
        timing = timings[cached]
        open_by_project[row.id].append(
            ProcedureRef(
                project_code=row.code,
                project_name=row.name,
                item_key=row.item_key,
                item_name=procedure_name(row.item_key),
                status=status,
                department=row.department,
                department_key=department_of(row.department, row.item_key),
                due_on=timing.due_on,
                working_days_left=timing.working_days_left,
                overdue=timing.overdue,
                due_soon=timing.due_soon,
            )
        )

    reminders: list[Reminder] = []
    by_department: dict[str, tuple[list[ProcedureRef], list[ProcedureRef]]] = defaultdict(lambda: ([], []))
    all_overdue: list[ProcedureRef] = []
    all_soon: list[ProcedureRef] = []
    near: list[ProjectRef] = []
    past: list[ProjectRef] = []
    for pid in sorted(projects, key=lambda i: projects[i].code):
        row = projects[pid]
        try:
            reminders += _plan_project(
                row,
                sorted(open_by_project[pid], key=lambda r: sort_key(r.item_key)),
                today=today,
                rule=rule,
                deadlines=deadlines,
                thresholds=thresholds,
                by_department=by_department,
                all_overdue=all_overdue,
                all_soon=all_soon,
                near=near,
                past=past,
                problems=problems,
            )
        except Exception as exc:  # noqa: BLE001 - one project's failure stays its own
            problems.append(_problem(row, today, repr(exc)))

    for key in sorted(by_department):
        overdue, soon = by_department[key]
        reminders.append(
            Reminder(
                Audience(AudienceKind.department, key),
                Subject.department,
                today,
                overdue=tuple(overdue),
                due_soon=tuple(soon),
            )
        )
    if all_overdue or all_soon or near or past:
        reminders.append(
            Reminder(
                Audience(AudienceKind.steward, STEWARD_AUDIENCE_KEY),
                Subject.digest,
                today,
                overdue=tuple(all_overdue),
                due_soon=tuple(all_soon),
                projects_near_deadline=tuple(sorted(near, key=lambda r: (r.days_left, r.code))),
                projects_past_deadline=tuple(sorted(past, key=lambda r: (r.days_left, r.code))),
            )
        )
    return Plan(reminders, problems)


def _problem(row: Any, today: date, error: str) -> PlanProblem:
    audience = Audience(AudienceKind.help_group, str(row.help_chat_id)) if row.help_chat_id is not None else None
    return PlanProblem(project_code=row.code, day=today, error=error, audience=audience)


def _plan_project(
    row: Any,
    refs: list[ProcedureRef],
    *,
    today: date,
    rule: DeadlineRule,
    deadlines: dict[tuple[int, int], date | None],
    thresholds: Sequence[int],
    by_department: dict[str, tuple[list[ProcedureRef], list[ProcedureRef]]],
    all_overdue: list[ProcedureRef],
    all_soon: list[ProcedureRef],
    near: list[ProjectRef],
    past: list[ProjectRef],
    problems: list[PlanProblem],
) -> list[Reminder]:
    """One project's reminders; adds its procedures to the department and digest lists."""
    half_year = (row.start_half, row.start_year)
    if half_year not in deadlines:
        deadlines[half_year] = deadline_or_none(rule, *half_year)
    deadline = deadlines[half_year]
    if deadline is None:
        problems.append(_problem(row, today, f"planned start {row.start_year}/{row.start_half}"))
    overdue = [r for r in refs if r.overdue]
    soon = [r for r in refs if r.due_soon]
    all_overdue += overdue
    all_soon += soon
    for ref in overdue:
        if ref.department_key:
            by_department[ref.department_key][0].append(ref)
    for ref in soon:
        if ref.department_key:
            by_department[ref.department_key][1].append(ref)
    project = None
    if deadline is not None:
        days_left = (deadline - today).days
        project = ProjectRef(row.code, row.name, row.steward, deadline, days_left, len(refs))
        if days_left < 0:
            past.append(project)
        elif days_left <= max(thresholds):
            near.append(project)
    if row.help_chat_id is None:
        return []
    audience = Audience(AudienceKind.help_group, str(row.help_chat_id))
    reminders: list[Reminder] = []
    if project is not None and deadline is not None:
        days_left = (deadline - today).days
        threshold = current_threshold(days_left, thresholds)
        if threshold is not None:
            reminders.append(
                Reminder(
                    audience,
                    Subject.deadline,
                    deadline - timedelta(days=threshold),
                    project=project,
                    threshold=threshold,
                    procedures=tuple(refs),
                    subject_detail=f"{row.code}:{threshold}",
                )
            )
        elif days_left < 0:
            reminders.append(
                Reminder(
                    audience,
                    Subject.deadline_passed,
                    today,
                    project=project,
                    procedures=tuple(refs),
                    subject_detail=row.code,
                )
            )
    if overdue:
        if project is None:  # the overdue list still goes out; the deadline is unknown
            project = ProjectRef(row.code, row.name, row.steward, None, None, len(refs))
        reminders.append(
            Reminder(
                audience, Subject.overdue, today, project=project, procedures=tuple(overdue), subject_detail=row.code
            )
        )
    return reminders
