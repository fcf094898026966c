"""A new ticket's id without a round trip of its own (storage.ids): on PostgreSQL the ids come from the
sequence in blocks and the INSERT is deferred with the transaction's other rows; on SQLite the INSERT gives it.
Both databases: the ids, the rows and the rows that refer to them are all there after the commit."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import event

from desk import tickets
from desk.models import Role
from storage.db import Database
from tests.desk_helpers import HOURS
from tests.updates import supergroup_id, user_id

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)
HELP = supergroup_id(4242)


def _open(session, n: int) -> tickets.TicketView:
    return tickets.create_ticket(
        session=session,
        now=NOW,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=HELP,
        asker_user_id=user_id(n),
        question=f"营业执照怎么办（{n}）",
        lookup_project=False,
    )


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _count(seen: list[str], pattern: str) -> int:
    return sum(1 for s in seen if re.match(pattern, s))


def test_tickets_opened_together_get_distinct_ids_and_every_row_of_theirs(database: Database) -> None:
    opened = database.call(lambda session: [_open(session, n) for n in range(20)])
    ids = [t.id for t in opened]
    assert len(set(ids)) == 20 and ids == sorted(ids)  # one transaction takes its ids in order
    for t in opened:
        stored = database.call(tickets.get_ticket, ticket_id=t.id)
        assert (stored.id, stored.asker_user_id, stored.question) == (t.id, t.asker_user_id, t.question)
        assert [m.text for m in database.call(tickets.ticket_thread, ticket_id=t.id)] == [t.question]
        assert [e.action for e in database.call(tickets.ticket_events, ticket_id=t.id)] == ["create"]
    later = database.call(lambda session: _open(session, 99))
    assert later.id > max(ids)


def test_a_ticket_opened_is_read_back_in_its_own_transaction(database: Database) -> None:
    def open_and_read(session):
        t = _open(session, 1)
        return t, tickets.get_ticket(session=session, ticket_id=t.id)

    opened, read = database.call(open_and_read)
    assert read.id == opened.id and read.question == opened.question


def test_a_new_ticket_is_written_before_rows_of_an_older_ticket_deferred_earlier(database: Database) -> None:
    older = database.call(lambda session: _open(session, 1))

    def audit_older_then_open(session):
        # an audit row of the older ticket, deferred first; then a new ticket with rows that refer to it
        tickets._audit_row(
            session, older.id, user_id(1), Role.enterprise.value, "note", NOW, None, None, {}, deferred=True
        )
        return _open(session, 2)

    newer = database.call(audit_older_then_open)  # on PostgreSQL a foreign key violation if written in that order
    assert [e.action for e in database.call(tickets.ticket_events, ticket_id=older.id)] == ["create", "note"]
    assert [e.action for e in database.call(tickets.ticket_events, ticket_id=newer.id)] == ["create"]


def test_postgresql_takes_ids_in_blocks_that_follow_the_load(database: Database) -> None:
    """A quiet bot takes one id at a time; a transaction of twenty tickets takes a few blocks, and the next
    such transaction one block and one INSERT for all of its tickets."""
    with _statements(database) as seen:
        database.call(lambda session: _open(session, 0))
        first = list(seen)
        seen.clear()
        database.call(lambda session: [_open(session, n) for n in range(1, 21)])
        burst = list(seen)
        seen.clear()
        database.call(lambda session: [_open(session, n) for n in range(21, 41)])
        steady = list(seen)
    inserts = r"INSERT INTO desk_ticket \("
    if database.url.startswith("sqlite"):
        assert [_count(s, inserts) for s in (first, burst, steady)] == [1, 20, 20]  # the INSERT gives the id
        assert not any("nextval" in s for s in first + burst + steady)
        return
    taken = r"SELECT nextval"
    assert (_count(first, taken), _count(first, inserts)) == (1, 1)
    assert _count(burst, taken) <= 6 and _count(burst, inserts) == 1  # blocks of 1, 1, 2, 4, 8, 16
    assert (_count(steady, taken), _count(steady, inserts)) == (1, 1)  # the block is as large as the load


def test_transactions_in_flight_at_once_take_distinct_ids(database: Database) -> None:
    """Two transactions on worker threads taking ids in turn (DB_TRANSACTIONS_IN_FLIGHT > 1): every id once,
    and each transaction's rows complete after both commit. PostgreSQL only: SQLite has one writer."""
    if database.url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: no two transactions in flight")
    turn = threading.Barrier(2, timeout=20)

    def transaction(offset: int) -> list[int]:
        def unit(session):
            ids = []
            for n in range(10):
                turn.wait()  # the two transactions take their ids alternately
                ids.append(_open(session, offset + n).id)
            return ids

        return database.call(unit)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(transaction, (0, 100))
    assert len(set(first) | set(second)) == 20
    for ticket_id in first + second:
        assert [e.action for e in database.call(tickets.ticket_events, ticket_id=ticket_id)] == ["create"]
