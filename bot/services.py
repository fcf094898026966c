"""Everything the handlers need, built once per application (no import-time side effects)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.shared_facts import SharedFacts
from config import Settings
from config.clock import working_clock
from desk.bindings import current_chat_id
from desk.throttle import Throttle
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, Thresholds
from knowledge.question_cue import QUESTION_TURNS_PATH, read_question_turns
from knowledge.service import KnowledgeService, Reply
from knowledge.turns_model import turns_files_checked
from storage import Database, utcnow
from workdays import BusinessHours, WorkingCalendar

if TYPE_CHECKING:
    from telegram import InlineKeyboardMarkup, Update
    from telegram.ext import ContextTypes

    from bot.inbox import Inbox
    from bot.sender import Sender
    from storage.batch import Batcher

    Context = ContextTypes.DEFAULT_TYPE

log = logging.getLogger(__name__)


# What a hook does inside the question's one transaction: given the session and the matcher's
# reply, change what it changes and owe its messages (delivery.outbox); False when it cannot
# take the question (the next one is asked).
QuestionPart = Callable[[Session, "Reply"], bool]


@dataclass(frozen=True)
class Hooks:
    """What one handler module offers another, wired by name in bot.app.build_application:
    the question handler calls the desk and the ledger through these, never the reverse.
    Each builds, from the update, the part it plays in the question's one transaction."""

    # a question the knowledge base cannot answer → a ticket (handlers.tickets)
    handoff: Callable[[Update, Context], QuestionPart]
    # a status question → an answer from the bound project's ledger; False when it has none
    # (handlers.ledger)
    status_answer: Callable[[Update, Context], QuestionPart]
    # a whole-project progress question → the /progress answer of the bound project; False when none
    # (handlers.ledger)
    project_status: Callable[[Update, Context], QuestionPart]
    # the buttons under an answer (handlers.tickets)
    answer_markup: Callable[[Update, Reply], InlineKeyboardMarkup | None]


@dataclass(frozen=True)
class DeskCheck:
    """The desk's look at a question in a help group (from staff? a follow-up of the asker's
    ticket?), handed by handlers.tickets to the question handler, which runs `unit` first in
    the question's one transaction. `takes(outcome)`: the desk took the message (the question
    is not answered); `after(outcome)` then runs once the transaction committed. `plain` is the
    match without context the desk made already (reused, not matched again)."""

    unit: Callable[[Session], Any]
    takes: Callable[[Any], bool]
    after: Callable[[Any], Awaitable[None]]
    plain: Any = None


DESK_CHECK = "_steward_desk_check"  # on the update's CallbackContext (shared by its handlers)
# how a help group's message reads (`KnowledgeService.reading_of`), read once by the desk for the question handler
TEXT_READING = "_steward_text_reading"


def hand_on(context: Context, key: str, value: object) -> None:
    """Leave a value for a later handler of the same update (PTB shares one context per update)."""
    vars(context)[key] = value


def take(context: Context, key: str) -> Any:
    return vars(context).pop(key, None)


@dataclass
class StaffChats:
    """The steward, lead and bound department groups: there the desk reads the messages and
    the question handler leaves them alone.

    The steward and lead groups are the settings' ids (`configured_*`) followed through the groups
    upgraded to supergroups (`moves`, kept by bot.shared_facts): `steward_chat_id` and `lead_chat_id`
    are where they are now, resolved at use. The first time a setting's group is found moved, a
    warning says to update the setting (once per process and move)."""

    configured_steward: int | None
    configured_lead: int | None
    departments: frozenset[int] = frozenset()
    moves: Mapping[int, int] = field(default_factory=dict)
    _warned: set[tuple[str, int]] = field(default_factory=set, repr=False)

    @property
    def steward_chat_id(self) -> int | None:
        return current_chat_id(self.configured_steward, self.moves)

    @property
    def lead_chat_id(self) -> int | None:
        return current_chat_id(self.configured_lead, self.moves)

    def moved(self, moves: Mapping[int, int]) -> None:
        """The recorded moves changed (bot.shared_facts reloaded them)."""
        self.moves = moves
        for setting, configured, now in (
            ("STEWARD_CHAT_ID", self.configured_steward, self.steward_chat_id),
            ("LEAD_CHAT_ID", self.configured_lead, self.lead_chat_id),
        ):
            if configured is not None and now is not None and now != configured and (setting, now) not in self._warned:
                self._warned.add((setting, now))
                log.warning(
                    "the group %s of %s is now supergroup %s: the bot uses the supergroup; set %s=%s",
                    configured,
                    setting,
                    now,
                    setting,
                    now,
                )

    def __contains__(self, chat_id: object) -> bool:
        if chat_id is None:
            return False
        return chat_id in (self.steward_chat_id, self.lead_chat_id) or chat_id in self.departments


@dataclass(frozen=True)
class Delivery:
    """How one Application's updates come in and its messages go out."""

    inbox: Inbox  # updates stored before they are acknowledged (bot/inbox.py)
    sender: Sender  # the outbox's sender (bot/sender.py)
    batcher: Batcher  # the group-commit runner of the handlers' units of work (storage/batch.py)


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
    facts: SharedFacts = field(default_factory=SharedFacts)  # bindings, staff, learned: cached
    _hooks: Hooks | None = field(default=None, repr=False)
    _delivery: Delivery | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        def departments(chats: frozenset[int]) -> None:
            self.staff_chats.departments = chats

        def learned(index: Any) -> None:
            self.knowledge.learned = index

        self.facts.on_departments = departments
        self.facts.on_learned = learned
        self.facts.on_moves = self.staff_chats.moved

    @property
    def hooks(self) -> Hooks:
        if self._hooks is None:
            raise RuntimeError("the handler hooks are wired by bot.app.build_application")
        return self._hooks

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            raise RuntimeError("the inbox, outbox sender and batcher are wired by bot.app.build_application")
        return self._delivery

    def wire(self, hooks: Hooks, delivery: Delivery) -> None:
        self._hooks = hooks
        self._delivery = delivery


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
    database = db or Database(settings.database_url)
    database.migrate()
    # After the database is up: a start-up waiting for it logs its retries first, and trains (or reads the model
    # file) once, when it can go on.
    with turns_files_checked():
        matcher = Matcher.trained(
            kb,
            Thresholds(
                answer=settings.match_answer_threshold,
                clarify=settings.match_clarify_threshold,
                min_gap=settings.match_min_gap,
                guess=settings.match_guess_threshold,
            ),
            model_path=settings.model_file,
        )
        # read now (a broken file stops the start-up here), trained in a thread once the bot connects (post_init)
        question_turns = read_question_turns(QUESTION_TURNS_PATH) if QUESTION_TURNS_PATH.exists() else None
    if question_turns is None:
        log.warning("%s is missing: a group message reads as a question only with a question mark", QUESTION_TURNS_PATH)
    services = Services(
        settings=settings,
        db=database,
        knowledge=KnowledgeService(
            kb=kb,
            matcher=matcher,
            db=database,
            clock=clock,
            context_ttl=timedelta(minutes=settings.context_minutes),
            question_turns=question_turns,
        ),
        calendar=calendar,
        hours=hours,
        clock=clock,
        staff_chats=StaffChats(configured_steward=settings.steward_chat_id, configured_lead=settings.lead_chat_id),
    )
    database.call(services.facts.check)  # the department chats, staff and learned answers
    return services
