"""Everything the handlers need, built once per application (no import-time side effects)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from config import Settings
from config.clock import working_clock
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, Thresholds
from knowledge.service import KnowledgeService
from storage import Database, utcnow
from workdays import BusinessHours, WorkingCalendar


@dataclass
class Services:
    settings: Settings
    db: Database
    knowledge: KnowledgeService
    calendar: WorkingCalendar
    hours: BusinessHours
    clock: Callable[[], datetime]
    extras: dict[str, Any] = field(default_factory=dict)


def build_services(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, db: Database | None = None
) -> Services:
    """Load the knowledge base, open the database and build the services.

    Raises KnowledgeError on an invalid knowledge base, so the bot refuses to start, and
    SettingsError naming BUSINESS_HOURS or CALENDAR_OVERRIDES_PATH when those are malformed.
    """
    calendar, hours = working_clock(settings)
    kb = load_knowledge(settings.knowledge_path)
    matcher = Matcher.trained(
        kb,
        Thresholds(
            answer=settings.match_answer_threshold,
            clarify=settings.match_clarify_threshold,
            min_gap=settings.match_min_gap,
        ),
    )
    database = db or Database(settings.database_url)
    database.create_all()
    return Services(
        settings=settings,
        db=database,
        knowledge=KnowledgeService(
            kb=kb, matcher=matcher, db=database, clock=clock, context_ttl=timedelta(minutes=settings.context_minutes)
        ),
        calendar=calendar,
        hours=hours,
        clock=clock,
    )
