"""Primary keys taken ahead from a PostgreSQL sequence, so a new row's id costs no round trip of its own.

A ticket's id is printed in its acknowledgement and its card, which are written in the same transaction, so its
INSERT had to return the id at once: one round trip per handoff inside a group transaction of many (the largest
part of a PostgreSQL handoff's time). Instead the ids come from the table's sequence in blocks
(`SELECT nextval(...) FROM generate_series(1, n)`) and the INSERT is deferred with the transaction's other rows
(storage.deferred). A transaction's first block is as large as the previous transaction took (one for a quiet
bot, the whole batch under load); a transaction that takes more doubles it. Ids taken and not used stay for this
process's next transaction; a restart loses them, a gap in the numbers like the one a rolled-back INSERT leaves.
Ids are unique across processes (the sequence hands each out once) but not in the order of creation across them.

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
_TOKEN = "id_block_token"  # session.info: which transaction the counts below belong to
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


@dataclass
class _Table:
    free: deque[int] = field(default_factory=deque)
    token: object = None  # the transaction taking ids now
    taken: int = 0  # ids it took
    before: int = 1  # ids the transaction before it took


class IdBlocks:
    """The ids one engine took ahead, by table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, _Table] = {}

    def take(self, session: Session, table: str) -> int:
        token = session.info.setdefault(_TOKEN, object())
        with self._lock:
            state = self._tables.setdefault(table, _Table())
            if state.token is not token:
                state.token, state.before, state.taken = token, max(1, state.taken), 0
            if not state.free:
                size = min(MAX_BLOCK, max(state.before, state.taken))
                rows = session.execute(_NEXT_IDS, {"table": table, "n": size}).scalars().all()
                state.free.extend(int(i) for i in rows)
            state.taken += 1
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
