"""The numbers on a hand-built set: every count, median and p90 known in advance."""

from __future__ import annotations

import json

import pytest

import texts
from desk import tickets
from desk.render import stats_text
from desk.stats import compute_stats, median, p90
from knowledge.question_log import QuestionLog
from tests.desk_helpers import ALWAYS, HELP_CHAT, HOURS, at, make_world
from tests.texts_match import says

DAY = (3, 2)  # Monday 2 March 2026


def m(hour: int, minute: int = 0):
    return at(*DAY, hour, minute)


@pytest.fixture
def world(database):
    return make_world(database, m(9))


class _OneSession:
    """Calls every function in one transaction (fewer fsyncs: the set builds fast)."""

    def __init__(self, session) -> None:
        self.session = session

    def call(self, fn, **kwargs):
        return fn(session=self.session, **kwargs)


def _build(world) -> None:
    a, b, dept = world.steward, world.steward2, world.dept
    with world.db.session() as session:
        _build_in(_OneSession(session), a, b, dept)


def _build_in(db, a, b, dept) -> None:
    n = iter(range(1000, 2000))

    def new(created):
        return db.call(
            tickets.create_ticket,
            now=created,
            hours=HOURS,
            sla_minutes=30,
            help_chat_id=HELP_CHAT,
            asker_user_id=next(n),
            question="q",
        )

    def ans(t, actor, when):
        db.call(tickets.answer, ticket_id=t.id, actor=actor, text="a", now=when)

    ans(new(m(9)), a, m(9, 5))  # T1: 5 min, in time
    ans(new(m(9)), a, m(9, 20))  # T2: 20 min, in time
    ans(new(m(11, 50)), b, m(13, 40))  # T3: 10 before lunch + 10 after = 20, in time
    ans(new(m(10)), b, m(10, 45))  # T4: 45 min, late
    t5 = new(m(10))  # T5: department, 25 min, in time
    db.call(tickets.escalate, ticket_id=t5.id, actor=a, department_key="natural_resources", now=m(10, 1))
    ans(t5, dept, m(10, 25))
    t6 = new(m(10))  # T6: department, never answered: breached
    db.call(tickets.escalate, ticket_id=t6.id, actor=a, department_key="natural_resources", now=m(10, 1))
    new(m(11, 45))  # T7: still running at 12:00: pending
    t8 = new(m(10))  # T8: closed before its deadline: closed early
    db.call(tickets.close, ticket_id=t8.id, actor=a, now=m(10, 10))
    t9 = new(m(9))  # T9: closed after its deadline: breached
    db.call(tickets.close, ticket_id=t9.id, actor=a, now=m(10))
    old = new(at(2, 25, 9))  # last week: outside the window
    ans(old, a, at(2, 25, 9, 1))

    def log(session):
        rows = [
            ("smalltalk", "你好"),
            ("smalltalk", "在吗"),
            ("answer", "环评材料"),
            ("answer", "施工许可"),
            ("answer", "备案"),
            ("answer", "节能审查"),
            ("clarify:guess", "规划"),  # a guess: one item offered where the bot would have handed off
            ("handoff", "土地出让价格"),
            ("handoff", "土地出让价格"),
            ("handoff", "挖掘许可"),
        ]
        for i, (action, norm) in enumerate(rows):
            action, _, reason = action.partition(":")
            session.add(
                QuestionLog(
                    at=m(9, i),
                    text=norm + "？",
                    normalized=norm,
                    intent="x",
                    confidence=0.5,
                    action=action,
                    reason=reason,
                )
            )
        session.add(
            QuestionLog(at=at(2, 25, 9), text="旧", normalized="旧", intent="x", confidence=0.1, action="handoff")
        )

    db.call(log)


