"""Who may do what, where: roles from chats, enterprise refused, departments only on what
was escalated to them, help groups only see their own tickets, forged ids refused."""

from __future__ import annotations

import pytest

from desk import callbacks, tickets
from desk.bindings import (
    bind_department_chat,
    bind_help_chat,
    mark_chat_gone,
    unbind_chat,
)
from desk.errors import NotBound, PermissionDenied, TicketNotFound, UnknownProject
from desk.models import ChatKind, Role
from desk.roles import Action, resolve_role, staff_members
from tests.desk_helpers import (
    ADMIN,
    ASKER,
    DEPT_CHAT,
    DEPT_MEMBER,
    HELP_CHAT,
    HOURS,
    LEAD_CHAT,
    OTHER_ASKER,
    OTHER_DEPT_CHAT,
    OTHER_HELP_CHAT,
    STEWARD,
    STEWARD_CHAT,
    at,
    make_world,
)
from tests.updates import supergroup_id, user_id

NOW = at(3, 2, 10, 0)


@pytest.fixture(scope="module")
def world(module_database):
    return make_world(module_database, NOW)


def _ticket(world, chat=HELP_CHAT, asker=ASKER):
    return world.db.call(
        tickets.create_ticket,
        now=NOW,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=chat,
        asker_user_id=asker,
        asker_name="企业",
        help_message_id=1,
        question="问题",
    )


def _resolve(world, user, chat, staff=()):
    return world.db.call(
        resolve_role,
        user_id=user,
        chat_id=chat,
        now=NOW,
        admin_ids=[ADMIN],
        steward_chat_id=STEWARD_CHAT,
        lead_chat_id=LEAD_CHAT,
        staff_user_ids=staff,
    )


def test_roles_come_from_where_people_are_seen(world) -> None:
    assert _resolve(world, user_id(501), HELP_CHAT).role is Role.enterprise  # never seen elsewhere
    assert _resolve(world, user_id(501), STEWARD_CHAT).role is Role.steward
    helper = _resolve(world, user_id(501), HELP_CHAT)  # now known as a steward
    assert helper.role is Role.steward and helper.chat_kind is ChatKind.help
    assert helper.chat_project_code == "P-001"

    member = _resolve(world, user_id(502), DEPT_CHAT)
    assert (member.role, member.department_key) == (Role.department, "natural_resources")
    in_help = _resolve(world, user_id(502), HELP_CHAT)
    assert (in_help.role, in_help.department_key) == (Role.department, "natural_resources")

    assert _resolve(world, user_id(503), LEAD_CHAT).role is Role.lead
    assert _resolve(world, user_id(503), HELP_CHAT).role is Role.lead
    assert _resolve(world, ADMIN, HELP_CHAT).role is Role.admin
    assert _resolve(world, user_id(504), HELP_CHAT, staff=[user_id(504)]).role is Role.steward
    assert _resolve(world, user_id(505), supergroup_id(999)).role is Role.enterprise  # an unknown chat
    assert _resolve(world, user_id(505), supergroup_id(999)).chat_kind is None
    seen = {(u, r) for u, r, _d, _n in world.db.call(staff_members)}
    assert {(user_id(501), "steward"), (user_id(502), "department"), (user_id(503), "lead")} <= seen
    assert (user_id(505), "steward") not in seen


@pytest.mark.parametrize("op", ["claim", "answer", "escalate", "resolve", "close"])
def test_enterprise_can_never_act_on_tickets(world, op: str) -> None:
    t = _ticket(world)
    asker = world.asker  # the asker themself, in their own help group
    assert asker.role is Role.enterprise
    kwargs = {"ticket_id": t.id, "actor": asker, "now": NOW}
    fn = {
        "claim": tickets.claim,
        "answer": tickets.answer,
        "escalate": tickets.escalate,
        "resolve": tickets.resolve,
        "close": tickets.close,
    }[op]
    if op == "answer":
        kwargs["text"] = "我自己答"
    if op == "escalate":
        kwargs["department_key"] = "ecology"
    with pytest.raises(PermissionDenied):
        world.db.call(fn, **kwargs)
    assert world.db.call(tickets.get_ticket, ticket_id=t.id).status.value == "open"


