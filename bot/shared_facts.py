"""The facts every message consults, cached in the process and kept fresh across processes.

For every question in a help group the bot needs: is this chat a staff chat (the steward,
lead or a bound department group), what project (and region) is it bound to, may the asker
be staff, and the learned answers. Reading them from the database costs a round trip or
two per message; here they live in memory (`SharedFacts`), loaded once and reloaded only when
they changed.

Several processes share the database, so a change made through one (a /bind_dept through
webhook worker A) must be seen by the others at their next update. Every write to those
tables bumps a version row in the same transaction (storage.versions); `SharedFacts.check`
reads the versions (one small statement) at the start of each group-committed transaction
(storage.batch.Batcher's `before`), so the update's own transaction sees the facts as they
were committed, and reloads only what moved. A handler that routed an update with the copy
from before the check (e.g. took a newly bound department group for a help group) learns
it inside that transaction and handles the update again (handlers.questions).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from desk.bindings import chat_moves, current_chat_id
from desk.models import ChatBinding, ChatKind, StaffMember
from knowledge.learned import LearnedIndex, learned_entries
from ledger.models import PROJECT_TABLE, Procedure
from ledger.profile import procedures_by_code
from storage.versions import read_versions

log = logging.getLogger(__name__)

_CHECKED = "shared_facts_checked"  # session.info: the SharedFacts this transaction checked
_SEEN = "shared_facts_versions"  # session.info: the versions it read


@dataclass(frozen=True)
class BindingFact:
    kind: ChatKind
    project_code: str | None
    department_key: str | None


@dataclass
class SharedFacts:
    """The cached facts. `check(session)` runs inside a unit of work (a worker thread)."""

    on_departments: Callable[[frozenset[int]], None] = lambda _chats: None
    on_learned: Callable[[LearnedIndex], None] = lambda _index: None
    on_moves: Callable[[dict[int, int]], None] = lambda _moves: None
    versions: tuple[tuple[str, int], ...] | None = None
    bindings: dict[int, BindingFact] = field(default_factory=dict)  # active bindings
    ticket_projects: dict[int, str | None] = field(default_factory=dict)  # help bindings, retired too
    moves: dict[int, int] = field(default_factory=dict)  # groups upgraded to supergroups: old id → new id
    staff_users: frozenset[int] = frozenset()  # anyone with a StaffMember row
    _regions: dict[str, str | None] = field(default_factory=dict)  # project code → region
    _procedures: dict[str, dict[str, Procedure] | None] = field(default_factory=dict)  # code → by item key
    _lock: threading.Lock = field(default_factory=threading.Lock)
    reloads: int = 0

    def check(self, session: Session) -> bool:
        """Read the versions; reload what changed since the last check. True when reloaded."""
        current = read_versions(session=session)
        session.info[_CHECKED] = self  # this transaction may rely on the copy (checked_in)
        session.info[_SEEN] = current
        if current == self.versions:
            return False
        with self._lock:
            before = dict(self.versions or ())
            now = dict(current)
            changed = {family for family in now if before.get(family) != now[family]} | (set(before) ^ set(now))
            if not before:
                changed |= {"bindings", "staff", "learned", "ledger"}
            if "bindings" in changed:
                self._load_bindings(session)
            if "staff" in changed:
                self.staff_users = frozenset(session.exec(select(StaffMember.user_id).distinct()).all())
            if "learned" in changed:
                index = LearnedIndex()
                for entry in learned_entries(session=session):
                    index.put(entry)
                self.on_learned(index)
            if changed & {"bindings", "ledger"}:
                self._regions = {}
                self._procedures = {}
            self.versions = current
            self.reloads += 1
        log.debug("shared facts reloaded: %s", sorted(changed))
        return True

    def _load_bindings(self, session: Session) -> None:
        rows = session.exec(select(ChatBinding)).all()
        self.bindings = {
            b.chat_id: BindingFact(ChatKind(b.kind), b.project_code or None, b.department_key) for b in rows if b.active
        }
        self.ticket_projects = {b.chat_id: b.project_code for b in rows if b.kind == ChatKind.help.value}
        self.moves = chat_moves(session=session)  # same family: a move bumps `bindings`
        self.on_departments(frozenset(c for c, b in self.bindings.items() if b.kind is ChatKind.department))
        self.on_moves(self.moves)

    # ------------------------------------------------------------------ reading (after a check)

    def checked_in(self, session: Session) -> bool:
        """Whether this transaction checked the copy (a group transaction does; a unit of work
        run alone, e.g. one delayed while the database was down, does not)."""
        return session.info.get(_CHECKED) is self

    def chat_kind(self, chat_id: int) -> ChatKind | None:
        binding = self.bindings.get(chat_id)
        return binding.kind if binding is not None else None

    def current(self, chat_id: int | None) -> int | None:
        """desk.bindings.current_chat_id from the copy: where a chat is now (its supergroup, if it was upgraded)."""
        return current_chat_id(chat_id, self.moves)

    def help_project(self, chat_id: int | None) -> str | None:
        """desk.bindings.help_project from the copy."""
        binding = self.bindings.get(chat_id) if chat_id is not None else None
        if binding is None or binding.kind is not ChatKind.help:
            return None
        return binding.project_code

    def ticket_project(self, chat_id: int) -> str | None:
        """The project a new ticket from this chat is filed under, from the copy: what
        desk.tickets.create_ticket would read (the chat's help binding, retired or not)."""
        return self.ticket_projects.get(chat_id)

    def region(self, session: Session, chat_id: int) -> str | None:
        """ledger.regions.help_chat_region from the copy (a project's region is read once)."""
        code = self.help_project(chat_id)
        if code is None:
            return None
        regions = self._regions
        if code in regions:
            return regions[code]
        p = PROJECT_TABLE.c
        region = session.execute(sa_select(p.region).where(p.code == code, p.archived_at.is_(None))).scalar()
        self._keep(session, regions, code, region)
        return region

    def procedures(self, session: Session, code: str) -> dict[str, Procedure] | None:
        """ledger.profile.procedures_by_code from the copy (a project's procedures are read once, again after
        any change to the ledger: the `ledger` family's version covers its projects and procedures)."""
        procedures = self._procedures
        if code in procedures:
            return procedures[code]
        rows = procedures_by_code(session=session, code=code)
        self._keep(session, procedures, code, rows)
        return rows

    def _keep(self, session: Session, cache: dict[str, Any], code: str, value: Any) -> None:
        """Keep what this transaction read, unless the copy moved on since it checked (another transaction in
        flight may have found a newer version and emptied the cache: what this one read may be older)."""
        with self._lock:
            # (a reload replaces the caches: one taken before it is neither of them now)
            if session.info.get(_SEEN) == self.versions and (cache is self._regions or cache is self._procedures):
                cache[code] = value

    def may_be_staff(self, user_id: int, admin_ids: tuple[int, ...]) -> bool:
        """False only for someone who is surely an enterprise member (not an admin, never seen
        in a staff chat): the desk's role check then needs no database."""
        return user_id in admin_ids or user_id in self.staff_users