def test_numbers_on_a_hand_built_set(world) -> None:
    _build(world)
    s = world.db.call(compute_stats, hours=HOURS, now=m(12), since=at(*DAY, 0))
    assert (s.opened, s.answered, s.answered_in_time, s.answered_late) == (9, 5, 4, 1)
    assert (s.breached, s.pending, s.closed_early) == (3, 1, 1)  # T4 late, T6, T9
    assert s.compliance_pct == 57.1  # 4 / (4 + 3)
    # first responses: 5, 20, 20, 25, 45 business minutes
    assert s.median_first_response_min == 20
    assert s.p90_first_response_min == 45

    (dept,) = s.by_department
    assert (dept.key, dept.opened, dept.answered_in_time, dept.breached) == ("natural_resources", 2, 1, 1)
    assert (dept.compliance_pct, dept.median_first_response_min, dept.p90_first_response_min) == (50.0, 25, 25)

    stewards = {g.label: g for g in s.by_steward}
    assert set(stewards) == {"王管家", "李管家"}
    wang, li = stewards["王管家"], stewards["李管家"]
    assert (
        wang.answered,
        wang.answered_in_time,
        wang.median_first_response_min,
        wang.p90_first_response_min,
        wang.compliance_pct,
    ) == (2, 2, 12.5, 20, 100.0)
    assert (
        li.answered,
        li.answered_in_time,
        li.breached,
        li.median_first_response_min,
        li.p90_first_response_min,
        li.compliance_pct,
    ) == (2, 1, 1, 32.5, 45, 50.0)

    assert (s.questions, s.auto_answered, s.clarified, s.handed_off) == (8, 4, 1, 3)
    assert s.auto_answer_rate_pct == 50.0
    # a guess is among what to add to the knowledge base, beside the hand-offs
    assert [(h.normalized, h.count) for h in s.top_handoffs] == [("土地出让价格", 2), ("挖掘许可", 1), ("规划", 1)]

    data = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert data["compliance_pct"] == 57.1 and data["by_department"][0]["opened"] == 2
    assert data["since"] == at(*DAY, 0).isoformat()


def test_whole_history_and_an_until_bound(world) -> None:
    _build(world)
    everything = world.db.call(compute_stats, hours=HOURS, now=m(12))
    assert everything.opened == 10 and everything.questions == 9
    # Only last week's ticket, judged as of the end of the window.
    before = world.db.call(compute_stats, hours=HOURS, now=m(12), until=at(*DAY, 0))
    assert (before.opened, before.answered_in_time, before.median_first_response_min) == (1, 1, 1)


def test_clock_of_a_24x7_desk(world) -> None:
    _build(world)
    s = world.db.call(compute_stats, hours=ALWAYS, now=m(12), since=at(*DAY, 0))
    # T3 took 110 wall-clock minutes: with no business hours the median moves.
    assert s.p90_first_response_min == 110


def test_percentile_definitions() -> None:
    assert median([]) is None and p90([]) is None
    assert median([3.0]) == 3 and p90([3.0]) == 3
    assert median([1, 2, 3, 4]) == 2.5
    values = list(range(1, 11))  # 1..10: nearest rank 9
    assert p90(values) == 9
    assert p90(list(range(1, 12))) == 10  # 11 values: ceil(9.9) = 10th


def test_text_and_command_line(world, tmp_path, monkeypatch, capsys) -> None:
    _build(world)
    s = world.db.call(compute_stats, hours=HOURS, now=m(12), since=at(*DAY, 0))
    text = stats_text(s, days=1, departments={"natural_resources": "自然资源局"})
    assert "57.1%" in text and "自然资源局" in text and "土地出让价格" in text
    minutes = texts.DESK_DURATION_MINUTES
    assert minutes.format(minutes=20) in text and minutes.format(minutes=45) in text

    from cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", world.db.url)
    for name in ("BUSINESS_HOURS", "TIMEZONE", "CALENDAR_OVERRIDES_PATH"):
        monkeypatch.delenv(name, raising=False)
    main(["stats", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["opened"] == 10 and data["questions"] == 9
    main(["stats", "--days", "3650"])
    out = capsys.readouterr().out
    period = texts.DESK_STATS_PERIOD_DAYS.format(days=3650)
    assert says(texts.DESK_STATS_TITLE.format(period=period), out)
    assert says(texts.DESK_STATS_SUMMARY, out) and "<b>" not in out
