"""The conversation context table, on SQLite and PostgreSQL: one row per (chat, user), expiry, and two
services (two bot processes) on one database sharing it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import knowledge
import texts
from knowledge.context import Context, contexts, forget_expired, recall_context, remember_context
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher
from knowledge.service import KnowledgeService
from tests.updates import supergroup_id, user_id

CHAT = -1001234567890
WANG, LI = 5000000001, 5000000002  # user ids above 2^32, as Telegram sends them
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


@pytest.fixture
def db(database):
    return database


def test_one_context_per_asker_replaced_and_expiring(db) -> None:
    db.call(remember_context, chat_id=CHAT, user_id=WANG, item="eia", intent="materials", at=NOW)
    db.call(remember_context, chat_id=CHAT, user_id=WANG, item="filing", intent="fee", at=NOW + timedelta(minutes=1))
    db.call(remember_context, chat_id=CHAT, user_id=LI, item="eia", intent="department", at=NOW)
    later = NOW + timedelta(minutes=9)
    assert db.call(recall_context, chat_id=CHAT, user_id=WANG, at=later, ttl=TTL) == Context("filing", "fee", ("eia",))
    assert db.call(recall_context, chat_id=CHAT, user_id=LI, at=later, ttl=TTL) == Context("eia", "department")
    assert db.call(recall_context, chat_id=CHAT + 1, user_id=WANG, at=later, ttl=TTL) is None
    much_later = NOW + timedelta(minutes=10, seconds=30)
    assert db.call(recall_context, chat_id=CHAT, user_id=LI, at=much_later, ttl=TTL) is None
    assert db.call(forget_expired, at=much_later, ttl=TTL) == 1
    assert [(r.user_id, r.item) for r in db.call(contexts)] == [(WANG, "filing")]


BUNDLED = Path(knowledge.__file__).resolve().parent / "data"


async def test_two_services_on_one_database_share_the_context(db) -> None:
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    chat, user = supergroup_id(7), user_id(7)
    first = await one.ask(text="环评要什么材料", chat_id=chat, user_id=user)
    assert (first.result.item, first.result.context) == ("eia", False)
    follow = await other.ask(text="那得多长时间", chat_id=chat, user_id=user)
    assert (follow.result.item, follow.result.intent, follow.result.context) == ("eia", "time_limit", True)
    assert follow.answer_html and texts.ASPECT["time_limit"] in follow.answer_html


async def test_an_out_of_scope_question_leaves_the_context_behind_in_the_database(db) -> None:
    kb = load_knowledge(BUNDLED)
    service = KnowledgeService(kb=kb, matcher=Matcher.trained(kb), db=db, clock=lambda: NOW)
    chat, user = supergroup_id(8), user_id(8)
    await service.ask(text="环评要什么材料", chat_id=chat, user_id=user)
    moved = await service.ask(text="排污许可要交哪些东西", chat_id=chat, user_id=user)
    assert (moved.result.reason, moved.result.leaves_context) == ("out_of_scope", True)
    assert db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL) is None
    follow = await service.ask(text="那要多久", chat_id=chat, user_id=user)  # 排污许可's, not 环评's
    assert (follow.result.item, follow.result.action) == (None, "handoff")
    # a paper of the earlier item, out of scope by its name, keeps the conversation on the item (the rules hand it
    # off; since the read dialogues taught the item model, it reads the paper as 规划核实's outright, where before
    # the follow-up gate read it so)
    await service.ask(text="规划核实要什么材料", chat_id=chat, user_id=user)
    paper = await service.ask(text="竣工测量报告要找有资质的单位吗", chat_id=chat, user_id=user)
    assert (paper.result.item, paper.result.action, paper.result.leaves_context) == (
        "planning_verification",
        "answer",
        False,
    )
    follow = await service.ask(text="那要多久", chat_id=chat, user_id=user)
    assert (follow.result.item, follow.result.intent) == ("planning_verification", "time_limit")


async def test_a_question_without_its_item_is_completed_by_the_item_named_next(db) -> None:
    """「这个要多久」 with nothing before it is handed off; 「环评」 next (here in another process, after the first
    one's row was written) is the item it lacked. The row keeps the intent, with no item."""
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    chat, user = supergroup_id(9), user_id(9)
    asked = await one.ask(text="这个要多久", chat_id=chat, user_id=user)
    assert (asked.result.item, asked.result.action, asked.result.wants_item) == (None, "handoff", True)
    assert db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL) == Context("?", "time_limit")
    named = await other.ask(text="环评", chat_id=chat, user_id=user)
    assert (named.result.item, named.result.intent, named.result.context) == ("eia", "time_limit", True)
    assert named.answer_html and texts.ASPECT["time_limit"] in named.answer_html
    # an earlier item is not given up for a question that lacks one: the follow-up logic keeps it
    await one.ask(text="水保方案要什么材料", chat_id=chat, user_id=user)
    await one.ask(text="好的收到", chat_id=chat, user_id=user)
    follow = await one.ask(text="那要多久", chat_id=chat, user_id=user)
    assert (follow.result.item, follow.result.intent) == ("soil_water", "time_limit")


