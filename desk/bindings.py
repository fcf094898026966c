"""Which chat is what: admins bind help groups to projects (/bind) and department groups
to departments (/bind_dept). The steward and lead chats come from settings; when one of them is
upgraded to a supergroup, the move is recorded (ChatMove) and the setting's id is resolved
through it at use (`current_chat_id`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from delivery.outbox import OutboxMessage, OutboxState
from desk.errors import NotBound, PermissionDenied, UnknownDepartment, UnknownProject
from desk.models import ACTIVE_STATUSES, ChatBinding, ChatKind, ChatMove, Ticket
from desk.roles import SYSTEM, Actor, require_admin
from desk.views import BindingView


def _project_in_ledger(session: Session, code: str, chat_id: int | None) -> bool:
    """Look the code up in the ledger; on a hit, also record the help group on the project
    (ledger Project.help_chat_id is documented as "set by /bind")."""
    from ledger.models import Project  # the ledger is optional for the desk

    project = session.exec(select(Project).where(Project.code == code)).first()
    if project is None:
        return False
    if chat_id is not None:
        for other in session.exec(select(Project).where(Project.help_chat_id == chat_id)).all():
            if other.id != project.id:
                other.help_chat_id = None
        project.help_chat_id = chat_id
    return True


def _chat_binding(session: Session, chat_id: int) -> ChatBinding | None:
    return session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()


def _upsert(
    session: Session,
    *,
    chat_id: int,
    kind: ChatKind,
    now: datetime,
    actor: Actor,
    title: str,
    project_code: str | None = None,
    department_key: str | None = None,
) -> ChatBinding:
    binding = _chat_binding(session, chat_id)
    if binding is None:
        binding = ChatBinding(chat_id=chat_id, kind=kind.value, bound_at=now, updated_at=now)
        session.add(binding)
    binding.kind = kind.value
    binding.project_code = project_code
    binding.department_key = department_key
    binding.title = (title or binding.title or "")[:255]
    binding.active = True
    binding.bound_by = actor.user_id
    binding.bound_at = now
    binding.updated_at = now
    session.flush()
    return binding


def _refuse_settings_chats(actor: Actor, action: str) -> None:
    if actor.chat_kind in (ChatKind.steward, ChatKind.lead):
        raise PermissionDenied(action, "the steward and lead chats are set in the settings")


def bind_help_chat(
    *,
    session: Session,
    actor: Actor,
    chat_id: int,
    project_code: str,
    now: datetime,
    title: str = "",
    project_exists: Callable[[str], bool] | None = None,
) -> BindingView:
    """Bind a help group to a project of the ledger (admins only). Without `project_exists`
    the ledger table is consulted and the project's help_chat_id is set."""
    require_admin(actor, "bind")
    _refuse_settings_chats(actor, "bind")
    from ledger.values import project_code as ledger_code  # the ledger is optional for the desk

    code = ledger_code(project_code)  # as the import stores it: 「Ｐ００２」 and 「P0 02」 are P002
    exists = project_exists(code) if project_exists is not None else _project_in_ledger(session, code, chat_id)
    if not code or not exists:
        raise UnknownProject(code)
    return BindingView.of(
        _upsert(session, chat_id=chat_id, kind=ChatKind.help, now=now, actor=actor, title=title, project_code=code)
    )


def bind_department_chat(
    *,
    session: Session,
    actor: Actor,
    chat_id: int,
    department_key: str,
    now: datetime,
    title: str = "",
    department_exists: Callable[[str], bool] | None = None,
) -> BindingView:
    """Bind a department's group (admins only). One active group per department: binding
    a new one retires the old one."""
    require_admin(actor, "bind_dept")
    _refuse_settings_chats(actor, "bind_dept")
    key = department_key.strip()
    if not key or (department_exists is not None and not department_exists(key)):
        raise UnknownDepartment(key)
    for old in session.exec(
        select(ChatBinding).where(
            ChatBinding.kind == ChatKind.department.value,
            ChatBinding.department_key == key,
            ChatBinding.chat_id != chat_id,
        )
    ).all():
        old.active = False
        old.updated_at = now
    return BindingView.of(
        _upsert(
            session, chat_id=chat_id, kind=ChatKind.department, now=now, actor=actor, title=title, department_key=key
        )
    )


