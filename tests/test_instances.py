"""Several instances on one database: the scheduler lease (one holder, renewal, takeover after
expiry, release) on SQLite and PostgreSQL, and shared facts changed by one application seen by
another at its next update (two real Applications, one database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlmodel import select

import texts
from bot.app import build_application, stop_delivery
from bot.ingest import accept_update
from bot.leader import SchedulerLeader
from bot.telegram_io import services_of_app
from config import Settings
from delivery.inbox import InboxUpdate
from storage import Database
from storage.lease import SCHEDULER_LEASE, acquire_lease, lease_holder, release_lease
from tests.delivery_helpers import delivered
from tests.recording_request import RecordingRequest
from tests.texts_match import said
from tests.updates import message_update, supergroup_id, user_id

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
HELP = supergroup_id(6_001)
DEPT_CHAT = supergroup_id(6_002)
STEWARD_CHAT = supergroup_id(6_003)
ADMIN = user_id(6_001)
ENTERPRISE = user_id(6_002)
DEPT_MEMBER = user_id(6_003)


@pytest.fixture
def db(database: Database) -> Database:
    return database


def _take(db: Database, holder: str, now: datetime, seconds: float = 30) -> bool:
    return db.call(acquire_lease, name=SCHEDULER_LEASE, holder=holder, now=now, seconds=seconds)


def test_one_holder_renews_and_another_takes_over_only_after_expiry(db: Database) -> None:
    assert _take(db, "a", T0)
    assert not _take(db, "b", T0 + timedelta(seconds=1))
    assert _take(db, "a", T0 + timedelta(seconds=20))  # renewed: now runs to T0+50 s
    assert not _take(db, "b", T0 + timedelta(seconds=45))
    assert db.call(lease_holder, name=SCHEDULER_LEASE, now=T0 + timedelta(seconds=45)) == "a"
    # a dies: its lease runs out and b takes it; a cannot come back while b renews
    assert _take(db, "b", T0 + timedelta(seconds=51))
    assert not _take(db, "a", T0 + timedelta(seconds=52))
    assert db.call(lease_holder, name=SCHEDULER_LEASE, now=T0 + timedelta(seconds=52)) == "b"


def test_a_released_lease_is_taken_at_once(db: Database) -> None:
    assert _take(db, "a", T0)
    db.call(release_lease, name=SCHEDULER_LEASE, holder="b")  # not b's to release
    assert not _take(db, "b", T0 + timedelta(seconds=1))
    db.call(release_lease, name=SCHEDULER_LEASE, holder="a")
    assert db.call(lease_holder, name=SCHEDULER_LEASE, now=T0 + timedelta(seconds=1)) is None
    assert _take(db, "b", T0 + timedelta(seconds=1))


async def test_the_leader_pauses_its_jobs_when_the_lease_is_lost(db: Database) -> None:
    now = [T0]
    events: list[str] = []

    def leader(name: str) -> SchedulerLeader:
        return SchedulerLeader(
            db=db,
            name=name,
            seconds=30,
            clock=lambda: now[0],
            on_gain=lambda: events.append(f"{name}+"),
            on_loss=lambda: events.append(f"{name}-"),
        )

    a, b = leader("a"), leader("b")
    assert await a.step() and not await b.step()
    assert a.holds_now() and not b.holds_now()
    now[0] = T0 + timedelta(seconds=31)  # a stopped renewing (it hung); b takes over
    assert not a.holds_now()  # its claim ran out, whatever its last step said
    assert await b.step()
    assert not await a.step()  # a notices and stops its jobs
    await b.release()
    assert await a.step()
    assert events == ["a+", "b+", "a-", "a+"]
    assert await a.current_holder() == "a"


@pytest.fixture
async def two_apps(db: Database, clock):
    """Two Applications (two bot instances) on one database."""
    settings = Settings(
        _env_file=None,
        telegram_bot_token="123456:TEST",
        database_url=db.url,
        steward_chat_id=STEWARD_CHAT,
        admin_user_ids=[ADMIN],
        business_hours="24x7",
    )
    apps = []
    for _ in range(2):
        request = RecordingRequest()
        application = build_application(settings, clock=clock, request=request, rate_limit=False)
        application.bot_data["request"] = request
        await application.initialize()
        await application.post_init(application)  # type: ignore[misc]
        apps.append(application)
    yield apps
    for application in apps:
        await application.shutdown()


async def _say(application, text: str, *, chat: int, user: int, reply_to=None, apps=None) -> list[str]:
    """Feed one update to `application`; return what was sent for it. Every instance runs an
    outbox sender on the shared database, so what one instance owes may go out through the
    other's (pass both as `apps`): collect the sends of all of them."""
    requests: list[RecordingRequest] = [a.bot_data["request"] for a in (apps or [application])]
    for request in requests:
        request.clear()
    await application.process_update(
        message_update(application.bot, chat_id=chat, user_id=user, text=text, reply_to=reply_to)
    )
    for each in apps or [application]:
        await delivered(each)
    return [str(c.params.get("text")) for request in requests for c in request.sent()]