async def test_the_conversations_earlier_items_are_kept_with_the_context(db) -> None:
    """The items before the last (most recent first, two at most) are kept in the row, so 「这两个能一起报吗」 in
    another process names both; a choice from clarify buttons moves the previous item into them."""
    from knowledge.context import following

    assert following(Context("eia", "fee"), Context("soil_water", "fee")) == Context("soil_water", "fee", ("eia",))
    kept = following(Context("soil_water", "fee", ("eia", "filing")), Context("energy_review", "fee"))
    assert kept == Context("energy_review", "fee", ("soil_water", "eia"))
    assert following(Context("eia", "fee"), Context("eia", "time_limit")) == Context("eia", "time_limit")
    assert following(None, Context("eia", "fee")) == Context("eia", "fee")
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    chat, user = supergroup_id(10), user_id(10)
    await one.ask(text="压覆矿产审批要多久", chat_id=chat, user_id=user)
    await one.ask(text="地灾评估呢", chat_id=chat, user_id=user)
    assert db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL) == Context(
        "geo_hazard", "time_limit", ("mineral_overlay",)
    )
    both = await other.ask(text="这两个能一起报吗", chat_id=chat, user_id=user)
    assert [a.item for a in both.result.asks] == ["parallel", "mineral_overlay", "geo_hazard"]
    db.call(remember_context, chat_id=chat, user_id=user, item="eia", intent="materials", at=NOW)
    chosen = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert chosen is not None and chosen.item == "eia" and chosen.earlier[0] == "geo_hazard"


async def test_a_together_question_is_kept_as_such_in_the_database(db) -> None:
    """After 「预审跟环评能同时报不」 the row says the question was whether procedures run together, so another
    process reads 「那多久」 as the procedure's time limit; a choice from clarify buttons is one item again."""
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    chat, user = supergroup_id(11), user_id(11)
    await one.ask(text="预审跟环评能同时报不", chat_id=chat, user_id=user)
    kept = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert kept is not None and kept.item == "parallel" and kept.together and kept.earlier[0] == "land_prereview"
    later = await other.ask(text="那多久", chat_id=chat, user_id=user)
    assert (later.result.item, later.result.intent) == ("land_prereview", "time_limit")
    db.call(remember_context, chat_id=chat, user_id=user, item="eia", intent="materials", at=NOW)
    chosen = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert chosen is not None and not chosen.together


async def test_items_asked_at_once_keep_their_order_in_the_database(db) -> None:
    """「用地预审和工规证分别找谁」 leaves both items in the order written (Context.at_once), so another process reads
    「第一个多久能出」 as 用地预审; a follow-up on the first keeps the order."""
    from knowledge.context import following

    at_once = Context("land_prereview", "department", ("engineering_planning",), at_once=1)
    assert at_once.recent(2) == ("land_prereview", "engineering_planning")
    assert Context("geo_hazard", "fee", ("mineral_overlay",)).recent(2) == ("mineral_overlay", "geo_hazard")
    assert following(at_once, Context("land_prereview", "time_limit"), borrowed=True) == Context(
        "land_prereview", "time_limit", ("engineering_planning",), at_once=1
    )
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    chat, user = supergroup_id(12), user_id(12)
    await one.ask(text="我们现在要办用地预审和工规证 这俩分别找谁", chat_id=chat, user_id=user)
    assert db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL) == at_once
    # a new item after them: the two before it, the later first (「前面那个」 is 工规证)
    three = following(Context("a", "x", ("b", "c"), at_once=2), Context("d", "x"))
    assert three.recent(3) == ("b", "c", "d")
    after_new = following(at_once, Context("eia", "time_limit"))
    assert after_new is not None and after_new.recent(2) == ("engineering_planning", "eia")
    first = await other.ask(text="第一个多久能出", chat_id=chat, user_id=user)
    assert (first.result.item, first.result.intent) == ("land_prereview", "time_limit")
    second = await one.ask(text="后面那个要钱不", chat_id=chat, user_id=user)
    assert (second.result.item, second.result.intent) == ("engineering_planning", "fee")