def unbind_chat(*, session: Session, actor: Actor, chat_id: int, now: datetime) -> BindingView:
    require_admin(actor, "unbind")
    binding = _chat_binding(session, chat_id)
    if binding is None:
        raise NotBound("chat", chat_id)
    view = BindingView.of(binding)
    session.delete(binding)
    return view


def get_binding(*, session: Session, chat_id: int) -> BindingView | None:
    binding = _chat_binding(session, chat_id)
    return BindingView.of(binding) if binding else None


def help_project(*, session: Session, chat_id: int, active_only: bool = True) -> str | None:
    """The project code a help group is bound to; None for any other chat (or a retired one)."""
    binding = _chat_binding(session, chat_id)
    if binding is None or binding.kind != ChatKind.help.value or (active_only and not binding.active):
        return None
    return binding.project_code or None


def list_bindings(
    *, session: Session, kind: ChatKind | str | None = None, active_only: bool = True
) -> list[BindingView]:
    query = select(ChatBinding)
    if kind is not None:
        query = query.where(ChatBinding.kind == ChatKind(kind).value)
    if active_only:
        query = query.where(col(ChatBinding.active).is_(True))
    return [BindingView.of(b) for b in session.exec(query.order_by(col(ChatBinding.id))).all()]


def department_chat_id(*, session: Session, department_key: str) -> int | None:
    binding = session.exec(
        select(ChatBinding).where(
            ChatBinding.kind == ChatKind.department.value,
            ChatBinding.department_key == department_key,
            col(ChatBinding.active).is_(True),
        )
    ).first()
    return binding.chat_id if binding else None


def mark_chat_gone(*, session: Session, chat_id: int, now: datetime) -> bool:
    """Telegram answered 403 (bot removed/kicked): keep the binding but stop using it.
    Returns True if a binding was deactivated. Re-binding reactivates it."""
    binding = _chat_binding(session, chat_id)
    if binding is None or not binding.active:
        return False
    binding.active = False
    binding.updated_at = now
    return True


def set_muted(*, session: Session, actor: Actor, chat_id: int, muted: bool, now: datetime) -> BindingView:
    """A muted help group: the bot stops answering on its own there (tickets still work)."""
    require_admin(actor, "mute")
    binding = _chat_binding(session, chat_id)
    if binding is None:
        raise NotBound("chat", chat_id)
    binding.muted = muted
    binding.updated_at = now
    return BindingView.of(binding)


@dataclass(frozen=True)
class ChatMigration:
    """What moved when a group became a supergroup (Telegram's migrate_to_chat_id)."""

    old_chat_id: int
    new_chat_id: int
    binding: BindingView | None
    tickets: tuple[int, ...]
    projects: tuple[str, ...]
    reminder_keys: int


