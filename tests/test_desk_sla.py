"""The response clock with a fake clock: one warning, one breach, nothing repeated after a
restart, answered-in-time never breaches, business hours respected."""

from __future__ import annotations

import pytest

from desk import tickets
from desk.sla import AlertKind, Audience, sweep
from storage import Database
from tests.desk_helpers import ASKER, DEPT_CHAT, HELP_CHAT, HOURS, LEAD_CHAT, STEWARD_CHAT, at, make_world


def _sweep(db: Database, now, warn=10):
    return db.call(
        sweep, now=now, hours=HOURS, warn_before_minutes=warn, steward_chat_id=STEWARD_CHAT, lead_chat_id=LEAD_CHAT
    )


def _create(world, asker=ASKER, sla=30):
    return world.db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=sla,
        help_chat_id=HELP_CHAT,
        asker_user_id=asker,
        asker_name="张经理",
        help_message_id=10,
        question="用地预审要多久？",
    )


@pytest.fixture
def world(database):
    return make_world(database, at(3, 2, 10, 0))  # Monday 10:00


def test_friday_evening_question_is_due_next_working_day_0930(world) -> None:
    world.clock.set(at(3, 6, 19, 0))  # Friday 19:00
    t = _create(world)
    assert t.sla_due_at == at(3, 9, 9, 30)  # Monday 09:30
    assert _sweep(world.db, at(3, 7, 12, 0)) == []  # Saturday: nothing moves
    assert [a.kind for a in _sweep(world.db, at(3, 9, 9, 20))] == [AlertKind.warning]
    assert _sweep(world.db, at(3, 9, 9, 29)) == []
    assert [a.kind for a in _sweep(world.db, at(3, 9, 9, 30))] == [AlertKind.breach]


def test_spring_festival_runs_on_make_up_days_and_skips_the_break(world) -> None:
    """2026: 春节 off 15-23 Feb; Saturdays 14 and 28 Feb are make-up working days (调休)."""
    world.clock.set(at(2, 13, 17, 20))  # Friday, 10 minutes before closing
    assert _create(world).sla_due_at == at(2, 14, 9, 20)  # Saturday, but 调休上班
    world.clock.set(at(2, 14, 17, 20))  # the last working afternoon before the break
    assert _create(world, asker=98).sla_due_at == at(2, 24, 9, 20)
    world.clock.set(at(2, 27, 17, 20))
    assert _create(world, asker=99).sla_due_at == at(2, 28, 9, 20)


def test_warning_once_breach_once(world) -> None:
    t = _create(world)
    assert t.sla_due_at == at(3, 2, 10, 30)
    assert _sweep(world.db, at(3, 2, 10, 15)) == []
    warned = _sweep(world.db, at(3, 2, 10, 20))
    assert len(warned) == 1 and warned[0].kind is AlertKind.warning
    assert warned[0].minutes_left == pytest.approx(10)
    assert warned[0].recipients[0].audience is Audience.steward
    assert warned[0].recipients[0].chat_id == STEWARD_CHAT
    assert _sweep(world.db, at(3, 2, 10, 21)) == []
    assert (
        _sweep(
            world.db,
            at(
                3,
                2,
                10,
                29,
            ),
        )
        == []
    )
    breached = _sweep(world.db, at(3, 2, 10, 30))
    assert len(breached) == 1 and breached[0].kind is AlertKind.breach
    assert {(r.audience, r.chat_id) for r in breached[0].recipients} == {
        (Audience.lead, LEAD_CHAT),
        (Audience.steward, STEWARD_CHAT),
    }
    assert _sweep(world.db, at(3, 2, 10, 31)) == []
    assert _sweep(world.db, at(3, 3, 10, 0)) == []
    actions = [e.action for e in world.db.call(tickets.ticket_events, ticket_id=t.id)]
    assert actions.count("warn") == 1 and actions.count("breach") == 1
    final = world.db.call(tickets.get_ticket, ticket_id=t.id)
    assert final.warned_at == at(3, 2, 10, 20) and final.breached_at == at(3, 2, 10, 30)


def test_restart_repeats_nothing(database) -> None:
    world = make_world(database, at(3, 2, 10, 0))
    _create(world)
    assert len(_sweep(world.db, at(3, 2, 10, 25))) == 1  # the warning
    world.db.dispose()

    restarted = Database(world.db.url)  # same database, new process
    restarted.migrate()
    assert _sweep(restarted, at(3, 2, 10, 26)) == []
    assert len(_sweep(restarted, at(3, 2, 10, 40))) == 1  # the breach, late but once
    restarted.dispose()

    again = Database(world.db.url)
    assert _sweep(again, at(3, 2, 11, 0)) == []
    assert _sweep(again, at(3, 3, 11, 0)) == []
    again.dispose()


def test_two_sweepers_on_one_database_alert_once(database) -> None:
    world = make_world(database, at(3, 2, 10, 0))
    _create(world)
    other = Database(world.db.url)
    results = [_sweep(db, at(3, 2, 10, 31)) for db in (world.db, other, world.db, other)]
    assert [len(r) for r in results] == [1, 0, 0, 0]
    other.dispose()


