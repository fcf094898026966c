"""Projects leave the ledger by being archived, never deleted.

An archived project keeps its procedures and its help group binding (history), drops out of
the completion report and the reminders, and comes back when an import names it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from ledger.errors import ProjectNotFound
from ledger.models import PROJECT_TABLE

_CHUNK = 900  # keeps IN (...) lists under every backend's parameter limit


def archive_projects(*, session: Session, codes: Iterable[str], now: datetime) -> list[str]:
    """Archive the projects of `codes` (all or none: an unknown code raises ProjectNotFound);
    returns the codes archived now, in the order given (already archived ones are skipped)."""
    wanted = list(dict.fromkeys(codes))
    p = PROJECT_TABLE.c
    found: dict[str, datetime | None] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update(session.execute(select(p.code, p.archived_at).where(p.code.in_(chunk))).all())
    for code in wanted:
        if code not in found:
            raise ProjectNotFound(code)
    fresh = [code for code in wanted if found[code] is None]
    for start in range(0, len(fresh), _CHUNK):
        session.execute(update(PROJECT_TABLE).where(p.code.in_(fresh[start : start + _CHUNK])).values(archived_at=now))
    return fresh


def active_codes_absent(*, session: Session, present: Iterable[str]) -> list[str]:
    """Codes of the projects not archived that `present` does not name, sorted."""
    named = set(present)
    p = PROJECT_TABLE.c
    active = session.execute(select(p.code).where(p.archived_at.is_(None))).scalars()
    return sorted(code for code in active if code not in named)


def is_archived(*, session: Session, code: str) -> bool:
    p = PROJECT_TABLE.c
    return session.execute(select(p.archived_at).where(p.code == code)).scalar() is not None
