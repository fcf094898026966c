"""The ticket state machine: every disallowed transition raises, every change is audited."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session

from desk import tickets
from desk.bindings import bind_department_chat
from desk.errors import AlreadyClaimed, InvalidTransition, TicketChanged
from desk.models import Ticket
from desk.models import TicketStatus as S
from desk.states import TRANSITIONS, can_transition, check_transition
from tests.desk_helpers import ASKER, HELP_CHAT, HOURS, at, make_world
from tests.updates import supergroup_id, user_id

START = at(3, 2, 9, 0)  # Monday


@pytest.fixture(scope="module")
def world(module_database):
    """One database for the module: every test makes its own tickets."""
    return make_world(module_database, START)


def _new(world, question="环评要什么材料？", asker=ASKER):
    return world.db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=HELP_CHAT,
        asker_user_id=asker,
        asker_name="企业张经理",
        help_message_id=500,
        question=question,
    )


def _in_status(world, status: S) -> int:
    """A ticket brought to `status` through the public functions."""
    t = _new(world)
    db, now = world.db, world.clock.now
    if status is S.claimed:
        db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=now)
    elif status is S.escalated:
        db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=now)
    elif status is S.answered:
        db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="答复", now=now)
    elif status is S.resolved:
        db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="答复", now=now)
        db.call(tickets.resolve, ticket_id=t.id, actor=world.steward, now=now)
    elif status is S.closed:
        db.call(tickets.close, ticket_id=t.id, actor=world.steward, now=now)
    assert db.call(tickets.get_ticket, ticket_id=t.id).status is status
    return t.id


def test_map_is_exactly_the_documented_one():
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert allowed == {
        (S.open, S.claimed),
        (S.open, S.escalated),
        (S.open, S.answered),
        (S.open, S.closed),
        (S.claimed, S.answered),
        (S.claimed, S.escalated),
        (S.claimed, S.closed),
        (S.escalated, S.escalated),
        (S.escalated, S.claimed),
        (S.escalated, S.answered),
        (S.escalated, S.closed),
        (S.answered, S.resolved),
        (S.answered, S.closed),
        (S.answered, S.escalated),
        (S.answered, S.open),
    }
    for a, b in itertools.product(S, S):
        if (a, b) in allowed:
            check_transition(1, a, b)
        else:
            with pytest.raises(InvalidTransition):
                check_transition(1, a, b)


# operation → the status it moves to
OPERATIONS = {
    "claim": S.claimed,
    "answer": S.answered,
    "escalate": S.escalated,
    "resolve": S.resolved,
    "close": S.closed,
}


def _do(world, op: str, ticket_id: int):
    db, now, steward = world.db, world.clock.now, world.steward2
    if op == "claim":
        return db.call(tickets.claim, ticket_id=ticket_id, actor=steward, now=now)
    if op == "answer":
        return db.call(tickets.answer, ticket_id=ticket_id, actor=steward, text="再答", now=now)
    if op == "escalate":
        return db.call(tickets.escalate, ticket_id=ticket_id, actor=steward, department_key="ecology", now=now)
    if op == "resolve":
        return db.call(tickets.resolve, ticket_id=ticket_id, actor=steward, now=now)
    return db.call(tickets.close, ticket_id=ticket_id, actor=steward, now=now)


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_operation_from_every_status(world, start: S, op: str) -> None:
    ticket_id = _in_status(world, start)
    before = world.db.call(tickets.ticket_events, ticket_id=ticket_id)
    target = OPERATIONS[op]
    relay_only = op == "answer" and start is S.answered  # a further answer: no transition
    if start is S.claimed and op == "claim":
        with pytest.raises(AlreadyClaimed):  # someone else holds it
            _do(world, op, ticket_id)
        allowed = False
    elif can_transition(start, target) or relay_only:
        _do(world, op, ticket_id)
        allowed = True
    else:
        with pytest.raises(InvalidTransition):
            _do(world, op, ticket_id)
        allowed = False
    after = world.db.call(tickets.ticket_events, ticket_id=ticket_id)
    status = world.db.call(tickets.get_ticket, ticket_id=ticket_id).status
    if allowed:
        assert status is target
        assert len(after) == len(before) + 1
        event = after[-1]
        assert (event.from_status, event.to_status) == (start.value, target.value)
        assert event.actor_role == "steward" and event.actor_user_id == world.steward2.user_id
    else:
        assert status is start
        assert after == before


def test_every_change_of_a_full_flow_is_audited(world) -> None:
    db, clock = world.db, world.clock
    t = _new(world, asker=user_id(4242))  # an asker of its own: follow-ups must land on this ticket
    db.call(
        tickets.record_card,
        ticket_id=t.id,
        chat_id=supergroup_id(1),
        message_id=900,
        kind="steward",
        now=clock.advance(0.1),
    )
    db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=clock.advance(1))
    db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=clock.advance(1)
    )
    db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=clock.advance(1))
    db.call(tickets.claim, ticket_id=t.id, actor=world.other_dept, now=clock.advance(1))
    relay = db.call(tickets.answer, ticket_id=t.id, actor=world.other_dept, text="需要环评报告表", now=clock.advance(1))
    db.call(
        tickets.record_delivery,
        ticket_id=t.id,
        message_id=relay.message_id,
        now=clock.advance(0.1),
        delivered=True,
        help_message_id=777,
    )
    db.call(
        tickets.attach_follow_up,
        help_chat_id=HELP_CHAT,
        asker_user_id=user_id(4242),
        text="报告表谁来编？",
        now=clock.advance(5),
    )
    db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="可委托技术单位", now=clock.advance(1))
    db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="补充一句", now=clock.advance(1))
    db.call(tickets.resolve, ticket_id=t.id, actor=world.steward, now=clock.advance(1))

    events = db.call(tickets.ticket_events, ticket_id=t.id)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("create", None, "open"),
        ("card", None, None),
        ("claim", "open", "claimed"),
        ("escalate", "claimed", "escalated"),
        ("escalate", "escalated", "escalated"),
        ("claim", "escalated", "claimed"),
        ("relay", "claimed", "answered"),
        ("delivered", None, None),
        ("follow_up", "answered", "open"),
        ("relay", "open", "answered"),
        ("relay", "answered", "answered"),
        ("resolve", "answered", "resolved"),
    ]
    hops = [e.detail for e in events if e.action == "escalate"]
    assert [(h.get("from_department"), h["to_department"]) for h in hops] == [
        (None, "natural_resources"),
        ("natural_resources", "ecology"),
    ]
    assert hops[0]["previous_assignee"] == world.steward.user_id
    assert all(e.at is not None and e.actor_role for e in events)
    assert events[0].actor_user_id == user_id(4242) and events[0].actor_role == "enterprise"
    assert events[6].detail["first_response"] is True
    assert events[9].detail["first_response"] is False
    final = db.call(tickets.get_ticket, ticket_id=t.id)
    assert final.first_response_by == world.other_dept.user_id
    assert final.first_response_role == "department"
    assert final.resolved_at == clock.now
    thread = db.call(tickets.ticket_thread, ticket_id=t.id)
    assert [(m.direction, m.text) for m in thread] == [
        ("in", "环评要什么材料？"),
        ("out", "需要环评报告表"),
        ("in", "报告表谁来编？"),
        ("out", "可委托技术单位"),
        ("out", "补充一句"),
    ]
    assert thread[1].message_id == 777  # the relayed copy in the help group


def test_same_steward_claiming_twice_changes_nothing(world) -> None:
    t = _new(world)
    world.db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=world.clock.now)
    n = len(world.db.call(tickets.ticket_events, ticket_id=t.id))
    again = world.db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=world.clock.now)
    assert again.assignee_user_id == world.steward.user_id
    assert len(world.db.call(tickets.ticket_events, ticket_id=t.id)) == n


def test_escalating_again_to_the_same_department_is_refused(world) -> None:
    t = _new(world)
    world.db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=world.clock.now)
    with pytest.raises(InvalidTransition):
        world.db.call(
            tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=world.clock.now
        )


def test_a_stale_read_cannot_win_a_race(world) -> None:
    """Two stewards press 「认领」 at once: the second, having read 'open', loses."""
    t = _new(world)
    with Session(world.db.engine) as slow:
        stale = slow.get(Ticket, t.id)
        assert stale is not None and stale.status == "open"
        world.db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=world.clock.now)
        with pytest.raises(InvalidTransition):
            tickets._move(slow, stale, S.claimed, world.clock.now)
        slow.rollback()
    final = world.db.call(tickets.get_ticket, ticket_id=t.id)
    assert final.assignee_user_id == world.steward.user_id


WATER_CHAT = supergroup_id(22)


def _third_department(world) -> str:
    """A third bound department (make_world binds natural_resources and ecology)."""
    admin = world.actor(user_id(1), WATER_CHAT, "管理员")
    world.db.call(
        bind_department_chat, actor=admin, chat_id=WATER_CHAT, department_key="water", now=world.clock.now, title="水利"
    )
    return "water"


def test_two_re_escalations_at_once_to_different_departments_one_wins(world, monkeypatch) -> None:
    """Two stewards re-escalate one ticket at the same moment (two webhook workers): both read it escalated to
    natural_resources; one commits ecology first. The other, writing after, finds the department changed: it raises
    TicketChanged and changes nothing (before, it moved the ticket on to water unseen: ecology's card posted and
    taken away, its audit row saying natural_resources → water)."""
    water = _third_department(world)
    ticket_id = _in_status(world, S.escalated)  # with natural_resources
    steward, other = world.steward, world.steward2
    original = tickets.bindings.department_chat_id
    interleaved: list[str] = []

    def between_read_and_write(*, session, department_key):
        if not interleaved:  # the slow worker has read the ticket: the quick one escalates and commits now
            interleaved.append(department_key)
            world.db.call(
                tickets.escalate, ticket_id=ticket_id, actor=other, department_key="ecology", now=world.clock.now
            )
        return original(session=session, department_key=department_key)

    monkeypatch.setattr(tickets.bindings, "department_chat_id", between_read_and_write)
    with Session(world.db.engine) as slow:
        with pytest.raises(TicketChanged) as lost:
            tickets.escalate(
                session=slow, ticket_id=ticket_id, actor=steward, department_key=water, now=world.clock.now
            )
        slow.rollback()
    assert interleaved == [water]
    assert (lost.value.status, lost.value.department_key) == ("escalated", "ecology")
    final = world.db.call(tickets.get_ticket, ticket_id=ticket_id)
    assert (final.status, final.department_key) == (S.escalated, "ecology")
    hops = [
        (e.detail.get("from_department"), e.detail["to_department"])
        for e in world.db.call(tickets.ticket_events, ticket_id=ticket_id)
        if e.action == "escalate"
    ]
    assert hops == [(None, "natural_resources"), ("natural_resources", "ecology")]  # the loser wrote no audit row
    # Told afterwards (not at once), the same escalation is a hop of its own from where the ticket is now.
    monkeypatch.setattr(tickets.bindings, "department_chat_id", original)
    again = world.db.call(
        tickets.escalate, ticket_id=ticket_id, actor=steward, department_key=water, now=world.clock.now
    )
    assert again.ticket.department_key == water
    assert world.db.call(tickets.ticket_events, ticket_id=ticket_id)[-1].detail["from_department"] == "ecology"
