"""A reminder as message text (wording from texts.py); the sender adds nothing but escaping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import texts
from ledger.deadlines import DEFAULT_SOON_DAYS
from ledger.models import STATUS_LABELS
from scheduler.reminders import ProcedureRef, ProjectRef, Reminder, Subject

Escape = Callable[[str], str]
MAX_LINES = 30  # a digest over a big ledger lists the first ones and counts the rest


def _plain(text: str) -> str:
    return text


def _limited(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], texts.REMINDER_MORE.format(count=len(lines) - limit)]


def _procedure_lines(refs: Sequence[ProcedureRef], escape: Escape, limit: int) -> list[str]:
    lines = []
    for ref in refs:
        left = ""
        if ref.working_days_left is not None:
            left = (
                texts.REMINDER_OVER.format(days=-ref.working_days_left)
                if ref.working_days_left < 0
                else texts.REMINDER_LEFT.format(left=ref.working_days_left)
            )
        lines.append(
            texts.REMINDER_LINE_PROCEDURE.format(
                project=escape(ref.project_name),
                item=ref.item_name,
                due=ref.due_on.isoformat() if ref.due_on else "",
                left=left,
            )
        )
    return _limited(lines, limit)


def _open_lines(refs: Sequence[ProcedureRef], limit: int) -> list[str]:
    lines = [
        texts.REMINDER_LINE_OPEN.format(
            item=ref.item_name,
            status=STATUS_LABELS[ref.status],
            due=texts.REMINDER_LINE_DUE.format(due=ref.due_on.isoformat()) if ref.due_on else "",
        )
        for ref in refs
    ]
    return _limited(lines, limit)


def _project_lines(projects: Sequence[ProjectRef], escape: Escape, limit: int) -> list[str]:
    lines = [
        texts.REMINDER_LINE_PROJECT.format(
            name=escape(p.name),
            code=escape(p.code),
            deadline=p.deadline.isoformat() if p.deadline else "—",
            open=p.open_procedures,
            steward=texts.REMINDER_STEWARD.format(steward=escape(p.steward)) if p.steward else "",
        )
        for p in projects
    ]
    return _limited(lines, limit)


def render_reminder(
    reminder: Reminder, *, escape: Escape = _plain, soon_days: int = DEFAULT_SOON_DAYS, max_lines: int = MAX_LINES
) -> str:
    project = reminder.project
    if (
        reminder.subject in (Subject.deadline, Subject.deadline_passed)
        and project is not None
        and project.deadline is not None
        and project.days_left is not None
    ):
        passed = reminder.subject is Subject.deadline_passed
        head = (texts.REMINDER_DEADLINE_PASSED if passed else texts.REMINDER_DEADLINE).format(
            name=escape(project.name),
            deadline=project.deadline.isoformat(),
            days=-project.days_left if passed else project.days_left,
            count=len(reminder.procedures),
        )
        return "\n".join([head, *_open_lines(reminder.procedures, max_lines)])
    if reminder.subject is Subject.overdue and project is not None:
        head = texts.REMINDER_OVERDUE.format(name=escape(project.name), count=len(reminder.procedures))
        return "\n".join([head, *_procedure_lines(reminder.procedures, escape, max_lines)])
    if reminder.subject is Subject.department:
        lines = [
            texts.REMINDER_DEPARTMENT.format(
                overdue=len(reminder.overdue), soon=len(reminder.due_soon), soon_days=soon_days
            )
        ]
        if reminder.overdue:
            lines += [texts.REMINDER_DEPARTMENT_OVERDUE, *_procedure_lines(reminder.overdue, escape, max_lines)]
        if reminder.due_soon:
            lines += [texts.REMINDER_DEPARTMENT_SOON, *_procedure_lines(reminder.due_soon, escape, max_lines)]
        return "\n".join(lines)
    lines = [
        texts.REMINDER_DIGEST.format(
            overdue=len(reminder.overdue),
            soon=len(reminder.due_soon),
            near=len(reminder.projects_near_deadline),
            past=len(reminder.projects_past_deadline),
        )
    ]
    if reminder.projects_near_deadline:
        lines += [texts.REMINDER_DIGEST_NEAR, *_project_lines(reminder.projects_near_deadline, escape, max_lines)]
    if reminder.projects_past_deadline:
        lines += [texts.REMINDER_DIGEST_PAST, *_project_lines(reminder.projects_past_deadline, escape, max_lines)]
    if reminder.overdue:
        lines += [texts.REMINDER_DEPARTMENT_OVERDUE, *_procedure_lines(reminder.overdue, escape, max_lines)]
    return "\n".join(lines)
