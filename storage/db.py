"""Engine and session handling.

The bot runs on an asyncio loop while SQLModel sessions are synchronous: `Database.run`
executes one unit of work (one session, one transaction) in a worker thread so a slow
query never blocks the loop. The same code runs on SQLite (embedded default) and
PostgreSQL (`postgresql+psycopg://...`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from storage.versions import watch_changes

T = TypeVar("T")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC (production clock)."""
    return datetime.now(timezone.utc)


def strip_nul(value: Any) -> Any:
    """Remove U+0000 from every string in a statement's parameters (nested tuples, lists, dicts).

    PostgreSQL cannot store U+0000 in text and rejects the whole insert; SQLite would keep it
    and hand back text no other part can print. Telegram users can send it, so it goes here,
    once, for every table and both databases."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: strip_nul(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(strip_nul(item) for item in value)
    return value


def _without_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    return statement, strip_nul(parameters)


# PostgreSQL: what one stuck party may cost the others (seconds). A unit of work waits at most LOCK_WAIT for a lock
# another instance holds (then it fails like a database error: the question is answered from memory, the rest waits
# for the sender), and a transaction of ours left open and idle longer than IDLE_IN_TRANSACTION (a process frozen or
# cut off mid-transaction) is ended by the server, so its row locks do not stop every other instance. A unit's
# statements follow each other within milliseconds; the group commit runs one transaction at a time, so without
# these one stuck lock would hold every chat's updates.
LOCK_WAIT = 30.0
IDLE_IN_TRANSACTION = 60.0


def _make_engine(
    url: str, *, echo: bool, lock_wait: float = LOCK_WAIT, idle_in_transaction: float = IDLE_IN_TRANSACTION
) -> Engine:
    engine = _make_dialect_engine(url, echo=echo)
    if engine.dialect.name == "postgresql":
        limits = (
            f"SET lock_timeout = '{int(lock_wait * 1000)}ms'",
            f"SET idle_in_transaction_session_timeout = '{int(idle_in_transaction * 1000)}ms'",
        )

        @event.listens_for(engine, "connect")
        def _session_limits(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                for statement in limits:
                    cursor.execute(statement)
            dbapi_connection.commit()  # a SET inside the driver's implicit transaction would go with its rollback

    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _make_dialect_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, else every thread sees an empty db
        engine = create_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=5000")
                # WAL + NORMAL: a commit survives the process being killed (the proofs kill -9),
                # not a power cut of the machine; no fsync per commit.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A database host that does not answer fails the attempt in 10 s instead of hanging.
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": 10})


# SQLSTATE classes of a connection that is gone or never came: 08 (connection exception), 57P01–57P03 (the server
# shutting down, or not accepting connections yet).
_LOST_STATES = ("08", "57P01", "57P02", "57P03")
# SQLite's file cannot be reached (its other errors are answers: a busy file, a missing table, too many variables).
_SQLITE_UNREACHABLE = ("unable to open database file", "disk I/O error")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (refused, timed out connecting, the connection lost), as
    opposed to answering a statement with an error: then every other unit waiting for it would fail the same way,
    each after paying the same wait again. Only the cases known to be so: anything else is an answer."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__module__.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        return state is None or state.startswith(_LOST_STATES)  # no SQLSTATE: libpq failed before the server spoke
    return any(text in str(orig) for text in _SQLITE_UNREACHABLE)


class Database:
    """One engine; hands out sessions, one per unit of work."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        lock_wait: float = LOCK_WAIT,
        idle_in_transaction: float = IDLE_IN_TRANSACTION,
    ) -> None:
        self.url = url
        self.engine = _make_engine(url, echo=echo, lock_wait=lock_wait, idle_in_transaction=idle_in_transaction)
        watch_changes()  # every change to a cached fact bumps its version (storage/versions.py)
        # SQLite has one writer: units of work queue on one thread instead of contending for
        # the lock (whose busy handler sleeps in steps of milliseconds).
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite") if url.startswith("sqlite") else None
        )

    def migrate(self) -> None:
        """Bring the schema to the models' head: Alembic `upgrade head` (storage/migrations)."""
        from storage.migrate import upgrade

        upgrade(self.engine)

    def drop_all(self) -> None:
        """Drop every table, the migration record included (tests start from nothing)."""
        from sqlalchemy import text

        from storage.schema import register_models

        register_models()
        SQLModel.metadata.drop_all(self.engine)
        with self.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session; commit when the block succeeds, roll back when it raises."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `fn(session=..., **kwargs)` as one unit of work, synchronously."""
        with self.session() as session:
            return fn(session=session, **kwargs)

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `fn(session=..., **kwargs)` as one unit of work in a worker thread."""
        if self._executor is None:
            return await asyncio.to_thread(self.call, fn, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(contextvars.copy_context().run, self.call, fn, **kwargs)
        )

    def dispose(self) -> None:
        self.engine.dispose()