async def test_a_choice_from_buttons_keeps_the_order_of_items_asked_at_once(db) -> None:
    """remember_context (a clarify button pressed) reads the row's at_once: the items asked at once stay in the
    order written behind the item chosen."""
    chat, user = supergroup_id(13), user_id(13)
    kb = load_knowledge(BUNDLED)
    service = KnowledgeService(kb=kb, matcher=Matcher.trained(kb), db=db, clock=lambda: NOW)
    await service.ask(text="我们现在要办用地预审和工规证 这俩分别找谁", chat_id=chat, user_id=user)
    db.call(remember_context, chat_id=chat, user_id=user, item="eia", intent="materials", at=NOW)
    chosen = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert chosen is not None and chosen.recent(3) == ("land_prereview", "engineering_planning", "eia")
    assert not chosen.together and chosen.at_once == 0


def test_an_item_picked_by_its_place_keeps_the_order() -> None:
    """following(by_place=True): the item picked first, those asked after it in order, those before it after."""
    from knowledge.context import following

    before = Context("engineering_planning", "materials", ("land_use_planning",))
    picked = following(before, Context("land_use_planning", "time_limit"), by_place=True)
    assert picked is not None and picked.item == "land_use_planning"
    assert picked.recent(2) == ("land_use_planning", "engineering_planning")
    # without by_place the item asked again is the latest
    again = following(before, Context("land_use_planning", "time_limit"))
    assert again is not None and again.recent(2) == ("engineering_planning", "land_use_planning")


async def test_a_choice_offered_is_kept_until_a_button_is_pressed(db) -> None:
    """After a clarify the row says a choice was offered (Context.offered, the first two candidates), so another
    process offers it again for 「办证要带啥材料」; pressing a button (remember_context) makes it one item."""
    chat, user = supergroup_id(14), user_id(14)
    kb = load_knowledge(BUNDLED)
    matcher = Matcher.trained(kb)
    one, other = (KnowledgeService(kb=kb, matcher=matcher, db=db, clock=lambda: NOW) for _ in range(2))
    asked = await one.ask(text="出让合同签完 多久能领不动产证", chat_id=chat, user_id=user)
    assert asked.result.action == "clarify"
    kept = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert kept is not None and kept.offered and kept.item == "property_cert"
    again = await other.ask(text="办证要带啥材料", chat_id=chat, user_id=user)
    assert (again.result.action, again.result.item, again.result.intent) == ("clarify", "property_cert", "materials")
    db.call(remember_context, chat_id=chat, user_id=user, item="property_cert", intent="materials", at=NOW)
    chosen = db.call(recall_context, chat_id=chat, user_id=user, at=NOW, ttl=TTL)
    assert chosen is not None and not chosen.offered


@pytest.mark.parametrize(
    ("question", "pressed", "pointing", "meant"),
    [
        # 建设用地规划许可证 is written first and offered second (工程规划 scores higher)
        (
            "用地规划证跟工程规划证 我们都报上去了 现在啥情况",
            "land_use_planning",
            "前面那个要多久",
            "land_use_planning",
        ),
        (
            "用地规划证跟工程规划证 我们都报上去了 现在啥情况",
            "land_use_planning",
            "后面那个要多久",
            "engineering_planning",
        ),
        (
            "用地规划证跟工程规划证 我们都报上去了 现在啥情况",
            "engineering_planning",
            "前面那个要多久",
            "land_use_planning",
        ),
        (
            "用地规划证跟工程规划证 我们都报上去了 现在啥情况",
            "engineering_planning",
            "后面那个要多久",
            "engineering_planning",
        ),
        ("用地规划证跟工程规划证 我们都报上去了 现在啥情况", None, "前面那个要多久", "land_use_planning"),
        ("用地规划证跟工程规划证 我们都报上去了 现在啥情况", None, "后面那个要多久", "engineering_planning"),
        # written the other way round: offered in the order written
        (
            "工程规划证跟用地规划证 我们都报上去了 现在啥情况",
            "land_use_planning",
            "前面那个要多久",
            "engineering_planning",
        ),
        ("工程规划证跟用地规划证 我们都报上去了 现在啥情况", None, "前面那个要多久", "engineering_planning"),
        ("工程规划证跟用地规划证 我们都报上去了 现在啥情况", None, "后面那个要多久", "land_use_planning"),
    ],
)
async def test_items_of_a_choice_keep_the_order_written_pressed_or_not(db, question, pressed, pointing, meant) -> None:
    """A choice keeps its items by score; `first_written_first` says which was written first, so 「前面那个」 next is the
    item written first — after a button is pressed (remember_context keeps them by place) and when none is (the
    choice offered again, that item first)."""
    chat, user = supergroup_id(15), user_id(15)
    kb = load_knowledge(BUNDLED)
    service = KnowledgeService(kb=kb, matcher=Matcher.trained(kb), db=db, clock=lambda: NOW)
    asked = await service.ask(text=question, chat_id=chat, user_id=user)
    assert asked.result.action == "clarify" and {c.item for c in asked.result.candidates} == {
        "land_use_planning",
        "engineering_planning",
    }
    if pressed is not None:
        db.call(remember_context, chat_id=chat, user_id=user, item=pressed, intent="status", at=NOW)
    follow = await service.ask(text=pointing, chat_id=chat, user_id=user)
    assert (follow.result.item, follow.result.intent) == (meant, "time_limit")
    assert follow.result.action == ("answer" if pressed is not None else "clarify")