def migrate_chat(*, session: Session, old_chat_id: int, new_chat_id: int, now: datetime) -> ChatMigration:
    """Move everything addressed to a group to the supergroup it became: its binding, the
    projects whose help group it is (the reminders' target), its tickets still in progress,
    and the reminder-log keys of its reminders (so none is sent twice). Idempotent: Telegram
    announces the move in both chats, and the second call finds nothing left to move."""
    from desk.tickets import audit  # desk.tickets imports this module
    from knowledge.context import ConversationContext  # the asker's conversation, kept by the knowledge service
    from ledger.models import Project  # the ledger and the scheduler are optional for the desk
    from scheduler.models import ReminderLog

    _record_move(session, old_chat_id, new_chat_id, now)
    moved_binding = None
    # Locked (PostgreSQL): Telegram announces the move in both chats, and the two updates are handled at once; the
    # second waits here, then finds nothing left in the old chat instead of moving it again (its cards posted twice).
    old = session.exec(select(ChatBinding).where(ChatBinding.chat_id == old_chat_id).with_for_update()).first()
    if old is not None and old_chat_id != new_chat_id:
        existing = _chat_binding(session, new_chat_id)
        if existing is not None:  # bound again in the supergroup already: that one wins
            session.delete(old)
            moved_binding = BindingView.of(existing)
        else:
            old.chat_id = new_chat_id
            old.updated_at = now
            session.flush()
            moved_binding = BindingView.of(old)
    projects = session.exec(select(Project).where(Project.help_chat_id == old_chat_id)).all()
    for project in projects:
        project.help_chat_id = new_chat_id
    moved = session.exec(
        select(Ticket).where(
            Ticket.help_chat_id == old_chat_id, col(Ticket.status).in_([s.value for s in ACTIVE_STATUSES])
        )
    ).all()
    for ticket in moved:
        ticket.help_chat_id = new_chat_id
        # the supergroup numbers its messages afresh: the question's id there is another member's message
        audit(
            session,
            ticket,
            SYSTEM,
            "chat_migrated",
            now,
            from_chat_id=old_chat_id,
            to_chat_id=new_chat_id,
            help_message_id=ticket.help_message_id,
        )
        ticket.help_message_id = None
    # the askers' conversations go along (「那要多久」 right after the upgrade still means the item asked before it),
    # except where the asker has one in the supergroup already
    conversations = ConversationContext.__table__  # type: ignore[attr-defined]
    session.execute(
        update(conversations)
        .where(
            conversations.c.chat_id == old_chat_id,
            conversations.c.user_id.not_in(
                select(conversations.c.user_id).where(conversations.c.chat_id == new_chat_id)
            ),
        )
        .values(chat_id=new_chat_id)
    )
    _move_owed(session, old_chat_id, new_chat_id)
    keys = 0
    for audience in ("help", "lead"):  # a help group's reminders, the lead group's weekly report
        prefix = f"{audience}:{old_chat_id}|"
        for row in session.exec(select(ReminderLog).where(col(ReminderLog.key).startswith(prefix))).all():
            renamed = f"{audience}:{new_chat_id}|" + row.key[len(prefix) :]
            if session.exec(select(ReminderLog.id).where(ReminderLog.key == renamed)).first() is None:
                row.key = renamed
                keys += 1
    session.flush()
    return ChatMigration(
        old_chat_id,
        new_chat_id,
        moved_binding,
        tuple(t.id for t in moved if t.id is not None),
        tuple(p.code for p in projects),
        keys,
    )


def _record_move(session: Session, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
    """Remember the move (once: the first announcement's row stays). ON CONFLICT, not a read first: the steward
    and lead groups have no binding to lock, and Telegram's two announcements are handled at once. The insert
    bumps the `bindings` version (storage.versions), so every process reloads the moves with the bindings."""
    if old_chat_id == new_chat_id:
        return
    values = {"old_chat_id": old_chat_id, "new_chat_id": new_chat_id, "moved_at": now}
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(ChatMove).values(**values).on_conflict_do_nothing(index_elements=["old_chat_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(ChatMove).values(**values).on_conflict_do_nothing(index_elements=["old_chat_id"])
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    session.execute(stmt)


def _move_owed(session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """The messages still owed to the old group go to the supergroup (the sender would otherwise learn the move from
    Telegram's 400 on the first of them: one wasted call). Rows being sent are left to the sender's own move."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.chat_id) == old_chat_id, col(OutboxMessage.status) == OutboxState.pending.value)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )


def chat_moves(*, session: Session) -> dict[int, int]:
    """Every recorded move, old chat id → new chat id (one statement; a handful of rows)."""
    return {int(old): int(new) for old, new in session.exec(select(ChatMove.old_chat_id, ChatMove.new_chat_id)).all()}


def current_chat_id(chat_id: int | None, moves: Mapping[int, int]) -> int | None:
    """Where a chat is now: the supergroup it was upgraded to (followed along, should that one have moved too), or
    itself. Plain: the moves are read once and cached with the bindings (bot.shared_facts)."""
    seen: set[int] = set()
    while chat_id is not None and chat_id in moves and chat_id not in seen:
        seen.add(chat_id)
        chat_id = moves[chat_id]
    return chat_id