def test_answered_in_time_never_warns_or_breaches(world) -> None:
    t = _create(world)
    world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="2个工作日", now=at(3, 2, 10, 15))
    for moment in (at(3, 2, 10, 20), at(3, 2, 10, 30), at(3, 2, 12, 0), at(3, 9, 9, 0)):
        assert _sweep(world.db, moment) == []
    final = world.db.call(tickets.get_ticket, ticket_id=t.id)
    assert final.answered_in_time and final.breached_at is None and final.warned_at is None


def test_answer_after_warning_stops_the_breach(world) -> None:
    t = _create(world)
    assert len(_sweep(world.db, at(3, 2, 10, 22))) == 1
    world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="好的", now=at(3, 2, 10, 28))
    assert _sweep(world.db, at(3, 2, 10, 35)) == []


def test_closed_and_claimed_tickets(world) -> None:
    closed = _create(world, asker=1001)
    world.db.call(tickets.close, ticket_id=closed.id, actor=world.steward, now=at(3, 2, 10, 5))
    claimed = _create(world, asker=1002)
    world.db.call(tickets.claim, ticket_id=claimed.id, actor=world.steward, now=at(3, 2, 10, 5))
    alerts = _sweep(world.db, at(3, 2, 10, 20))
    assert [a.ticket.id for a in alerts] == [claimed.id]  # the closed one is out of the race
    assert alerts[0].holder_user_id == world.steward.user_id
    assert alerts[0].recipients[0].mention_user_id == world.steward.user_id


def test_clock_pauses_over_lunch(world) -> None:
    world.clock.set(at(3, 2, 11, 50))
    t = _create(world)
    assert t.sla_due_at == at(3, 2, 13, 50)  # 10 minutes before lunch, 20 after
    assert _sweep(world.db, at(3, 2, 12, 45)) == []  # 20 business minutes left
    assert [a.kind for a in _sweep(world.db, at(3, 2, 13, 40))] == [AlertKind.warning]
    assert [a.kind for a in _sweep(world.db, at(3, 2, 13, 50))] == [AlertKind.breach]


def test_escalated_ticket_warns_the_department(world) -> None:
    t = _create(world)
    world.db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=at(3, 2, 10, 5)
    )
    warning = _sweep(world.db, at(3, 2, 10, 20))[0]
    assert [(r.audience, r.chat_id) for r in warning.recipients] == [(Audience.department, DEPT_CHAT)]
    breach = _sweep(world.db, at(3, 2, 10, 30))[0]
    assert {(r.audience, r.chat_id) for r in breach.recipients} == {
        (Audience.lead, LEAD_CHAT),
        (Audience.steward, STEWARD_CHAT),
        (Audience.department, DEPT_CHAT),
    }
    assert breach.department_key == "natural_resources"
    events = world.db.call(tickets.ticket_events, ticket_id=t.id)
    assert events[-1].action == "breach" and events[-1].actor_role == "system"
    assert events[-1].detail["department_key"] == "natural_resources"


def test_no_warning_when_the_window_covers_the_whole_commitment(world) -> None:
    _create(world, sla=5)  # warn 10 minutes before a 5-minute deadline: would fire at once
    assert _sweep(world.db, at(3, 2, 10, 1)) == []
    assert [a.kind for a in _sweep(world.db, at(3, 2, 10, 5))] == [AlertKind.breach]


def test_warn_before_zero_disables_warnings(world) -> None:
    _create(world)
    assert _sweep(world.db, at(3, 2, 10, 29), warn=0) == []
    assert len(_sweep(world.db, at(3, 2, 10, 30), warn=0)) == 1


def test_a_first_answer_that_never_arrived_does_not_stop_the_clock(world) -> None:
    t = _create(world)
    relay = world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="2个工作日", now=at(3, 2, 10, 15))
    assert relay.first_response
    world.db.call(
        tickets.record_delivery,
        ticket_id=t.id,
        message_id=relay.message_id,
        now=at(3, 2, 10, 15),
        delivered=False,
        error="Bad Gateway",
        first_response=True,
    )
    reopened = world.db.call(tickets.get_ticket, ticket_id=t.id)
    assert reopened.status == "open" and reopened.first_response_at is None
    kinds = [a.kind for a in _sweep(world.db, at(3, 2, 10, 31))]
    assert kinds == [AlertKind.breach]  # the warning moment had passed with no sweep; the breach still comes
    events = [e.action for e in world.db.call(tickets.ticket_events, ticket_id=t.id)]
    assert events[-3:] == ["delivery_failed", "reopen_undelivered", "breach"], events


def test_a_later_answer_that_fails_keeps_the_first_response(world) -> None:
    t = _create(world)
    first = world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="2个工作日", now=at(3, 2, 10, 15))
    world.db.call(
        tickets.record_delivery,
        ticket_id=t.id,
        message_id=first.message_id,
        now=at(3, 2, 10, 15),
        delivered=True,
        help_message_id=55,
        first_response=True,
    )
    second = world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="补充", now=at(3, 2, 10, 20))
    assert not second.first_response
    world.db.call(
        tickets.record_delivery,
        ticket_id=t.id,
        message_id=second.message_id,
        now=at(3, 2, 10, 20),
        delivered=False,
        error="Bad Gateway",
        first_response=second.first_response,
    )
    kept = world.db.call(tickets.get_ticket, ticket_id=t.id)
    assert kept.status == "answered" and kept.first_response_at is not None
    assert _sweep(world.db, at(3, 2, 11, 0)) == []