def test_a_choice_made_of_another_result_or_pressed_from_an_older_message_keeps_no_written_order() -> None:
    """The order written is `_match`'s choice's: a switch doubted after 环评 (「人防是不是得先拿到图审」, read by
    `_order_before` as 人防's order) keeps none, so 「前面那个」 after 环评 is pressed is 环评, asked first; and a button of
    an older choice pressed is a pick of its own, not a place in the choice offered last."""
    from knowledge.context import MemoryContexts, chosen

    matcher = Matcher.trained(load_knowledge(BUNDLED))
    contexts = MemoryContexts()
    for text in ("环评要多久", "人防是不是得先拿到图审"):
        contexts.follow(CHAT, WANG, matcher.match(text, contexts.recall(CHAT, WANG)))
    offered = contexts.recall(CHAT, WANG)
    assert offered is not None and offered.offered and offered.at_once == 0
    contexts.choose(CHAT, WANG, "eia", "process")
    pointed = matcher.match("前面那个要多久", contexts.recall(CHAT, WANG))
    assert (pointed.item, pointed.intent) == ("eia", "time_limit")
    # 工程规划 pressed on an older choice while 环评 and 水保 are offered: the item pressed is the latest
    older = chosen(Context("eia", "status", ("soil_water",), at_once=1, offered=True), "engineering_planning", "status")
    assert older.item == "engineering_planning" and older.at_once == 0
    assert older.recent(3) == ("eia", "soil_water", "engineering_planning")


def test_a_replay_of_labelled_turns_presses_the_button_of_the_item_meant() -> None:
    """MemoryContexts.follow_labelled: the asker of a labelled turn presses the button of the item they meant when the
    bot shows it, as the bot keeps a pressed choice (remember_context); a choice without it gets 「都不是」, which
    leaves the conversation as the bot's press does (leave_context); in a group a doubted follow-up handed to a person
    shows no button, and in a private chat it is a choice."""
    from knowledge.context import MemoryContexts
    from knowledge.evaluation import LabelledQuestion
    from knowledge.match_result import Candidate, MatchResult

    def turn(text: str, item: str | None, chat: int = CHAT) -> LabelledQuestion:
        return LabelledQuestion(q=text, item=item, intent="department", chat=chat, user=WANG, dialogue=1)

    def offered(*items: str, action: str = "clarify", reason: str = "ambiguous") -> MatchResult:
        return MatchResult(
            question="这个找谁",
            normalized="这个找谁",
            item=items[0] if action == "clarify" else None,
            intent="department",
            action=action,
            confidence=0.7,
            candidates=tuple(Candidate(i, 0.7) for i in items),
            reason=reason,
        )

    contexts = MemoryContexts()
    contexts.follow_labelled(turn("这个找谁", "drawing_review"), offered("fire_design", "drawing_review"))
    # the two kept by place (first_written_first off: read as the second written first; 「这个找谁」 names neither,
    # so the order is the offered one reversed, as the bot's press keeps it)
    assert contexts.recall(CHAT, WANG) == Context("drawing_review", "department", ("fire_design",), at_once=1)
    contexts.remember(CHAT + 1, WANG, Context("filing", "fee"))
    contexts.follow_labelled(turn("这个找谁", "eia", chat=CHAT + 1), offered("fire_design", "drawing_review"))
    assert contexts.recall(CHAT + 1, WANG) is None  # 「都不是」: nothing to borrow next
    # a follow-up the doubt hands to a person keeps the conversation; in a group no button is shown to press
    contexts.remember(CHAT + 3, WANG, Context("eia", "materials"))
    handed = offered("eia", action="handoff", reason="doubted_kept")
    contexts.follow_labelled(turn("周六上班不", "filing", chat=CHAT + 3), handed)
    assert contexts.recall(CHAT + 3, WANG) == Context("eia", "materials")
    private = 5000000009  # a private chat's id is its user's
    contexts.remember(private, WANG, Context("eia", "materials"))
    contexts.follow_labelled(turn("周六上班不", "eia", chat=private), handed)
    assert contexts.recall(private, WANG) == Context("eia", "department")
