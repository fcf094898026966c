"""How well the 30-minute promise is kept.

Definitions (also in the README):
- A ticket belongs to the window [since, until) by its creation time.
- Its clock ends at the first response, or when it is closed without one, or at the
  deadline, whichever comes first. "as of" is min(until, now).
- answered in time: first response at or before sla_due_at.
- breached: first response after sla_due_at, or no response and the deadline passed
  (still waiting as of "as of", or closed at/after the deadline).
- closed early: closed without a response before its deadline (duplicates, spam): neither
  in time nor breached, and left out of compliance.
- pending: still waiting, deadline not reached.
- compliance % = answered in time / (answered in time + breached); None when nothing has
  a verdict yet.
- first-response time is in business minutes (created_at → first_response_at); median is
  the usual median (mean of the two middle values for an even count), p90 is nearest-rank
  (the smallest value with at least 90% of the values at or below it).
- per department: tickets by the department that holds them (escalated ones only);
  per steward: tickets by who gave the first response, stewards and admins only.
- auto-answer rate (question log): questions answered by the bot / questions asked, where
  questions asked = every logged message except smalltalk.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from desk.models import FINAL_STATUSES, Role, Ticket
from workdays import BusinessHours


@dataclass(frozen=True)
class GroupStats:
    key: str
    label: str
    opened: int = 0
    answered: int = 0
    answered_in_time: int = 0
    breached: int = 0
    compliance_pct: float | None = None
    median_first_response_min: float | None = None
    p90_first_response_min: float | None = None


@dataclass(frozen=True)
class HandoffQuestion:
    normalized: str
    example: str
    count: int


@dataclass(frozen=True)
class DeskStats:
    since: datetime | None
    until: datetime | None
    as_of: datetime
    opened: int
    answered: int
    answered_in_time: int
    answered_late: int
    breached: int
    pending: int
    closed_early: int
    compliance_pct: float | None
    median_first_response_min: float | None
    p90_first_response_min: float | None
    by_department: tuple[GroupStats, ...] = ()
    by_steward: tuple[GroupStats, ...] = ()
    questions: int = 0
    auto_answered: int = 0
    clarified: int = 0
    handed_off: int = 0
    auto_answer_rate_pct: float | None = None
    top_handoffs: tuple[HandoffQuestion, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("since", "until", "as_of"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        data["by_department"] = [asdict(g) for g in self.by_department]
        data["by_steward"] = [asdict(g) for g in self.by_steward]
        data["top_handoffs"] = [asdict(h) for h in self.top_handoffs]
        return data


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class _Acc:
    opened: int = 0
    in_time: int = 0
    late: int = 0
    breached: int = 0
    pending: int = 0
    closed_early: int = 0
    minutes: list[float] = field(default_factory=list)

    def group(self, key: str, label: str) -> GroupStats:
        return GroupStats(
            key=key,
            label=label,
            opened=self.opened,
            answered=self.in_time + self.late,
            answered_in_time=self.in_time,
            breached=self.breached,
            compliance_pct=pct(self.in_time, self.in_time + self.breached),
            median_first_response_min=_round(median(self.minutes)),
            p90_first_response_min=_round(p90(self.minutes)),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _verdict(t: Ticket, as_of: datetime) -> str:
    if t.first_response_at is not None:
        return "in_time" if t.first_response_at <= t.sla_due_at else "late"
    if t.status in FINAL_STATUSES:
        ended = t.resolved_at or t.updated_at
        return "breached" if ended >= t.sla_due_at else "closed_early"
    return "breached" if t.sla_due_at <= as_of else "pending"


def compute_stats(
    *,
    session: Session,
    hours: BusinessHours,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = 10,
) -> DeskStats:
    as_of = min(until, now) if until is not None else now
    query = select(Ticket)
    if since is not None:
        query = query.where(col(Ticket.created_at) >= since)
    if until is not None:
        query = query.where(col(Ticket.created_at) < until)
    tickets = session.exec(query.order_by(col(Ticket.id))).all()

    total = _Acc()
    departments: dict[str, _Acc] = defaultdict(_Acc)
    stewards: dict[str, _Acc] = defaultdict(_Acc)
    steward_names: dict[str, str] = {}
    for t in tickets:
        verdict = _verdict(t, as_of)
        minutes = hours.minutes_between(t.created_at, t.first_response_at) if t.first_response_at is not None else None
        accs = [total]
        if t.department_key:
            accs.append(departments[t.department_key])
        if t.first_response_by is not None and t.first_response_role in (Role.steward.value, Role.admin.value):
            key = str(t.first_response_by)
            accs.append(stewards[key])
            steward_names[key] = t.first_response_by_name or key
        for acc in accs:
            acc.opened += 1
            if verdict == "in_time":
                acc.in_time += 1
            elif verdict == "late":
                acc.late += 1
                acc.breached += 1
            elif verdict == "breached":
                acc.breached += 1
            elif verdict == "pending":
                acc.pending += 1
            else:
                acc.closed_early += 1
            if minutes is not None:
                acc.minutes.append(minutes)

    overall = total.group("all", "")
    questions, auto, clarified, handed, top_handoffs = _question_numbers(session, since=since, until=until, top=top)
    return DeskStats(
        since=since,
        until=until,
        as_of=as_of,
        opened=total.opened,
        answered=overall.answered,
        answered_in_time=total.in_time,
        answered_late=total.late,
        breached=total.breached,
        pending=total.pending,
        closed_early=total.closed_early,
        compliance_pct=overall.compliance_pct,
        median_first_response_min=overall.median_first_response_min,
        p90_first_response_min=overall.p90_first_response_min,
        by_department=tuple(departments[k].group(k, k) for k in sorted(departments)),
        by_steward=tuple(
            stewards[k].group(k, steward_names[k]) for k in sorted(stewards, key=lambda k: (-stewards[k].opened, k))
        ),
        questions=questions,
        auto_answered=auto,
        clarified=clarified,
        handed_off=handed,
        auto_answer_rate_pct=pct(auto, questions),
        top_handoffs=top_handoffs,
    )


def _question_numbers(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    top: int,
) -> tuple[int, int, int, int, tuple[HandoffQuestion, ...]]:
    try:
        from knowledge.question_log import QuestionLog
    except ModuleNotFoundError:  # pragma: no cover - the knowledge package is always there
        return 0, 0, 0, 0, ()
    query = select(QuestionLog.action, QuestionLog.reason, QuestionLog.normalized, QuestionLog.text)
    if since is not None:
        query = query.where(col(QuestionLog.at) >= since)
    if until is not None:
        query = query.where(col(QuestionLog.at) < until)
    actions: Counter[str] = Counter()
    handoffs: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for action, reason, normalized, text in session.exec(query.order_by(col(QuestionLog.id))).all():
        actions[action] += 1
        # a guess (one item offered where the bot would have handed off) is a question the knowledge base could not
        # answer on its own words as much as a hand-off is: both are what to add to it
        if action == "handoff" or reason == "guess":
            key = (normalized or text or "").strip()
            handoffs[key] += 1
            examples.setdefault(key, text or key)
    questions = sum(n for a, n in actions.items() if a != "smalltalk")
    ranked = sorted(handoffs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return (
        questions,
        actions["answer"],
        actions["clarify"],
        actions["handoff"],
        tuple(HandoffQuestion(normalized=k, example=examples[k], count=n) for k, n in ranked),
    )
