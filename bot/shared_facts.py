"""Facts every instance shares live in the database; this keeps each process's copies fresh.

Bindings, staff roles and projects are read from the database by every update already. Two
facts are also held in memory for speed: the set of department chats (Services.staff_chats, consulted for every
message) and the learned answers (inside the matcher). Before each update one cheap query reads
a fingerprint of both tables (row count and latest change, a re-learned answer's time included); when another instance bound a
department or learned an answer, the fingerprint differs and the copies are reloaded, so the
change is seen by the very next update.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, func, select
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.telegram_io import services_of_app
from desk import work
from desk.models import ChatBinding
from knowledge.learned import LearnedEntry

FINGERPRINT_KEY = "shared_facts_fingerprint"
GROUP = -100  # before every other handler group

log = logging.getLogger(__name__)


def facts_fingerprint(*, session: Session) -> tuple[object, ...]:
    """What changes whenever a binding or a learned answer is added, changed or removed."""
    bindings = session.exec(select(func.count(), func.max(ChatBinding.updated_at))).one()
    # Learning a ticket again replaces its entry in place (same id, same count): its new
    # created_at is what changes.
    learned = session.exec(select(func.count(), func.max(LearnedEntry.id), func.max(LearnedEntry.created_at))).one()
    return (*bindings, *learned)


async def refresh_shared_facts(application: Application[Any, Any, Any, Any, Any, Any]) -> bool:
    """Reload the in-memory copies when the database changed; True when something was reloaded."""
    services = services_of_app(application)
    fingerprint = await services.db.run(facts_fingerprint)
    if application.bot_data.get(FINGERPRINT_KEY) == fingerprint:
        return False
    services.staff_chats.departments = frozenset(await services.db.run(work.department_chat_ids))
    await services.knowledge.load_learned()
    application.bot_data[FINGERPRINT_KEY] = fingerprint
    return True


async def _before_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Bring the shared facts up to date before the handlers see the update."""
    try:
        await refresh_shared_facts(context.application)
    except (OperationalError, InterfaceError) as exc:
        # The database is down: the copies in memory serve (answers do not wait for the database).
        log.warning("shared facts: database unreachable (%s); using the copies in memory", type(exc).__name__)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, _before_update), group=GROUP)
