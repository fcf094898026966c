"""Group commit: units of work submitted at about the same time run in one transaction.

Under load many handlers each write a few rows (a question's log row and its owed answer);
a transaction apiece makes the commit, not the work, the cost. `Batcher.run(fn, **kwargs)`
queues the unit and returns its result once the transaction holding it has committed, so
each caller still sees its own unit committed before it goes on. If a batch fails, its
units are run again one transaction each, so one bad unit fails alone. `before(session)`
runs first in every such transaction (bot.shared_facts checks its cached facts there: one
statement per batch, not per unit). `run(fn, read_ahead=(reader, key))`: before the units run,
each reader is called once with the keys of the units that named it (`reader(session, keys)`),
so what every unit reads first (the asker's context) is one statement per batch, not a round
trip per unit; the reader keeps what it read for the units (knowledge.context).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import copy_context
from typing import Any, TypeVar

from sqlmodel import Session

from storage.db import Database, database_unreachable

T = TypeVar("T")
Reader = Callable[[Session, list[Any]], object]
ReadAhead = tuple[Reader, Any]
Queued = tuple[Callable[[Session], Any], asyncio.Future[Any], ReadAhead | None]  # a unit, its caller's future


class Batcher:
    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 200,
        before: Callable[[Session], object] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.before = before
        # SQLite has one writer: one batch at a time. PostgreSQL takes several transactions at once, but
        # next to a database a round trip is a tenth of a millisecond and what a batch waits for is the GIL:
        # each transaction in flight is one more thread taking it back after every statement. One at a time
        # (the batch grows with the load) measured an own p99 of 23-32 ms at 300 updates a second where four
        # measured 42-156 ms (README, "Delivery", the tenth pass). A database far away may want more.
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = 1 if db.url.startswith("sqlite") else concurrency
        self._queue: list[Queued] = []
        self._workers: set[asyncio.Task[None]] = set()

    async def run(self, fn: Callable[..., T], /, *, read_ahead: ReadAhead | None = None, **kwargs: Any) -> T:
        """Run `fn(session=..., **kwargs)` in the next group transaction; its result.
        `read_ahead`: (reader, key), read for the whole batch before its units run."""
        context = copy_context()  # the caller's context vars (e.g. the update being processed)

        def unit(session: Session) -> Any:
            return context.run(fn, session=session, **kwargs)

        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((unit, future, read_ahead))
        if len(self._workers) < self.concurrency:
            worker = asyncio.create_task(self._drain())  # it leaves the set as it ends (`_drain`)
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)  # … or when cancelled before it ever ran
        return await future

    async def _drain(self) -> None:
        batch: list[Queued] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._commit(batch)
        except BaseException:
            # cancelled (the application stopping) or worse: the callers this worker holds fail with it instead of
            # waiting forever, and so do the queued ones when no other worker is left to take them
            held = batch if len(self._workers) > 1 else batch + self._queue
            if len(self._workers) <= 1:
                self._queue = []
            for _, future, _ in held:
                future.cancel()
            raise
        finally:
            # Out of the set before anything else runs: a caller woken by this batch's last result may submit its
            # next unit before the task's done-callbacks run, and must see no worker left to start one.
            self._workers.discard(asyncio.current_task())

    async def _commit(self, batch: list[Queued]) -> None:
        """Run one batch in one transaction, each result to its caller; on failure each unit alone."""
        try:
            results = await self.db.run(
                _all, units=[u for u, _, _ in batch], before=self.before, ahead=[a for _, _, a in batch]
            )
        except Exception:  # noqa: BLE001 - any failure: each unit alone, its own error to its caller
            await self._one_by_one(batch)
            return
        for (_, future, _), result in zip(batch, results):
            if not future.done():
                future.set_result(result)

    async def _one_by_one(self, batch: list[Queued]) -> None:
        for index, (unit, future, ahead) in enumerate(batch):
            try:
                result = await self.db.run(_all, units=[unit], before=self.before, ahead=[ahead])
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who raises it
                if not future.done():
                    future.set_exception(exc)
                if database_unreachable(exc):
                    # the rest would each pay the same wait again (10 s a connection when packets are dropped):
                    # their callers get the same error now and fall back at once (answered from memory, rows later)
                    for _, rest, _ in batch[index + 1 :]:
                        if not rest.done():
                            rest.set_exception(exc)
                    return
                continue
            if not future.done():
                future.set_result(result[0])


def _all(
    *,
    session: Session,
    units: list[Callable[[Session], Any]],
    before: Callable[[Session], object] | None,
    ahead: list[ReadAhead | None] | None = None,
) -> list[Any]:
    if before is not None:
        before(session)
    keys: dict[Reader, list[Any]] = {}
    for item in ahead or ():
        if item is not None:
            keys.setdefault(item[0], []).append(item[1])
    for reader, of_reader in keys.items():
        reader(session, of_reader)
    return [unit(session) for unit in units]
