"""Completion figures, computed exactly as the published reports compute them.

- procedure completion rate = (done + not needed) / all procedures ("not needed counts as
  finished");
- project completion rate = projects whose every procedure is done or not needed / all
  projects. A project with no procedure in the ledger is not complete (nothing recorded);
- both in percent with one decimal, rounded half up (45/240 = 18.75 % -> 18.8).

One GROUP BY query returns counts per (region, sector, ≥ threshold) cell; the overall, region,
sector and 10亿元-and-above figures are sums of those cells, so the database does the per-row
work and Python adds up a few hundred numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session

from ledger.models import (
    FINISHED_STATUSES,
    PROCEDURE_TABLE,
    PROJECT_TABLE,
    ProcedureStatus,
)

BILLION_YI = Decimal(10)  # 10亿元以上 includes 10


def percent(part: int, whole: int) -> Decimal | None:
    """part/whole in percent, one decimal, half up; None when whole is 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Figures:
    projects: int = 0
    projects_complete: int = 0
    procedures: int = 0
    procedures_done: int = 0
    procedures_not_needed: int = 0

    @property
    def project_completion_rate(self) -> Decimal | None:
        return percent(self.projects_complete, self.projects)

    @property
    def procedure_completion_rate(self) -> Decimal | None:
        return percent(self.procedures_done + self.procedures_not_needed, self.procedures)

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(self._counts(), other._counts(), strict=True)))

    def _counts(self) -> tuple[int, int, int, int, int]:
        return (
            self.projects,
            self.projects_complete,
            self.procedures,
            self.procedures_done,
            self.procedures_not_needed,
        )

    def to_dict(self) -> dict[str, object]:
        def number(rate: Decimal | None) -> float | None:
            return None if rate is None else float(rate)

        return {
            "projects": self.projects,
            "projects_complete": self.projects_complete,
            "project_completion_rate": number(self.project_completion_rate),
            "procedures": self.procedures,
            "procedures_done": self.procedures_done,
            "procedures_not_needed": self.procedures_not_needed,
            "procedure_completion_rate": number(self.procedure_completion_rate),
        }


@dataclass(frozen=True, slots=True)
class NamedFigures:
    name: str
    figures: Figures

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, **self.figures.to_dict()}


@dataclass(frozen=True, slots=True)
class LedgerReport:
    overall: Figures
    by_region: list[NamedFigures]
    by_sector: list[NamedFigures]
    over_1bn: Figures
    threshold_yi: Decimal = BILLION_YI

    def to_dict(self) -> dict[str, object]:
        return {
            **self.overall.to_dict(),
            "by_region": [group.to_dict() for group in self.by_region],
            "by_sector": [group.to_dict() for group in self.by_sector],
            "over_1bn": self.over_1bn.to_dict(),
        }


def compute_report(*, session: Session, threshold_yi: Decimal = BILLION_YI) -> LedgerReport:
    p, q = PROJECT_TABLE.c, PROCEDURE_TABLE.c
    finished = case((q.status.in_(FINISHED_STATUSES), 1), else_=0)
    per_project = (
        select(
            q.project_id.label("project_id"),
            func.count().label("n"),
            func.sum(finished).label("finished"),
            func.sum(case((q.status == ProcedureStatus.done, 1), else_=0)).label("done"),
            func.sum(case((q.status == ProcedureStatus.not_needed, 1), else_=0)).label("nn"),
        )
        .group_by(q.project_id)
        .subquery()
    )
    big = case((p.investment_yi >= threshold_yi, 1), else_=0).label("big")
    complete = case((and_(per_project.c.n > 0, per_project.c.finished == per_project.c.n), 1), else_=0)
    zero = literal(0)
    statement = (
        select(
            p.region,
            p.sector,
            big,
            func.count(p.id),
            func.coalesce(func.sum(complete), zero),
            func.coalesce(func.sum(per_project.c.n), zero),
            func.coalesce(func.sum(per_project.c.done), zero),
            func.coalesce(func.sum(per_project.c.nn), zero),
        )
        .select_from(PROJECT_TABLE)
        .outerjoin(per_project, per_project.c.project_id == p.id)
        .where(p.archived_at.is_(None))  # archived projects have left the ledger's figures
        .group_by(p.region, p.sector, big)
    )
    overall = over = Figures()
    regions: dict[str, Figures] = defaultdict(Figures)
    sectors: dict[str, Figures] = defaultdict(Figures)
    for region, sector, is_big, *counts in session.execute(statement):
        cell = Figures(*(int(c) for c in counts))
        overall += cell
        regions[region] += cell
        sectors[sector] += cell
        if is_big:
            over += cell
    return LedgerReport(
        overall=overall,
        by_region=[NamedFigures(name, regions[name]) for name in sorted(regions)],
        by_sector=[NamedFigures(name, sectors[name]) for name in sorted(sectors)],
        over_1bn=over,
        threshold_yi=threshold_yi,
    )
