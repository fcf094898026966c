"""Renderers escape user text and read the clock in business minutes; the throttle."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

import texts
from desk import render, tickets
from desk.errors import (
    AlreadyClaimed,
    EmptyAnswer,
    InvalidTransition,
    NotBound,
    PermissionDenied,
    TicketNotFound,
    UnknownDepartment,
    UnknownProject,
)
from desk.sla import sweep
from desk.throttle import Throttle
from tests.desk_helpers import HELP_CHAT, HOURS, LEAD_CHAT, STEWARD_CHAT, at, make_world
from tests.texts_match import says
from tests.updates import user_id

EVIL = '<b>急</b> & <a href="x">点我</a>'
DEPTS = {"natural_resources": "自然资源局"}


@pytest.fixture
def world(database):
    return make_world(database, at(3, 2, 10, 0))


def _ticket(world):
    return world.db.call(
        tickets.create_ticket,
        now=world.clock.now,
        hours=HOURS,
        sla_minutes=30,
        help_chat_id=HELP_CHAT,
        asker_user_id=user_id(9),
        asker_name="<张>",
        help_message_id=3,
        question=EVIL,
        candidates=[{"key": "eia", "title": "环评<审批>", "score": 0.4}],
    )


def test_card_escapes_user_text_and_shows_time_left(world) -> None:
    t = _ticket(world)
    card = render.ticket_card(t, now=at(3, 2, 10, 12), hours=HOURS)
    assert "<a href" not in card and '&lt;b&gt;急&lt;/b&gt; &amp; &lt;a href="x"&gt;' in card
    assert "&lt;张&gt;" in card and "环评&lt;审批&gt;" in card
    left = texts.DESK_DURATION_MINUTES.format(minutes=18)
    assert says(texts.DESK_CLOCK_LEFT, card, left=left, due="3月2日（周一）10:30")
    assert "P-001" in card and texts.DESK_STATUS["open"] in card and says(texts.DESK_CARD, card, ticket_id=t.id)
    assert texts.DESK_HOLDER_NOBODY in card


def test_clock_lines(world) -> None:
    world.clock.set(at(3, 2, 11, 50))
    before_lunch = _ticket(world)
    paused = render.clock(before_lunch, now=at(3, 2, 12, 30), hours=HOURS)
    assert paused == texts.DESK_CLOCK_PAUSED.format(opens_at="3月2日（周一）13:30", due="3月2日（周一）13:50")
    world.clock.set(at(3, 2, 10, 0))
    t = _ticket(world)
    over = texts.DESK_DURATION_HOURS.format(hours=1, minutes=5)
    assert says(texts.DESK_CLOCK_OVERDUE, render.clock(t, now=at(3, 2, 11, 35), hours=HOURS), over=over)
    relay = world.db.call(tickets.answer, ticket_id=t.id, actor=world.steward, text="<答>", now=at(3, 2, 10, 7))
    took = texts.DESK_DURATION_MINUTES.format(minutes=7)
    assert says(texts.DESK_CLOCK_ANSWERED, render.clock(relay.ticket, now=at(3, 2, 11), hours=HOURS), took=took)
    assert render.relay_confirmation(relay, hours=HOURS) == texts.DESK_RELAY_CONFIRM_FIRST.format(
        project="P-001", ticket_id=t.id, took=took
    )
    assert "&lt;答&gt;" in render.relayed_answer(relay, responder_role="steward")
    dept_text = render.relayed_answer(
        relay, responder_role="department", department_key="natural_resources", departments=DEPTS
    )
    assert dept_text.startswith(texts.DESK_RELAYED_ANSWER.format(responder="自然资源局", answer=""))


def test_escalation_card_carries_the_thread(world) -> None:
    t = _ticket(world)
    world.db.call(
        tickets.attach_follow_up,
        help_chat_id=HELP_CHAT,
        asker_user_id=user_id(9),
        text="<补充>",
        now=at(3, 2, 10, 2),
        asker_name="<张>",
    )
    esc = world.db.call(
        tickets.escalate, ticket_id=t.id, actor=world.steward, department_key="natural_resources", now=at(3, 2, 10, 3)
    )
    card = render.escalation_card(esc, now=at(3, 2, 10, 3), hours=HOURS, departments=DEPTS, note="<请>")
    assert "自然资源局" in card and "&lt;补充&gt;" in card and "&lt;请&gt;" in card
    assert texts.DESK_CARD_HINT_DEPARTMENT in card and "环评&lt;审批&gt;" not in card
    assert render.escalated_notice(esc, departments=DEPTS) == texts.DESK_ESCALATED.format(
        ticket_id=t.id, department="自然资源局"
    )


def test_warning_and_breach_texts(world) -> None:
    t = _ticket(world)
    world.db.call(tickets.claim, ticket_id=t.id, actor=world.steward, now=at(3, 2, 10, 1))
    (warn,) = world.db.call(sweep, now=at(3, 2, 10, 22), hours=HOURS, warn_before_minutes=10)
    assert says(
        texts.DESK_WARNING, render.warning(warn, hours=HOURS), left=texts.DESK_DURATION_MINUTES.format(minutes=8)
    ) and "王管家" in render.warning(warn, hours=HOURS)
    (breach,) = world.db.call(
        sweep,
        now=at(3, 2, 10, 30),
        hours=HOURS,
        warn_before_minutes=10,
        steward_chat_id=STEWARD_CHAT,
        lead_chat_id=LEAD_CHAT,
    )
    alert = render.breach_alert(breach, hours=HOURS)
    assert says(texts.DESK_BREACH_ALERT, alert) and "王管家" in alert and "&lt;b&gt;急" in alert
    assert "10:30" in render.breach_notice(breach, hours=HOURS)


def test_error_messages_are_chinese_and_leak_nothing() -> None:
    cases = [
        (TicketNotFound(5), texts.DESK_ERR_NOT_FOUND.format(ticket_id=5)),
        (PermissionDenied("close", "internal reason"), texts.DESK_ERR_PERMISSION),
        (InvalidTransition(5, "closed", "claimed"), texts.DESK_STATUS["closed"]),
        (AlreadyClaimed(5, "<王>"), "&lt;王&gt;"),
        (NotBound("department", "natural_resources"), "/bind_dept natural_resources"),
        (NotBound("chat", 1), texts.DESK_ERR_CHAT_NOT_BOUND),
        (UnknownProject("<x>"), "&lt;x&gt;"),
        (UnknownDepartment("y"), "「y」"),
        (EmptyAnswer(), texts.DESK_ERR_EMPTY_ANSWER),
    ]
    for exc, expected in cases:
        message = render.error_message(exc, departments=DEPTS)
        assert expected in message and "internal" not in message


def test_throttle_is_a_token_bucket_on_an_injected_clock() -> None:
    throttle = Throttle(per_minute=6, burst=3)  # one token every 10 s
    t0 = at(3, 2, 10, 0)
    assert [throttle.check(1, t0).allowed for _ in range(3)] == [True, True, True]
    refused = throttle.check(1, t0)
    assert not refused.allowed and refused.first_refusal
    assert refused.retry_after_seconds == pytest.approx(10)
    assert render.throttled_notice(refused) == texts.DESK_THROTTLED.format(seconds=10)
    again = throttle.check(1, t0 + timedelta(seconds=5))
    assert not again.allowed and not again.first_refusal  # say "slow down" once
    assert throttle.check(2, t0).allowed  # other users are not affected
    assert throttle.check(1, t0 + timedelta(seconds=10)).allowed
    assert not throttle.check(1, t0 + timedelta(seconds=11)).allowed
    assert throttle.check(1, t0 + timedelta(minutes=10)).allowed  # refilled, capped at burst
    assert [throttle.check(1, t0 + timedelta(minutes=10)).allowed for _ in range(3)] == [True, True, False]
    assert not throttle.check(1, t0).allowed  # a clock going back refills nothing
    small = Throttle(per_minute=1, burst=1, max_keys=2)
    for key in range(5):
        small.check(key, t0)
    assert len(small) == 2
    with pytest.raises(ValueError):
        Throttle(per_minute=0)


def test_the_throttle_counts_a_message_once() -> None:
    throttle = Throttle(per_minute=6, burst=2, max_messages=2)
    t0 = at(3, 2, 10, 0)
    assert throttle.check(1, t0, message=(HELP_CHAT, 1)).allowed
    assert throttle.check(1, t0, message=(HELP_CHAT, 1)).allowed  # handled again: not counted
    assert throttle.check(1, t0, message=(HELP_CHAT, 2)).allowed
    refused = throttle.check(1, t0, message=(HELP_CHAT, 3))
    assert not refused.allowed and refused.first_refusal
    again = throttle.check(1, t0, message=(HELP_CHAT, 3))
    assert not again.allowed and not again.first_refusal  # the same refusal, said once
    assert throttle.check(1, t0, message=(HELP_CHAT, 1)).allowed is False  # forgotten (max_messages): counted anew


def _breaches(world, count: int, question: str = "用地预审要多久？"):
    for n in range(count):
        world.db.call(
            tickets.create_ticket,
            now=world.clock.now,
            hours=HOURS,
            sla_minutes=30,
            help_chat_id=HELP_CHAT,
            asker_user_id=user_id(100 + n),
            asker_name=f"企业{n}",
            help_message_id=10 + n,
            question=f"{question}（{n}）",
        )
    return world.db.call(
        sweep,
        now=at(3, 2, 10, 30),
        hours=HOURS,
        warn_before_minutes=0,
        steward_chat_id=STEWARD_CHAT,
        lead_chat_id=LEAD_CHAT,
    )


def test_a_digest_lists_every_ticket_escaped_and_mentions_the_holders(world) -> None:
    alerts = _breaches(world, 3, question=EVIL)
    lead = [(a, r) for a in alerts for r in a.recipients if r.chat_id == LEAD_CHAT]
    (digest,) = render.sla_digest(lead, hours=HOURS)
    assert says(texts.DESK_DIGEST_BREACH_HEAD, digest, count=3)
    for alert in alerts:
        assert says(texts.DESK_DIGEST_BREACH_ITEM, digest, ticket_id=alert.ticket.id)
    assert "&lt;b&gt;急" in digest and "<a href" not in digest and texts.DESK_DIGEST_HINT not in digest
    stewards = [
        (a, replace(r, mention_user_id=user_id(7))) for a in alerts for r in a.recipients if r.chat_id == STEWARD_CHAT
    ]
    (notice,) = render.sla_digest(stewards, hours=HOURS)
    assert texts.DESK_DIGEST_HINT in notice and notice.count("tg://user?id=") == 1  # each holder once


def test_a_long_digest_is_split_at_telegrams_limit_between_tickets(world) -> None:
    alerts = _breaches(world, 40, question="项" * 300)  # each question clipped, still ~40 long items
    lead = [(a, r) for a in alerts for r in a.recipients if r.chat_id == LEAD_CHAT]
    parts = render.sla_digest(lead, hours=HOURS)
    assert len(parts) >= 2
    assert all(len(p.encode("utf-16-le")) // 2 <= render.MESSAGE_LIMIT for p in parts)
    assert says(texts.DESK_DIGEST_CONTINUED, parts[1], part=2)
    listed = [int(n) for p in parts for n in re.findall(r"工单 #(\d+)", p)]
    assert listed == [a.ticket.id for a in alerts]  # each ticket once, in order