def test_help_groups_never_see_another_projects_tickets(world) -> None:
    mine = _ticket(world)
    theirs = _ticket(world, chat=OTHER_HELP_CHAT, asker=OTHER_ASKER)
    assert world.db.call(tickets.get_ticket, ticket_id=mine.id, actor=world.asker).id == mine.id
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.get_ticket, ticket_id=theirs.id, actor=world.asker)
    # Not even a steward, speaking in help group A, can pull up group B's ticket there.
    assert world.steward.role is Role.steward  # seen in the steward group first
    steward_in_help = world.actor(STEWARD, HELP_CHAT)
    assert steward_in_help.role is Role.steward
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.get_ticket, ticket_id=theirs.id, actor=steward_in_help)
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.answer, ticket_id=theirs.id, actor=steward_in_help, text="x", now=NOW, direct=True)
    # Another enterprise member of the same group cannot read someone else's ticket either.
    neighbour = world.actor(4343, HELP_CHAT)
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.get_ticket, ticket_id=mine.id, actor=neighbour)


def test_department_acts_only_on_tickets_escalated_to_it(world) -> None:
    t = _ticket(world)
    dept = world.dept
    with pytest.raises(PermissionDenied):  # not escalated at all
        world.db.call(tickets.claim, ticket_id=t.id, actor=dept, now=NOW)
    world.db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=NOW)
    for fn, extra in ((tickets.claim, {}), (tickets.answer, {"text": "x"})):
        with pytest.raises(PermissionDenied):  # escalated to another department
            world.db.call(fn, ticket_id=t.id, actor=dept, now=NOW, **extra)
    world.db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=NOW)
    claimed = world.db.call(tickets.claim, ticket_id=t.id, actor=dept, now=NOW)
    assert claimed.status.value == "claimed"
    with pytest.raises(PermissionDenied):  # the whistle is the steward's
        world.db.call(tickets.escalate, ticket_id=t.id, actor=dept, department_key="ecology", now=NOW)
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.close, ticket_id=t.id, actor=dept, now=NOW)
    with pytest.raises(PermissionDenied):  # the department it left
        world.db.call(tickets.answer, ticket_id=t.id, actor=world.other_dept, text="x", now=NOW)
    relay = world.db.call(tickets.answer, ticket_id=t.id, actor=dept, text="可以", now=NOW)
    assert relay.first_response and relay.help_chat_id == HELP_CHAT


def test_lead_reads_but_does_not_act(world) -> None:
    t = _ticket(world)
    assert world.db.call(tickets.get_ticket, ticket_id=t.id, actor=world.lead).id == t.id
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.close, ticket_id=t.id, actor=world.lead, now=NOW)


def test_a_forged_ticket_id_on_a_real_card_is_refused(world) -> None:
    a, b = _ticket(world), _ticket(world, asker=777)
    world.db.call(tickets.record_card, ticket_id=a.id, chat_id=STEWARD_CHAT, message_id=4001, kind="steward", now=NOW)
    world.db.call(tickets.record_card, ticket_id=b.id, chat_id=STEWARD_CHAT, message_id=4002, kind="steward", now=NOW)
    forged = callbacks.decode(callbacks.encode(Action.close, b.id))
    assert forged is not None and forged.ticket_id == b.id
    with pytest.raises(PermissionDenied):  # pressed on a's card, data says b
        world.db.call(tickets.close, ticket_id=forged.ticket_id, actor=world.steward, now=NOW, card_message_id=4001)
    with pytest.raises(PermissionDenied):  # a message that is no card at all
        world.db.call(tickets.close, ticket_id=b.id, actor=world.steward, now=NOW, card_message_id=9999)
    with pytest.raises(TicketNotFound):
        world.db.call(tickets.close, ticket_id=10**9, actor=world.steward, now=NOW, card_message_id=4001)
    world.db.call(tickets.claim, ticket_id=b.id, actor=world.steward, now=NOW, card_message_id=4002)


def test_department_card_counts_only_while_the_department_holds_the_ticket(world) -> None:
    t = _ticket(world, asker=778)
    esc = world.db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=NOW
    )
    assert esc.department_chat_id == DEPT_CHAT
    world.db.call(tickets.record_card, ticket_id=t.id, chat_id=DEPT_CHAT, message_id=5001, kind="department", now=NOW)
    other = _ticket(world, asker=779)
    with pytest.raises(PermissionDenied):  # id of a ticket never escalated, on a real card
        world.db.call(tickets.claim, ticket_id=other.id, actor=world.dept, now=NOW, card_message_id=5001)
    world.db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="ecology", now=NOW)
    # The first department's card, pressed after the ticket moved on: refused.
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.claim, ticket_id=t.id, actor=world.dept, now=NOW, card_message_id=5001)
    world.db.call(
        tickets.record_card, ticket_id=t.id, chat_id=OTHER_DEPT_CHAT, message_id=5002, kind="department", now=NOW
    )
    claimed = world.db.call(tickets.claim, ticket_id=t.id, actor=world.other_dept, now=NOW, card_message_id=5002)
    assert claimed.assignee_user_id == world.other_dept.user_id


