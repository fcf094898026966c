"""Everything the handlers need, built once per application (no import-time side effects)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from config import Settings
from config.clock import working_clock
from desk import work
from desk.throttle import Throttle
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, Thresholds
from knowledge.service import KnowledgeService, Reply
from storage import Database, utcnow
from workdays import BusinessHours, WorkingCalendar

if TYPE_CHECKING:
    from telegram import InlineKeyboardMarkup, Update
    from telegram.ext import ContextTypes

    Context = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True)
class Hooks:
    """What one handler module offers another, wired by name in bot.app.build_application:
    the question handler calls the desk and the ledger through these, never the reverse."""

    # a question the knowledge base cannot answer → a ticket (handlers.tickets)
    handoff: Callable[[Update, Context, Reply], Awaitable[None]]
    # a status question → an answer from the bound project's ledger; False when it has none
    # (handlers.ledger)
    status_answer: Callable[[Update, Context, Reply], Awaitable[bool]]
    # a whole-project progress question → the /progress answer of the bound project; False when none
    # (handlers.ledger)
    project_status: Callable[[Update, Context, Reply], Awaitable[bool]]
    # the buttons under an answer (handlers.tickets)
    answer_markup: Callable[[Update, Reply], InlineKeyboardMarkup | None]


@dataclass
class StaffChats:
    """The steward, lead and bound department groups: there the desk reads the messages and
    the question handler leaves them alone."""

    steward_chat_id: int | None
    lead_chat_id: int | None
    departments: frozenset[int] = frozenset()

    def __contains__(self, chat_id: object) -> bool:
        if chat_id is None:
            return False
        return chat_id in (self.steward_chat_id, self.lead_chat_id) or chat_id in self.departments


@dataclass
class Services:
    settings: Settings
    db: Database
    knowledge: KnowledgeService
    calendar: WorkingCalendar
    hours: BusinessHours
    clock: Callable[[], datetime]
    staff_chats: StaffChats
    throttle: Throttle = field(default_factory=Throttle)  # one user's flood of questions
    _hooks: Hooks | None = field(default=None, repr=False)

    @property
    def hooks(self) -> Hooks:
        if self._hooks is None:
            raise RuntimeError("the handler hooks are wired by bot.app.build_application")
        return self._hooks

    def wire(self, hooks: Hooks) -> None:
        self._hooks = hooks


def department_names(services: Services) -> dict[str, str]:
    """Department key → display name, from the knowledge base."""
    return {key: dept.name for key, dept in services.knowledge.kb.departments.items()}


def build_services(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, db: Database | None = None
) -> Services:
    """Load the knowledge base, open the database (migrated to the latest schema) and build
    the services.

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
    database.migrate()
    return Services(
        settings=settings,
        db=database,
        knowledge=KnowledgeService(
            kb=kb, matcher=matcher, db=database, clock=clock, context_ttl=timedelta(minutes=settings.context_minutes)
        ),
        calendar=calendar,
        hours=hours,
        clock=clock,
        staff_chats=StaffChats(
            steward_chat_id=settings.steward_chat_id,
            lead_chat_id=settings.lead_chat_id,
            departments=frozenset(database.call(work.department_chat_ids)),
        ),
    )
