"""The desk on real PostgreSQL: the whole flow, the sweep, and two sweepers at once
(FOR UPDATE SKIP LOCKED + compare-and-set: one alert, not two). Skipped when PostgreSQL is
unreachable and CI is unset; fails under CI."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlmodel import Session

from desk import tickets
from desk.bindings import bind_department_chat
from desk.errors import DeskError, TicketChanged
from desk.sla import AlertKind, sweep
from desk.stats import compute_stats
from tests.desk_helpers import (
    ADMIN,
    ASKER,
    HELP_CHAT,
    HOURS,
    LEAD_CHAT,
    STEWARD_CHAT,
    at,
    make_world,
    pg_db,
)
from tests.updates import supergroup_id

__all__ = ["pg_db"]  # the fixture


def _sweep(session, now):
    return sweep(
        session=session,
        now=now,
        hours=HOURS,
        warn_before_minutes=10,
        steward_chat_id=STEWARD_CHAT,
        lead_chat_id=LEAD_CHAT,
    )


def test_flow_and_sweep_on_postgres(pg_db) -> None:
    world = make_world(pg_db, at(3, 6, 19, 0))  # Friday evening
    db = world.db
    big_chat = -1009999999999  # supergroup ids need 64 bits
    t = db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=HELP_CHAT,
        asker_user_id=ASKER,
        asker_name="张",
        question="问",
        help_message_id=2**40,
        candidates=[{"key": "eia", "score": 0.3}],
    )
    assert t.sla_due_at == at(3, 9, 9, 30)
    db.call(tickets.record_card, ticket_id=t.id, chat_id=big_chat, message_id=7, kind="steward", now=world.clock.now)
    found = db.call(tickets.find_ticket_by_card, chat_id=big_chat, message_id=7)
    assert found is not None and found.id == t.id
    assert [a.kind for a in db.call(_sweep_fn, now=at(3, 9, 9, 21))] == [AlertKind.warning]
    assert db.call(_sweep_fn, now=at(3, 9, 9, 25)) == []
    assert [a.kind for a in db.call(_sweep_fn, now=at(3, 9, 9, 30))] == [AlertKind.breach]
    assert db.call(_sweep_fn, now=at(3, 9, 9, 31)) == []
    relay = db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="答", now=at(3, 9, 9, 40))
    assert relay.reply_to_message_id == 2**40 and relay.first_response
    s = db.call(compute_stats, hours=HOURS, now=at(3, 9, 12))
    assert (s.opened, s.breached, s.answered_late, s.median_first_response_min) == (1, 1, 1, 40)
    events = [e.action for e in db.call(tickets.ticket_events, ticket_id=t.id)]
    assert events == ["create", "card", "warn", "breach", "relay"]


def _sweep_fn(*, session, now):
    return _sweep(session, now)


def test_two_workers_sweeping_at_once_alert_once(pg_db) -> None:
    world = make_world(pg_db, at(3, 2, 10, 0))
    for asker in (1, 2, 3):
        pg_db.call(
            tickets.create_ticket,
            now=world.clock.now,
            hours=HOURS,
            sla_minutes=30,
            help_chat_id=HELP_CHAT,
            asker_user_id=asker,
            question="q",
        )
    now = at(3, 2, 10, 31)
    with Session(pg_db.engine) as first, Session(pg_db.engine) as second:
        got_first = _sweep(first, now)  # holds its row locks until commit
        got_second = _sweep(second, now)  # skips the locked rows instead of waiting
        first.commit()
        second.commit()
    assert len(got_first) == 3 and got_second == []
    assert pg_db.call(_sweep_fn, now=at(3, 2, 11, 0)) == []


def test_two_workers_re_escalating_one_ticket_at_once_one_wins(pg_db) -> None:
    """Two webhook workers re-escalate one ticket to different departments at once, on two connections: the first
    holds the row (its UPDATE done, not committed); the second has read the ticket (escalated to natural_resources)
    and its UPDATE waits for the first's row lock. When the first commits, the second's UPDATE finds the department
    changed: it updates nothing and raises TicketChanged (before, it went through and moved the ticket on)."""
    world = make_world(pg_db, at(3, 2, 10, 0))
    water = supergroup_id(22)
    admin = world.actor(ADMIN, water, "管理员")
    pg_db.call(bind_department_chat, actor=admin, chat_id=water, department_key="water", now=world.clock.now)
    t = pg_db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=HELP_CHAT,
        asker_user_id=ASKER,
        question="q",
    )
    steward, other = world.steward, world.steward2
    pg_db.call(tickets.escalate, ticket_id=t.id, actor=steward, department_key="natural_resources", now=world.clock.now)

    second_pid: list[int] = []
    writing = threading.Event()
    outcome: list[object] = []

    def second_worker() -> None:
        with Session(pg_db.engine) as session:
            second_pid.append(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

            def about_to_write(_conn, _cursor, statement, *_args):
                if statement.startswith("UPDATE desk_ticket SET status"):
                    writing.set()

            event.listen(session.connection(), "before_cursor_execute", about_to_write)
            try:
                outcome.append(
                    tickets.escalate(
                        session=session, ticket_id=t.id, actor=steward, department_key="water", now=world.clock.now
                    )
                )
                session.commit()
            except DeskError as exc:  # the loser's domain error; anything else fails the test
                outcome.append(exc)
                session.rollback()

    with Session(pg_db.engine) as first:
        tickets.escalate(session=first, ticket_id=t.id, actor=other, department_key="ecology", now=world.clock.now)
        first.flush()  # the row is locked by this transaction until it commits
        worker = threading.Thread(target=second_worker)
        worker.start()
        assert writing.wait(30), "the second worker never reached its UPDATE"
        with pg_db.engine.connect() as watcher:  # its UPDATE waits on the first's lock (asked, not slept on)
            waiting = 0
            for _ in range(20_000):
                waiting = watcher.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                    (second_pid[0],),
                ).scalar_one()
                if waiting or not worker.is_alive():
                    break
            assert waiting == 1
        first.commit()
    worker.join(30)
    assert not worker.is_alive()
    (lost,) = outcome
    assert isinstance(lost, TicketChanged), lost
    assert (lost.status, lost.department_key) == ("escalated", "ecology")
    final = pg_db.call(tickets.get_ticket, ticket_id=t.id)
    assert final.department_key == "ecology"
    hops = [
        e.detail["to_department"] for e in pg_db.call(tickets.ticket_events, ticket_id=t.id) if e.action == "escalate"
    ]
    assert hops == ["natural_resources", "ecology"]
