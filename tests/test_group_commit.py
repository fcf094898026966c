"""The group commit (storage/batch.py) on SQLite and PostgreSQL: units submitted together share a
transaction, each caller gets its own result once that transaction committed, a failing unit fails
alone, and no more transactions are in flight at once than the batcher is given (one by default)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlmodel import Session, select

from knowledge.matcher import MatchResult
from knowledge.question_log import QuestionLog, log_question
from storage import Database, utcnow
from storage.batch import Batcher
from tests.updates import supergroup_id, user_id


class Transactions:
    """Counts the transactions a batcher opens (its `before` hook runs first in each) and how many
    were open at once."""

    def __init__(self) -> None:
        self.opened = 0
        self.open_now = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def before(self, session: Session) -> None:
        with self._lock:
            self.opened += 1

    def unit_started(self) -> None:
        with self._lock:
            self.open_now += 1
            self.most_at_once = max(self.most_at_once, self.open_now)

    def unit_ended(self) -> None:
        with self._lock:
            self.open_now -= 1


def _log(*, session: Session, n: int, seen: Transactions | None = None, meet: threading.Barrier | None = None) -> int:
    if seen is not None:
        seen.unit_started()
        if meet is not None:
            meet.wait(timeout=10)  # the units of the transactions in flight wait for each other: they overlap
        else:
            time.sleep(0.02)
        seen.unit_ended()
    question = f"问题{n}"
    result = MatchResult(question, question, None, "other", "handoff", 0.0, (), "low_confidence")
    log_question(session=session, result=result, at=utcnow(), chat_id=supergroup_id(n), user_id=user_id(n))
    return n


def _fail(*, session: Session) -> None:
    raise ValueError("a bad unit")


async def test_units_submitted_together_share_one_transaction_and_each_caller_gets_its_result(database: Database):
    seen = Transactions()
    batcher = Batcher(database, before=seen.before)
    results = await asyncio.gather(*(batcher.run(_log, n=n) for n in range(12)))
    assert results == list(range(12))
    assert seen.opened == 1  # all twelve were queued before the batcher's worker first ran
    with database.session() as session:
        assert len(session.exec(select(QuestionLog)).all()) == 12


async def test_a_failing_unit_fails_alone_and_the_others_commit(database: Database):
    batcher = Batcher(database)
    outcomes = await asyncio.gather(
        batcher.run(_log, n=1), batcher.run(_fail), batcher.run(_log, n=2), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 2
    assert isinstance(outcomes[1], ValueError)
    with database.session() as session:
        assert sorted(r.text for r in session.exec(select(QuestionLog)).all()) == ["问题1", "问题2"]


@pytest.mark.parametrize("in_flight", [None, 3])
async def test_no_more_transactions_are_in_flight_than_the_batcher_is_given(database: Database, in_flight: int | None):
    seen = Transactions()
    given = {} if in_flight is None else {"concurrency": in_flight}
    batcher = Batcher(database, before=seen.before, max_batch=1, **given)
    # one by default; SQLite has one writer: one transaction at a time whatever it is given
    expected = 1 if in_flight is None or database.url.startswith("sqlite") else in_flight
    meet = threading.Barrier(expected) if expected > 1 else None  # fewer in flight: the barrier breaks
    await asyncio.gather(*(batcher.run(_log, n=n, seen=seen, meet=meet) for n in range(9)))
    assert seen.most_at_once == expected
    assert seen.opened == 9  # max_batch=1: a transaction per unit


def test_a_batcher_needs_at_least_one_transaction_in_flight(database: Database):
    with pytest.raises(ValueError, match="at least 1"):
        Batcher(database, concurrency=0)


async def test_a_unit_submitted_as_the_worker_finishes_still_runs(database: Database):
    """The caller whose result ends a batch submits its next unit at once, before the loop runs anything else: the
    worker has finished, so a new one must start (a lost wake-up would leave the caller waiting forever)."""
    batcher = Batcher(database)

    async def two_in_a_row() -> list[int]:
        first = await batcher.run(_log, n=1)
        second = await batcher.run(_log, n=2)  # no await in between yields to the loop
        return [first, second]

    assert await asyncio.wait_for(two_in_a_row(), timeout=20) == [1, 2]


async def test_a_worker_cancelled_mid_batch_fails_its_callers_instead_of_leaving_them_waiting(database: Database):
    """Shutting down cancels the worker: every caller it holds gets the cancellation, none waits forever."""
    batcher = Batcher(database)
    entered = threading.Event()
    release = threading.Event()

    def slow(*, session: Session) -> int:
        entered.set()
        release.wait(timeout=20)
        return 1

    callers = [asyncio.create_task(batcher.run(slow)), asyncio.create_task(batcher.run(_log, n=2))]
    await asyncio.to_thread(entered.wait, 20)
    third = asyncio.create_task(batcher.run(_log, n=3))  # queued behind the batch in flight
    await asyncio.sleep(0)
    for worker in list(batcher._workers):
        worker.cancel()
    release.set()
    outcomes = await asyncio.wait_for(asyncio.gather(*callers, third, return_exceptions=True), timeout=20)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)


async def test_a_batch_that_cannot_reach_the_database_fails_its_units_at_once():
    # the database drops every connection: the batch fails, then the first unit alone, and the rest fail with it
    # instead of each paying the same wait again (10 s a connection when packets are dropped)
    import socket

    from sqlalchemy.exc import OperationalError

    from storage.db import database_unreachable

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def drop_every_connection() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.close()

    threading.Thread(target=drop_every_connection, daemon=True).start()
    down = Database(f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/test")
    try:
        batcher = Batcher(down)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(batcher.run(_log, n=n) for n in range(5)), return_exceptions=True), timeout=60
        )
    finally:
        down.dispose()
        listener.close()
    assert all(isinstance(o, OperationalError) and database_unreachable(o) for o in outcomes)
    assert len(accepted) == 2  # the batch's transaction, then the first unit's: not one more per unit


async def test_a_unit_the_database_refuses_fails_alone_and_the_rest_commit(database: Database):
    # a statement error (SQLite reports a missing table as an OperationalError) is an answer, not a database out of
    # reach: the units after it in the batch still commit
    from sqlalchemy import text

    def bad(*, session: Session) -> None:
        session.exec(text("SELECT * FROM no_such_table"))  # type: ignore[call-overload]

    batcher = Batcher(database)
    outcomes = await asyncio.gather(
        batcher.run(_log, n=1), batcher.run(bad), batcher.run(_log, n=3), batcher.run(_log, n=4), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 3 and outcomes[3] == 4
    assert isinstance(outcomes[1], Exception)