async def test_a_department_bound_through_one_instance_is_known_to_the_other_at_once(two_apps) -> None:
    first, second = two_apps
    # The second instance has seen the department group before it was bound: a help group to it.
    assert any(
        texts.ASPECT["materials"] in t
        for t in await _say(second, "环评要什么材料？", chat=DEPT_CHAT, user=DEPT_MEMBER, apps=two_apps)
    )
    assert any(
        "发展和改革委员会" in t
        for t in await _say(first, "/bind_dept 发改委", chat=DEPT_CHAT, user=ADMIN, apps=two_apps)
    )
    # Now it is a staff chat on both: its members' questions are not answered as an enterprise's.
    assert await _say(second, "环评要什么材料？", chat=DEPT_CHAT, user=DEPT_MEMBER, apps=two_apps) == []


async def test_an_answer_learned_through_one_instance_is_used_by_the_other(two_apps) -> None:
    first, second = two_apps
    question = "园区里的临时用电找谁申请比较快"
    services = first.bot_data["services"]
    await services.knowledge.learn(
        question=question, answer="请联系供电公司客户经理办理临时用电。", item=None, created_by=user_id(6_004)
    )
    replies = await _say(second, question, chat=HELP, user=ENTERPRISE, apps=two_apps)
    assert any("供电公司客户经理" in t for t in replies), replies


async def test_an_answer_learned_again_through_one_instance_replaces_the_others_copy(two_apps, clock) -> None:
    """Learning a ticket's question again replaces its entry in place (same id, same count):
    the other instance must still see the new answer and scope."""
    first, second = two_apps
    question = "园区里的临时用电找谁申请比较快"
    services = first.bot_data["services"]

    async def learn(answer: str, project_code: str | None) -> None:
        clock.advance(minutes=5)  # a steward learns again a while later
        await services.knowledge.learn(
            question=question,
            answer=answer,
            item=None,
            created_by=user_id(6_004),
            ticket_id=7,
            project_code=project_code,
        )

    await learn("请联系供电公司客户经理办理临时用电。", None)
    assert any("供电公司客户经理" in t for t in await _say(second, question, chat=HELP, user=ENTERPRISE, apps=two_apps))

    await learn("临时用电请在网上国网App提交申请。", None)  # a new answer
    replies = await _say(second, question, chat=HELP, user=ENTERPRISE, apps=two_apps)
    assert any("网上国网" in t for t in replies) and not any("供电公司客户经理" in t for t in replies), replies

    await learn("本项目的临时用电请找园区管委会。", "P999")  # a new scope: another project's group only
    replies = await _say(second, question, chat=HELP, user=ENTERPRISE, apps=two_apps)
    assert not any("网上国网" in t or "园区管委会" in t for t in replies), replies


# --------------------------------------------------------------------------- cached facts, invalidated on change

STEWARD = user_id(6_004)
OTHER_HELP = supergroup_id(6_004)


async def test_a_person_seen_as_staff_through_one_instance_is_staff_to_the_other_at_once(two_apps) -> None:
    first, second = two_apps
    # The second instance has cached the staff (nobody yet): the person's question is answered.
    assert any(
        texts.ASPECT["materials"] in t
        for t in await _say(second, "环评要什么材料？", chat=HELP, user=STEWARD, apps=two_apps)
    )
    # The person writes in the steward group through the first instance: remembered as a steward.
    await _say(first, "我来看看今天的工单", chat=STEWARD_CHAT, user=STEWARD, apps=two_apps)
    # The second instance's next update sees the role: a steward's question in a help group is left alone.
    assert await _say(second, "环评要什么材料？", chat=HELP, user=STEWARD, apps=two_apps) == []
    assert second.bot_data["services"].facts.may_be_staff(STEWARD, ())


