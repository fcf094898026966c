"""Primary keys taken ahead from a PostgreSQL sequence, so a new row's id costs no round trip of its own.

A ticket's id is printed in its acknowledgement and its card, which are written in the same transaction, so its
INSERT had to return the id at once: one round trip per handoff inside a group transaction of many (the largest
part of a PostgreSQL handoff's time). Instead the ids come from the table's sequence in blocks
(`SELECT nextval(...) FROM generate_series(1, n)`) and the INSERT is deferred with the transaction's other rows
(storage.deferred). A transaction's first block is as large as the transaction before it took (one at a time for
a quiet bot, about a batch under load), and doubles while it keeps taking; the counts are kept per transaction, so
transactions in flight at once on worker threads do not shrink each other's blocks. Ids taken and not used stay
for this process's next transaction; a restart loses them, a gap in the numbers like the one a rolled-back INSERT
leaves. Ids are unique across processes (the sequence hands each out once) but not in the order of creation
across them: what is newest is read from `created_at` (desk.tickets).

SQLite: None. Its INSERT runs in the process, there is no round trip to save.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

MAX_BLOCK = 256
_TAKEN = "ids_taken"  # session.info: table → [ids this transaction took, its first block's size]
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


@dataclass
class _Table:
    free: deque[int] = field(default_factory=deque)
    last: int = 1  # how many ids the transaction that took the last one had taken with it


class IdBlocks:
    """The ids one engine took ahead, by table; shared by the transactions in flight (worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, _Table] = {}

    def take(self, session: Session, table: str) -> int:
        # this transaction's [ids taken, its first block's size], in the session: per transaction, not shared
        mine: dict[str, list[int]] = session.info.setdefault(_TAKEN, {})
        connection = session.connection()  # before the lock: no thread waits for a connection holding it
        with self._lock:
            state = self._tables.setdefault(table, _Table())
            counts = mine.setdefault(table, [0, state.last])  # it starts from what the one before it took
            if not state.free:
                size = min(MAX_BLOCK, max(counts[1], counts[0]))
                rows = connection.execute(_NEXT_IDS, {"table": table, "n": size}).scalars().all()
                state.free.extend(int(i) for i in rows)
            counts[0] += 1
            state.last = counts[0]
            return state.free.popleft()


_BLOCKS: weakref.WeakKeyDictionary[Engine, IdBlocks] = weakref.WeakKeyDictionary()


def id_ahead(session: Session, table: str) -> int | None:
    """A new id for a row of `table` (its `id` column a sequence) on PostgreSQL; None on SQLite, where the
    INSERT itself gives it."""
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        return None
    blocks = _BLOCKS.get(engine)
    if blocks is None:
        blocks = _BLOCKS.setdefault(engine, IdBlocks())
    return blocks.take(session, table)
