"""The 旗县区 a help group's answers are for: the region of the project it is bound to."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from desk.bindings import help_project
from ledger.models import PROJECT_TABLE


def help_chat_region(*, session: Session, chat_id: int) -> str | None:
    """The region of the ledger project bound to the help group `chat_id`; None when the chat
    is no bound help group or the project is not (or no longer) in the ledger."""
    code = help_project(session=session, chat_id=chat_id)
    if code is None:
        return None
    p = PROJECT_TABLE.c
    return session.execute(select(p.region).where(p.code == code, p.archived_at.is_(None))).scalar()