async def test_a_help_group_bound_through_one_instance_answers_from_its_project_on_the_other(
    two_apps, db: Database, tmp_path
) -> None:
    from ledger.importer import import_file
    from tests.ledger_support import ledger_row, write_xlsx

    first, second = two_apps
    rows = [
        ledger_row(项目代码="P001", 项目名称="甲项目", 手续="环评", 受理日期="2026-03-02", days=5),
        ledger_row(项目代码="P002", 项目名称="乙项目", 手续="环评", 受理日期="2026-03-05", days=5),
    ]
    db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", rows))
    question = "我们环评办到哪一步了"
    await _say(first, "/bind P001", chat=OTHER_HELP, user=ADMIN, apps=two_apps)
    (status,) = await _say(second, question, chat=OTHER_HELP, user=ENTERPRISE, apps=two_apps)
    assert "2026-03-02" in status and "2026-03-05" not in status
    # Bound to the other project through the first instance: the second answers from it at once.
    await _say(first, "/bind P002", chat=OTHER_HELP, user=ADMIN, apps=two_apps)
    (status,) = await _say(second, question, chat=OTHER_HELP, user=ENTERPRISE, apps=two_apps)
    assert "2026-03-05" in status and "2026-03-02" not in status
    # Unbound through the first: no project on the second, the question goes to a steward.
    await _say(first, "/unbind", chat=OTHER_HELP, user=ADMIN, apps=two_apps)
    replies = await _say(second, question, chat=OTHER_HELP, user=ENTERPRISE, apps=two_apps)
    assert said(texts.HANDOFF_ACK, replies) and not any("2026-03-0" in t for t in replies), replies


async def test_a_version_moves_only_with_a_committed_change(db: Database) -> None:
    from desk.bindings import bind_department_chat
    from desk.models import Role
    from desk.roles import Actor, resolve_role
    from storage.versions import read_versions

    admin = Actor(user_id=ADMIN, chat_id=None, role=Role.admin)

    def bind(*, session) -> None:
        bind_department_chat(session=session, actor=admin, chat_id=DEPT_CHAT, department_key="fgw", now=T0)

    def bind_then_fail(*, session) -> None:
        bind(session=session)
        raise RuntimeError("rolled back")

    before = dict(db.call(read_versions))
    with pytest.raises(RuntimeError):
        db.call(bind_then_fail)
    assert dict(db.call(read_versions)) == before  # the change and its version roll back together
    db.call(bind)
    after = dict(db.call(read_versions))
    assert after["bindings"] == before["bindings"] + 1 and after["staff"] == before["staff"]
    # A Core statement counts too: a person first seen in the department group (an upsert).
    db.call(resolve_role, user_id=DEPT_MEMBER, chat_id=DEPT_CHAT, now=T0, steward_chat_id=STEWARD_CHAT)
    assert dict(db.call(read_versions))["staff"] == after["staff"] + 1


async def test_a_procedure_changed_anywhere_is_answered_as_it_now_stands(two_apps, db: Database, tmp_path) -> None:
    """The status answer reads the project's procedures from the cached facts; any change to a procedure (here
    an ORM update outside both instances, as a ledger command makes) bumps the ledger's version, so both
    instances answer from the new row at once."""
    from ledger.importer import import_file
    from ledger.models import Procedure
    from tests.ledger_support import ledger_row, write_xlsx

    first, second = two_apps
    rows = [ledger_row(项目代码="P001", 项目名称="甲项目", 手续="环评", 受理日期="2026-03-02", days=5)]
    db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", rows))
    question = "我们环评办到哪一步了"
    await _say(first, "/bind P001", chat=OTHER_HELP, user=ADMIN, apps=two_apps)
    for app in (first, second):  # each instance's copy now holds the procedures
        (status,) = await _say(app, question, chat=OTHER_HELP, user=ENTERPRISE, apps=two_apps)
        assert "2026-03-02" in status

    def accepted_later(*, session) -> None:
        (eia,) = session.exec(select(Procedure).where(Procedure.item_key == "eia")).all()
        eia.accepted_on = date(2026, 3, 9)
        session.add(eia)

    db.call(accepted_later)
    for app in (first, second):
        (status,) = await _say(app, question, chat=OTHER_HELP, user=ENTERPRISE, apps=two_apps)
        assert "2026-03-09" in status and "2026-03-02" not in status