def test_buttons_pressed_outside_staff_chats_are_refused(world) -> None:
    t = _ticket(world, asker=780)
    world.db.call(tickets.record_card, ticket_id=t.id, chat_id=STEWARD_CHAT, message_id=6001, kind="steward", now=NOW)
    assert world.steward.role is Role.steward
    steward_in_help = world.actor(STEWARD, HELP_CHAT)
    assert steward_in_help.role is Role.steward
    with pytest.raises(PermissionDenied):
        world.db.call(tickets.claim, ticket_id=t.id, actor=steward_in_help, now=NOW, card_message_id=6001)


def test_only_admins_bind_and_only_to_known_projects(world) -> None:
    chat = -1009
    steward = world.actor(STEWARD, chat)
    with pytest.raises(PermissionDenied):
        world.db.call(
            bind_help_chat, actor=steward, chat_id=chat, project_code="P-001", now=NOW, project_exists=lambda code: True
        )
    admin = world.actor(ADMIN, chat)
    with pytest.raises(UnknownProject):
        world.db.call(
            bind_help_chat, actor=admin, chat_id=chat, project_code="NOPE", now=NOW, project_exists=lambda code: False
        )
    with pytest.raises(PermissionDenied):  # the steward group is not a help group
        world.db.call(
            bind_help_chat,
            actor=world.admin_in_steward_chat,
            chat_id=STEWARD_CHAT,
            project_code="P-001",
            now=NOW,
            project_exists=lambda code: True,
        )


def test_binding_via_the_ledger_table(world) -> None:
    from decimal import Decimal

    from ledger.models import Project

    def add(session):
        session.add(
            Project(
                code="L-9",
                name="风电项目",
                region="某旗",
                sector="能源",
                investment_yi=Decimal("12.5"),
                start_half=1,
                start_year=2026,
            )
        )

    world.db.call(add)
    chat = -1010
    admin = world.actor(ADMIN, chat)
    with pytest.raises(UnknownProject):
        world.db.call(bind_help_chat, actor=admin, chat_id=chat, project_code="L-404", now=NOW)
    bound = world.db.call(bind_help_chat, actor=admin, chat_id=chat, project_code="L-9", now=NOW)
    assert (bound.kind, bound.project_code) == ("help", "L-9")
    from sqlmodel import select

    project = world.db.call(lambda session: session.exec(select(Project).where(Project.code == "L-9")).one())
    assert project.help_chat_id == chat


def test_escalation_needs_a_bound_active_department_group(database) -> None:
    world = make_world(database, NOW)
    t = _ticket(world)
    with pytest.raises(NotBound):
        world.db.call(tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="water", now=NOW)
    assert world.db.call(mark_chat_gone, chat_id=DEPT_CHAT, now=NOW) is True  # bot kicked: 403
    with pytest.raises(NotBound):
        world.db.call(
            tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=NOW
        )
    # The department binds a new group: the old one is retired, escalation goes there.
    admin = world.actor(ADMIN, supergroup_id(1030))
    world.db.call(
        bind_department_chat, actor=admin, chat_id=supergroup_id(1030), department_key="natural_resources", now=NOW
    )
    esc = world.db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=NOW
    )
    assert esc.department_chat_id == supergroup_id(1030)
    assert world.db.call(tickets.get_ticket, ticket_id=t.id).status.value == "escalated"
    # The kicked chat's people are no longer department members there.
    assert world.actor(DEPT_MEMBER + 100, DEPT_CHAT).role is Role.enterprise
    world.db.call(unbind_chat, actor=world.actor(ADMIN, supergroup_id(1030)), chat_id=supergroup_id(1030), now=NOW)
    assert world.actor(DEPT_MEMBER + 101, supergroup_id(1030)).role is Role.enterprise


def test_callback_data_round_trip_and_garbage() -> None:
    press = callbacks.decode(callbacks.encode("escalate", 42, "natural_resources"))
    assert press == callbacks.TicketPress(Action.escalate, 42, "natural_resources")
    for junk in (
        None,
        "",
        "t:claim",
        "t:claim:-1",
        "t:claim:abc",
        "x:claim:1",
        "t:fly:1",
        "t:claim:1:a:b",
        "t:claim:+1",
        "t:claim:99999999999999999999999",
        "t:claim:٣",
    ):
        assert callbacks.decode(junk) is None
    with pytest.raises(ValueError):
        callbacks.encode("claim", 1, "d" * 64)