def test_a_transaction_that_checked_an_older_version_does_not_fill_the_newer_copy(db: Database, tmp_path) -> None:
    """Two transactions in flight (DB_TRANSACTIONS_IN_FLIGHT > 1): one checks the facts, then another checks a
    newer version (a procedure changed) and empties the copy; what the first reads afterwards is not kept for the
    newer version's transactions, which read the project again."""
    from bot.shared_facts import SharedFacts
    from ledger.importer import import_file
    from ledger.models import Procedure
    from tests.ledger_support import ledger_row, write_xlsx

    rows = [ledger_row(项目代码="P001", 项目名称="甲项目", 手续="环评", 受理日期="2026-03-02", days=5)]
    db.call(import_file, path=write_xlsx(tmp_path / "ledger.xlsx", rows))
    facts = SharedFacts()
    with db.session() as older:
        facts.check(older)

        def accepted_later(*, session) -> None:
            (eia,) = session.exec(select(Procedure).where(Procedure.item_key == "eia")).all()
            eia.accepted_on = date(2026, 3, 9)
            session.add(eia)

        db.call(accepted_later)
        with db.session() as newer:
            facts.check(newer)  # the newer version: the copy is emptied
        facts.procedures(older, "P001")  # read by the older transaction: not kept (it may have read older rows)
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_) -> None:
        reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as newest:
            facts.check(newest)
            procedures = facts.procedures(newest, "P001")
            assert procedures is not None and procedures["eia"].accepted_on == date(2026, 3, 9)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert any("ledger_procedure" in r for r in reads)  # the newer version's transaction read the project itself


def _instance(db: Database, clock, name: str):
    settings = Settings(
        _env_file=None,
        telegram_bot_token="123456:TEST",
        database_url=db.url,
        business_hours="24x7",
        instance_name=name,
        inbox_lease_seconds=30,
    )
    return build_application(settings, clock=clock, request=RecordingRequest(), rate_limit=False)


def _queued(application) -> list[int]:
    """The update ids waiting in the application's queue (not started: nothing takes them)."""
    ids: list[int] = []
    while not application.update_queue.empty():
        ids.append(application.update_queue.get_nowait().update_id)
    return ids


async def test_a_starting_instance_leaves_the_updates_a_live_instance_is_handling(db: Database, clock) -> None:
    # a deploy starts the new instance before the old one stops (or a webhook worker starts beside others): at
    # start-up it replayed every update stored and not yet processed, the live instance's too, so those were
    # answered twice
    old = _instance(db, clock, "old")
    await old.initialize()
    updates = [message_update(old.bot, chat_id=HELP, user_id=ENTERPRISE, text=f"环评要多久{n}") for n in range(2)]
    for update in updates:
        await accept_update(old, update)  # stored and queued: the old instance is in the middle of them
    new = _instance(db, clock, "new")
    await new.initialize()
    await new.post_init(new)  # start-up: the inbox's replay
    try:
        assert _queued(new) == []
        inbox = services_of_app(new).delivery.inbox
        clock.advance(seconds=20)
        await services_of_app(old).delivery.inbox.beat()  # the old instance renews its lease: still alive
        clock.advance(seconds=20)
        assert await inbox.beat() == 0 and _queued(new) == []
        clock.advance(seconds=11)  # the old instance died 31 s after its last renewal: its updates are taken over
        await inbox.beat()
        assert _queued(new) == [u.update_id for u in updates]
        assert await inbox.beat() == 0  # once
    finally:
        await stop_delivery(new)
        await new.shutdown()
        await old.shutdown()


async def test_a_clean_stop_hands_what_it_did_not_process_over_at_once(db: Database, clock) -> None:
    first, second = _instance(db, clock, "first"), _instance(db, clock, "second")
    for application in (first, second):
        await application.initialize()
        await application.post_init(application)
    update = message_update(first.bot, chat_id=HELP, user_id=ENTERPRISE, text="环评要多久")
    await accept_update(first, update)
    assert await services_of_app(second).delivery.inbox.beat() == 0
    await stop_delivery(first)  # stopped before it got to the update: its lease released with the stop
    try:
        assert await services_of_app(second).delivery.inbox.beat() == 1
        assert _queued(second) == [update.update_id]
    finally:
        await stop_delivery(second)
        for application in (first, second):
            await application.shutdown()


async def test_a_restart_after_a_crash_replays_once_the_dead_runs_lease_is_out(db: Database, clock) -> None:
    crashed = _instance(db, clock, "bot")
    await crashed.initialize()
    update = message_update(crashed.bot, chat_id=HELP, user_id=ENTERPRISE, text="环评要多久")
    await accept_update(crashed, update)  # then SIGKILL: no stop, no renewal
    clock.advance(seconds=31)
    restarted = _instance(db, clock, "bot")
    await restarted.initialize()
    await restarted.post_init(restarted)
    try:
        assert _queued(restarted) == [update.update_id]
        stored = db.call(lambda session: session.exec(select(InboxUpdate)).one())
        assert stored.claimed_by == services_of_app(restarted).delivery.inbox.owner and stored.done_at is None
    finally:
        await stop_delivery(restarted)
        await restarted.shutdown()
        await crashed.shutdown()
