"""The matcher in conversation: what an enterprise types in the help group, and what the steward does.

Every turn is (question, expected item, expected intent, expected action); an intent of None
means "not the point of this turn". All failing turns are reported together, as a transcript.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge
from knowledge.answers import compose_answer
from knowledge.context import Context, MemoryContexts
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, Thresholds

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"

Turn = tuple[str, "str | None", "str | None", str]

# Behaviours the thirty-fifth pass's retraining lost (the read dialogues joined the training file, their first turns
# teach the item model): each test states the behaviour as it was, and fails the suite once it passes again (strict),
# so the marker is taken off then. README, "The thirty-fifth pass", weighs them against what the retraining gained.
KNOWN_REGRESSION = pytest.mark.xfail(strict=True, reason="lost in a retraining (README: the pass that lost it)")


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(BUNDLED)


@pytest.fixture(scope="module")
def matcher(kb):
    return Matcher.trained(kb)


def verify_dialog(matcher: Matcher, turns: list[Turn]) -> None:
    """Ask every question in order; fail with a transcript of every turn that went wrong."""
    transcript, wrong = [], 0
    for question, item, intent, action in turns:
        r = matcher.match(question)
        ok = r.item == item and r.action == action and (intent is None or r.intent == intent)
        if action == "answer":
            ok = ok and compose_answer(matcher.kb, r) is not None
        else:
            ok = ok and compose_answer(matcher.kb, r) is None
        wrong += not ok
        mark = "  " if ok else "✗ "
        transcript.append(f"{mark}企业：{question}")
        transcript.append(
            f"{mark}管家：{r.action} {r.item}/{r.intent} ({r.confidence:.2f}, {r.reason})"
            + ("" if ok else f"   ← expected {action} {item}/{intent or '*'}")
        )
    assert not wrong, f"{wrong} of {len(turns)} turns wrong:\n" + "\n".join(transcript)


# -- the issue's own examples ---------------------------------------------------------------------


def test_the_three_questions_of_the_issue(matcher):
    verify_dialog(
        matcher,
        [
            ("环评要啥材料", "eia", "materials", "answer"),
            ("施工许可正在哪个窗口办", "construction_permit", "department", "answer"),
            ("能评要多久", "energy_review", "time_limit", "answer"),
        ],
    )


def test_a_morning_in_the_help_group(matcher):
    verify_dialog(
        matcher,
        [
            ("在吗", None, None, "smalltalk"),
            ("老师好，在吗？", None, None, "smalltalk"),
            ("我们准备报环评了，环评那边要交些什么材料啊", "eia", "materials", "answer"),
            ("那环评是在哪个窗口递件", "eia", "department", "answer"),
            ("环评一般要多少个工作日", "eia", "time_limit", "answer"),
            ("另外能评要交钱吗", "energy_review", "fee", "answer"),
            ("好的谢谢", None, None, "smalltalk"),
        ],
    )


def test_typos_of_pinyin_input(matcher):
    verify_dialog(
        matcher,
        [
            ("环平的材料清单发一下", "eia", "materials", "answer"),
            ("施工许可正办下来要多久", "construction_permit", "time_limit", "answer"),
            ("备按要带什么东西", "filing", "materials", "answer"),
            ("和准去哪个部门申请", "verification", "department", "answer"),
            ("企业项目和准大概多少个工作日", "verification", "time_limit", "answer"),
        ],
    )


def test_traditional_characters(matcher):
    verify_dialog(
        matcher,
        [
            ("環評要準備哪些資料", "eia", "materials", "answer"),
            ("環評審批在哪個窗口", "eia", "department", "answer"),
            ("施工許可證辦理要多長時間", "construction_permit", "time_limit", "answer"),
        ],
    )


def test_pinyin_and_english_for_an_item(matcher):
    verify_dialog(
        matcher,
        [
            ("shigong xuke 在哪办", "construction_permit", "department", "answer"),
            ("shigong xuke 要多久", "construction_permit", "time_limit", "answer"),
            ("EIA需要哪些材料", "eia", "materials", "answer"),
            ("请问EIA的审批部门是哪个", "eia", "department", "answer"),
            ("EIA how long", "eia", "time_limit", "answer"),
            ("construction permit where to apply", "construction_permit", "department", "answer"),
            ("nengping 需要什么材料", "energy_review", "materials", "answer"),
        ],
    )


def test_mentions_full_width_and_emoji(matcher):
    verify_dialog(
        matcher,
        [
            ("@xiao_wang_bot 能评要交什么材料", "energy_review", "materials", "answer"),
            ("@li_si 请问水保方案在哪办", "soil_water", "department", "answer"),
            ("ＥＩＡ材料清单", "eia", "materials", "answer"),
            ("环评要啥材料？！！", "eia", "materials", "answer"),
            ("环评👍要多久⏰", "eia", "time_limit", "answer"),
            ("施工许可证⁉️在哪办", "construction_permit", "department", "answer"),
        ],
    )


def test_indirect_reference_to_the_last_certificate_before_work(matcher):
    verify_dialog(
        matcher,
        [
            ("开工前最后一个证去哪办", "construction_permit", "department", "answer"),
            ("拿到开工前最后一个证要多久", "construction_permit", "time_limit", "answer"),
        ],
    )


def test_abbreviations_people_really_use(matcher):
    verify_dialog(
        matcher,
        [
            ("可研要什么材料", "feasibility", "materials", "answer"),
            ("初设批复要多久", "preliminary_design", "time_limit", "answer"),
            ("地灾评估去哪办", "geo_hazard", "department", "answer"),
            ("压覆矿审批找哪个部门", "mineral_overlay", "department", "answer"),
            ("人防审批要交钱吗", "civil_defense", "fee", "answer"),
            ("工规证要哪些资料", "engineering_planning", "materials", "answer"),
            ("土地证多久能办下来", "property_cert", "time_limit", "answer"),
            ("不动产证在哪个窗口", "property_cert", "department", "answer"),
            ("水保方案收费吗", "soil_water", "fee", "answer"),
        ],
    )


def test_long_messages_with_company_and_banner_context(matcher):
    verify_dialog(
        matcher,
        [
            (
                "你好，我们是准格尔旗的一家煤化工企业，年产20万吨的项目，想问下能评需要准备哪些材料",
                "energy_review",
                "materials",
                "answer",
            ),
            (
                "老师您好，我们在鄂托克前旗有个光伏项目，地已经拿了，施工许可证去哪个窗口递材料？",
                "construction_permit",
                "department",
                "answer",
            ),
        ],
    )


def test_general_topics(matcher):
    verify_dialog(
        matcher,
        [
            ("项目代码在哪里申请", "project_code", None, "answer"),
            ("一网通办账号登不上去怎么办", "online_portal", "process", "answer"),
            ("五证联发需要什么条件", "five_certs", None, "answer"),
            ("并联审批怎么申请", "parallel", "process", "answer"),
        ],
    )


def test_greetings_are_smalltalk(matcher):
    verify_dialog(
        matcher,
        [
            ("在吗", None, None, "smalltalk"),
            ("你好", None, None, "smalltalk"),
            ("有人吗", None, None, "smalltalk"),
            ("收到", None, None, "smalltalk"),
        ],
    )


def test_small_talk_is_read_the_same_under_every_hash_seed():
    """Phrases that overlap are removed in one fixed order (longest first, then by code point): a set's order, which
    the hash seed decides, once made 「明白了 感谢解答」 small talk in one process and a question in another."""
    import os
    import subprocess
    import sys

    program = (
        "from pathlib import Path; from knowledge.loader import load_knowledge; from knowledge.names import PhraseIndex;"
        f"print(PhraseIndex.build(load_knowledge(Path({str(BUNDLED)!r})), 0.45).smalltalk)"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", program],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            cwd=BUNDLED.parent.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(orders) == 1 and "感谢" in orders.pop()


def test_out_of_scope_is_handed_off_without_an_item(matcher):
    verify_dialog(
        matcher,
        [
            ("退税找哪个部门", None, None, "handoff"),
            ("出口退税要什么材料", None, "materials", "handoff"),
            ("食堂在几楼", None, None, "handoff"),
            ("你们招聘还缺人吗", None, None, "handoff"),
            ("违章罚款在哪交", None, None, "handoff"),
            ("车子违章罚款多久能处理完", None, None, "handoff"),
            ("营业执照要准备啥材料", None, "materials", "handoff"),
            ("营业执照去哪个窗口办", None, None, "handoff"),
        ],
    )
    for question in ("退税找哪个部门", "营业执照要准备啥材料"):
        assert matcher.match(question).reason == "out_of_scope"


def test_a_procedure_the_knowledge_base_lacks_is_handed_off(matcher):
    """A procedure named by its own words (…许可证, …备案, …验收) that no name of the knowledge base holds is
    another matter, even when a hint or a bare 「备案」 points to an item; a name with its procedure word stays."""
    verify_dialog(
        matcher,
        [
            ("林木采伐许可证在哪办", None, "department", "handoff"),  # 林木采伐 is a hint of 林草, the permit is not
            ("招投标备案在哪个部门", None, "department", "handoff"),  # 备案 alone names the project filing
            ("燃气经营许可证要什么材料", None, "materials", "handoff"),
            ("环评审批要多久", "eia", "time_limit", "answer"),  # the procedure word right after a name
            ("水保方案审批要多久", "soil_water", "time_limit", "answer"),
            ("我们备案在哪办", "filing", "department", "answer"),  # after a word that ends no name
            ("取水许可要什么材料", "water_permit", "materials", "answer"),
        ],
    )
    assert matcher.match("规划许可证要什么材料").action == "clarify"  # part of two names: which one?


def test_a_question_of_order_about_what_the_earlier_item_needs_first_is_its_process(matcher):
    """「规划核实跟消防验收都得先弄完吧」 after 竣工验收备案: the procedures its knowledge says come first, asked about
    in order, ask what it needs first (its process); one procedure asked of in order gets both processes. Asked what
    each takes, or whether they run together, they are still their own."""
    verify_conversation(
        matcher,
        [
            ("王经理", "竣工验收备案要哪些东西", "completion_filing", "materials", "answer", False),
            ("王经理", "规划核实跟消防验收都得先弄完吧", "completion_filing", "process", "answer", True),
            ("王经理", "规划核实和消防验收分别要多久", "planning_verification", "time_limit", "answer", False),
            ("李工", "企业投资项目核准现在承诺几个工作日", "verification", "time_limit", "answer", False),
            ("李工", "核准前得先拿到用地预审和环评吗", "verification", "process", "answer", True),
            ("张总", "压覆矿产资源审批要交啥材料", "mineral_overlay", "materials", "answer", False),
            ("张总", "跟用地预审有先后吗", "land_prereview", "process", "answer", True),
        ],
    )
    r = matcher.match("跟用地预审有先后吗", Context("mineral_overlay", "materials"))
    assert [(a.item, a.intent) for a in r.asks] == [("land_prereview", "process"), ("mineral_overlay", "process")]
    # 是不是 between "done" and "then" still asks the order (as `_ORDER` reads it of one procedure)
    r = matcher.match("规划核实和消防验收都完了是不是才能备案", Context("completion_filing", "materials"))
    assert (r.item, r.intent, r.action, r.reason) == ("completion_filing", "process", "answer", "order")


def test_what_another_procedure_issues_not_had_yet_is_what_the_earlier_item_waits_for(matcher):
    """「人防那边的批复还没下来 能不能先受理」 after 施工许可证: 人防's approval, not had yet, is what the permit waits
    for; the question is whether the permit may be accepted first (its 容缺), whether the paper is named between or
    the name follows 缺. A paper the item is applied with (「方案还没定稿」) is that item's own matter."""
    verify_conversation(
        matcher,
        [
            ("李工", "竣工验收备案资料能发个清单吗", "completion_filing", "materials", "answer", False),
            ("李工", "消防验收意见还没拿到 能容缺先备案吗", "completion_filing", "tolerance", "answer", True),
            ("张总", "五证联发是哪个部门牵头", "five_certs", "department", "answer", False),
            ("张总", "工程规划证那块方案还没定稿 能先报吗", "engineering_planning", "tolerance", "answer", False),
        ],
    )
    # read as the earlier item's 容缺: answered, or (the learned doubt unsure of it) offered as a choice of that item
    for question, earlier in (
        ("人防那边的批复还没下来 能不能先受理", "construction_permit"),
        ("缺的是人防那个意见 这个能后补不", "engineering_planning"),
    ):
        kept = matcher.match(question, Context(earlier, "time_limit"))
        assert (kept.item, kept.intent, kept.context) == (earlier, "tolerance", True), question
        assert kept.action == "answer" or [c.item for c in kept.candidates] == [earlier], question
    # after a 容缺 question of the item, too (the doubt offered it as a choice until the thirty-eighth pass's replays
    # taught it anew; it answers it now)
    r = matcher.match("缺的是人防那个意见 这个能后补不", Context("engineering_planning", "tolerance"))
    assert (r.item, r.intent) == ("engineering_planning", "tolerance")
    assert r.action == "answer" or [c.item for c in r.candidates] == ["engineering_planning"]


def test_a_together_word_ending_the_follow_up_asks_whether_they_run_together(matcher):
    """「可以和施工图审查同步吗」「那用地预审呢 也能并联吗」「消防设计审查跟图审是一块审的吗」: a together word ending the
    question, or the earlier item named as the partner of the one the message opens with, asks the parallel topic."""
    verify_conversation(
        matcher,
        [
            ("王经理", "初步设计几个工作日", "preliminary_design", "time_limit", "answer", False),
            ("王经理", "可以和施工图审查同步吗", "parallel", "process", "answer", True),
            ("李工", "环评和能评可以同时报吗", "parallel", "process", "answer", False),
            ("李工", "那用地预审呢 也能并联吗", "parallel", "process", "answer", True),
            ("张总", "施工图审查一般几个工作日", "drawing_review", "time_limit", "answer", False),
            ("张总", "消防设计审查跟图审是一块审的吗", "parallel", "process", "answer", True),
            ("赵工", "施工图审查多久出审查合格书", "drawing_review", "time_limit", "answer", False),
            ("赵工", "消防设计审查是不是合在图审里一起审了", "parallel", "process", "answer", True),
        ],
    )
    r = matcher.match("消防设计审查跟图审是一块审的吗", Context("drawing_review", "time_limit"))
    assert [a.item for a in r.asks] == ["parallel", "fire_design"]


def test_a_procedure_word_after_a_word_that_names_no_procedure_is_the_conversations(matcher):
    """「这个谁审批」「现场验收」「是不是备案就行不用验收」: who, where, how or whether a step is done (谁, 哪一级, 现场, 不用,
    a department's 局) names no procedure of its own, so the follow-up stays with the earlier item; a procedure
    named by its own words still leaves it."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防验收申请要准备什么", "fire_acceptance", "materials", "answer", False),
            ("王经理", "我们就一个小仓库 是不是备案就行不用验收", "fire_acceptance", "other", "answer", True),
            ("王经理", "备案的话会被抽查吗", "fire_acceptance", "process", "answer", True),
            ("王经理", "现场验收要提前几天约", "fire_acceptance", "time_limit", "answer", True),
            ("李工", "洪水影响评价要多久", "flood_impact", "time_limit", "answer", False),
            ("李工", "评价报告谁审批", "flood_impact", "department", "answer", True),
            ("张总", "地灾评估要做吗", "geo_hazard", "other", "answer", False),
            ("张总", "要做的话找谁备案", "geo_hazard", "department", "answer", True),
            # 评审 before it names no procedure of its own here: 备案 is a word of 地灾评估备案 (blind102, read)
            ("张总", "做的话找哪里评审备案", "geo_hazard", "department", "answer", True),
            # read alone a choice (the item model leaning to 地灾), its bare 备案 a word of 地灾评估备案
            ("张总", "评估报告备案要多久", "geo_hazard", "time_limit", "answer", True),
            ("张总", "燃气经营许可证要什么材料", None, "materials", "handoff", False),
        ],
    )


@KNOWN_REGRESSION
@pytest.mark.parametrize(
    "turns",
    [
        pytest.param(
            [
                # offered 消防验收 (and 消防设计审查) before; the retrained model keeps 人防
                ("孙总", "人防审批要多久", "civil_defense", "time_limit", "answer", False),
                ("孙总", "消防那个呢", "fire_acceptance", "time_limit", "clarify", True),
            ],
            id="a-loose-fire-word-after-an-unrelated-item",
        ),
    ],
)
def test_known_regressions_in_conversation(matcher, turns):
    """Turns of `test_a_loose_word_or_the_one_before_picks_among_the_items_spoken_of` that the retrained item model
    lost (those of `test_acceptance_or_filing_after_the_fire_acceptance_stays_with_it` and
    `test_a_procedure_word_after_a_word_that_names_no_procedure_is_the_conversations` are answered again and went
    back to them)."""
    verify_conversation(matcher, turns)


def test_status_questions_go_to_a_person_with_the_item_kept(matcher):
    verify_dialog(
        matcher,
        [
            ("环评批下来了没有", "eia", "status", "handoff"),
            ("我们那个能评审到哪一步了", "energy_review", "status", "handoff"),
            ("施工许可证办好了吗", "construction_permit", "status", "handoff"),
            ("取水许可审批进度怎么样了", "water_permit", "status", "handoff"),
        ],
    )


def test_vague_messages_are_never_answered(matcher):
    for question in ("那个事怎么样了", "帮我看一下", "这个怎么弄", "我想问个问题", "许可证要多久", "验收去哪办"):
        r = matcher.match(question)
        assert r.action != "answer", (question, r)


def test_close_candidates_are_offered_not_guessed(matcher):
    r = matcher.match("规划许可证要什么材料")  # 建设用地规划许可证 or 建设工程规划许可证?
    assert r.action == "clarify"
    offered = [c.item for c in r.candidates]
    assert {"land_use_planning", "engineering_planning"} <= set(offered)
    assert 2 <= len(offered) <= 3
    assert compose_answer(matcher.kb, r) is None


def test_an_item_named_outright_wins_over_an_out_of_scope_word(matcher):
    # 营业执照 is out of scope, but here it is only a material of the item asked about
    r = matcher.match("环评要附营业执照复印件吗")
    assert (r.item, r.action) == ("eia", "answer"), r


def test_a_phrase_out_of_scope_inside_a_longer_name_is_part_of_the_name(matcher):
    """「原产地签证」 is a name of 原产地证 that holds 签证 (a visa, out of scope): written in the name, it is the name's
    (answered, not handed off as a visa); alone, or beside the name, 签证 is still out of scope."""
    r = matcher.match("原产地签证要多久")
    assert (r.item, r.intent, r.action) == ("customs_origin", "time_limit", "answer")
    assert matcher.match("签证怎么办").reason == "out_of_scope"
    assert matcher.index.out_of_scope_spans("原产地签证要多久") == []
    assert matcher.index.out_of_scope_spans("原产地证办完了 签证找谁") == [(8, 10)]


# -- thresholds -------------------------------------------------------------------------------------


def test_thresholds_are_configurable(kb):
    strict = Matcher(kb, Thresholds(answer=0.99, clarify=0.98, min_gap=0.5, guess=0.98))
    for question in ("环评要啥材料", "环平的材料清单发一下"):
        r = strict.match(question)
        assert r.action == "handoff" and r.item is None, r
    # below the answer threshold, the best item of a message with no conversation is offered from the guess threshold
    described = "看项目用电用煤多不多的那个审查，流程是啥"  # the guess reads the learned model too
    assert (
        Matcher.trained(kb, Thresholds(answer=0.99, clarify=0.98, min_gap=0.5, guess=0.98)).match(described).action
        == "handoff"
    )
    guessing = Matcher.trained(kb, Thresholds(answer=0.99, clarify=0.98, min_gap=0.5))
    assert (guessing.match(described).action, guessing.match(described).reason) == ("clarify", "guess")
    lenient = Matcher(kb, Thresholds(answer=0.5, clarify=0.4, min_gap=0.0))
    assert lenient.match("环平的材料清单发一下").action == "answer"


def test_the_gap_to_the_runner_up_matters(kb):
    # the same top score, but a runner-up within the gap: not answered
    wide_gap = Matcher(kb, Thresholds(answer=0.62, clarify=0.45, min_gap=0.99))
    r = wide_gap.match("规划许可证要什么材料")
    assert r.action in ("clarify", "handoff") and r.action != "answer"


# -- learning -------------------------------------------------------------------------------------


def test_learned_answer_is_answerable_at_once(kb):
    m = Matcher(kb)
    question = "园区的污水管网接驳要找谁签字"
    before = m.match(question)
    assert before.action != "answer"
    m.add_learned(question, "找园区管委会建设科签接驳意见", None)
    after = m.match(question)
    assert after.action == "answer" and after.learned
    assert after.faq is not None and after.faq.a == "找园区管委会建设科签接驳意见"
    assert compose_answer(kb, after) == "找园区管委会建设科签接驳意见"
    # a lightly reworded question finds it too
    assert m.match("园区污水管网接驳要找谁签字？").learned
    # an unrelated question does not
    assert not m.match("环评要啥材料").learned


def test_learned_answer_for_an_item_keeps_the_item(kb):
    m = Matcher(kb)
    m.add_learned("环评公示要挂几天", "报告书全本公示不少于10个工作日", "eia")
    r = m.match("环评公示要挂几天")
    assert (r.item, r.action, r.learned) == ("eia", "answer", True)
    text = compose_answer(kb, r)
    assert text.startswith("报告书全本公示不少于10个工作日")
    assert "生态环境局" in text


def test_learned_answers_stay_in_their_matcher(kb):
    one, other = Matcher(kb), Matcher(kb)
    one.add_learned("园区的污水管网接驳要找谁签字", "找建设科", None)
    assert not other.match("园区的污水管网接驳要找谁签字").learned


def test_empty_learned_question_is_ignored(kb):
    m = Matcher(kb)
    m.add_learned("  ？？ ", "nothing", None)
    assert m.match("？？").action != "answer"


# -- known gaps (strict: when the matcher learns these, drop the marker) ----------------------------


def test_hint_with_a_particle_inside_is_still_found(matcher):
    verify_dialog(matcher, [("开工前的最后一个证要准备什么材料", "construction_permit", "materials", "answer")])


def test_fee_word_in_a_done_clause_is_not_the_intent(matcher):
    verify_dialog(matcher, [("交完出让金拿不动产证要多久", "property_cert", "time_limit", "answer")])


def test_an_exam_or_a_drill_about_an_item_is_not_an_approval_question(matcher):
    verify_dialog(
        matcher,
        [
            ("想报名环评工程师的职业资格考试", None, None, "handoff"),
            ("下周人防警报试鸣几点开始", None, None, "handoff"),
        ],
    )


def test_a_two_character_hint_is_not_matched_by_sound(matcher):
    # 有没有 sounds like a hint 「有煤…」 would; only the words themselves count for short hints
    verify_dialog(matcher, [("我们公司想招几个电工 有没有渠道推荐", None, None, "handoff")])


# -- conversations: a follow-up takes what it lacks from the asker's previous question ---------------

# (asker, question, expected item, expected intent, expected action, took context?)
Said = tuple[str, str, "str | None", "str | None", str, bool]
ASKERS = {
    "王经理": (-1001234567890, 5000000001),
    "李工": (-1001234567890, 5000000002),
    "张总": (-1001234567891, 5000000003),
    "赵工": (-1001234567892, 5000000004),
    "孙总": (-1001234567892, 5000000005),
    "钱工": (-1001234567893, 5000000006),
}


def verify_conversation(matcher: Matcher, turns: list[Said]) -> None:
    """Play the turns in order, each asker with their own context, as the bot keeps it."""
    from knowledge.context import MemoryContexts

    contexts = MemoryContexts()
    transcript, wrong = [], 0
    for who, question, item, intent, action, inherited in turns:
        asker = ASKERS[who]
        r = matcher.match(question, contexts.recall(*asker))
        contexts.follow(*asker, r)
        ok = (r.item, r.action, r.context) == (item, action, inherited) and (intent is None or r.intent == intent)
        wrong += not ok
        mark = "  " if ok else "✗ "
        transcript.append(f"{mark}{who}：{question}")
        transcript.append(
            f"{mark}管家：{r.action} {r.item}/{r.intent} context={r.context} ({r.reason})"
            + ("" if ok else f"   ← expected {action} {item}/{intent or '*'} context={inherited}")
        )
    assert not wrong, f"{wrong} of {len(turns)} turns wrong:\n" + "\n".join(transcript)


def test_follow_ups_keep_the_item_and_take_the_new_intent(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "环评要什么材料", "eia", "materials", "answer", False),
            ("王经理", "那得多长时间", "eia", "time_limit", "answer", True),
            ("王经理", "去哪儿交", "eia", "department", "answer", True),
            ("王经理", "要钱吗", "eia", "fee", "answer", True),
            ("王经理", "纸质的交几套", "eia", "materials", "answer", True),
        ],
    )


def test_naming_another_item_keeps_the_intent(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "环评要什么材料", "eia", "materials", "answer", False),
            ("王经理", "能评那个呢", "energy_review", "materials", "answer", True),
            ("王经理", "那要多久", "energy_review", "time_limit", "answer", True),
        ],
    )


def test_what_must_not_inherit(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "施工许可证要准备哪些资料", "construction_permit", "materials", "answer", False),
            ("王经理", "取水许可要什么材料", "water_permit", "materials", "answer", False),  # names its own item
            ("王经理", "谢谢", None, None, "smalltalk", False),
            ("王经理", "好的收到", None, None, "smalltalk", False),
            ("王经理", "那去哪儿办", "water_permit", "department", "answer", True),  # the context survives those
            ("王经理", "营业执照怎么办", None, None, "handoff", False),  # out of scope
            ("王经理", "危险废物经营许可要多久", None, None, "handoff", False),  # a near miss the KB lacks
            ("王经理", "那要钱吗", None, None, "handoff", False),  # about the near miss: the asker moved on
        ],
    )


def test_a_status_question_naming_its_own_item_never_takes_the_earlier_one(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "请问施工许可证要准备哪些材料？", "construction_permit", "materials", "answer", False),
            ("王经理", "我们环评办到哪一步了", "eia", "status", "handoff", False),  # named by alias
            ("王经理", "施工许可证要准备哪些材料", "construction_permit", "materials", "answer", False),
            ("王经理", "环平办到哪一步了", "eia", "status", "handoff", False),  # typed by sound
            ("王经理", "施工许可证要准备哪些材料", "construction_permit", "materials", "answer", False),
            ("王经理", "EIA进度怎么样了", "eia", "status", "handoff", False),  # in latin letters
            ("王经理", "节能审查要准备什么", "energy_review", "materials", "answer", False),
            ("王经理", "水保能容缺吗", "soil_water", "tolerance", "answer", False),  # tolerance, its own item
            ("王经理", "那能容缺吗", "soil_water", "tolerance", "answer", True),  # the topic, about the item in context
        ],
    )


def test_two_people_in_one_group_never_share_context(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "水保方案找哪个部门", "soil_water", "department", "answer", False),
            ("李工", "那要多久", None, None, "handoff", False),
            ("李工", "节能审查要什么材料", "energy_review", "materials", "answer", False),
            ("王经理", "那要多久", "soil_water", "time_limit", "answer", True),
            ("李工", "多少钱", "energy_review", "fee", "answer", True),
        ],
    )


def test_a_status_follow_up_goes_to_the_ledger(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "环评要什么材料", "eia", "materials", "answer", False),
            ("王经理", "那现在办到哪一步了", "eia", "status", "handoff", True),
        ],
    )


@pytest.mark.parametrize(
    "conversation",
    [
        [
            ("王经理", "建设用地规划许可证要什么材料", "land_use_planning", "materials", "answer", False),
            # 出让合同 names the 供地 item too; here it is one of this permit's documents
            ("王经理", "出让合同要原件还是复印件", "land_use_planning", "materials", "answer", True),
            ("王经理", "出让合同怎么签", "land_supply", "process", "answer", False),  # a question of its own
        ],
        [
            ("王经理", "建设工程规划许可证在哪办", "engineering_planning", "department", "answer", False),
            ("王经理", "人防意见还没拿到，能先受理吗", "engineering_planning", "tolerance", "answer", True),
            ("王经理", "多少个工作日", "engineering_planning", "time_limit", "answer", True),
        ],
        [
            ("王经理", "竣工验收备案要准备什么", "completion_filing", "materials", "answer", False),
            # what another procedure issues, handed in for this one
            ("王经理", "消防验收意见书要原件吗", "completion_filing", "materials", "answer", True),
            ("王经理", "几天能办完", "completion_filing", "time_limit", "answer", True),
            # its 合格意见书 too (blind102, read)
            ("王经理", "消防验收合格意见书是必须的吗", "completion_filing", "materials", "answer", True),
        ],
        [
            ("王经理", "施工许可证能容缺吗", "construction_permit", "tolerance", "answer", False),
            # a paper of its list, named as the procedure whose own 容缺 is asked (blind102, read)
            ("王经理", "那建设工程规划许可证能容缺办吗", "engineering_planning", "tolerance", "answer", False),
        ],
        [
            ("王经理", "施工许可证要什么材料", "construction_permit", "materials", "answer", False),
            ("王经理", "建设工程规划许可证要原件吗", "construction_permit", "materials", "answer", True),
        ],
        [
            ("王经理", "企业投资项目核准要什么材料", "verification", "materials", "answer", False),
            # 营业执照 alone is out of scope; here it is a document this item's list names
            ("王经理", "营业执照副本要原件吗", "verification", "materials", "answer", True),
            ("王经理", "能评要交啥材料", "energy_review", "materials", "answer", False),  # an item of its own
        ],
        [
            ("王经理", "不动产权证书怎么办", "property_cert", "process", "answer", False),
            (
                "王经理",
                "契税完税证明必须带吗",
                "property_cert",
                "materials",
                "answer",
                True,
            ),  # 契税完税凭证 on its list
            ("王经理", "多久能拿到证", "property_cert", "time_limit", "answer", True),
        ],
        [
            ("王经理", "施工许可证要什么材料", "construction_permit", "materials", "answer", False),
            # the topic 容缺 named beside the document: still the permit's tolerance
            ("王经理", "图审合格书还没下来，能容缺不", "construction_permit", "tolerance", "answer", True),
        ],
        [
            ("王经理", "建设工程规划许可证能容缺吗", "engineering_planning", "tolerance", "answer", False),
            (
                "王经理",
                "那用地规划许可证呢",
                "land_use_planning",
                "tolerance",
                "answer",
                True,
            ),  # another item, asked the same
        ],
    ],
)
def test_a_follow_up_naming_a_document_or_a_missing_precondition_keeps_the_earlier_item(matcher, conversation):
    verify_conversation(matcher, conversation)


def test_a_document_word_alone_is_out_of_scope_and_alone_the_missing_item_is_background(matcher):
    # Alone, the item named as not obtained yet is the background of the one asked about; asked about
    # by itself, it is the subject; 营业执照 by itself is out of scope.
    turns = [
        ("人防意见还没拿到，工规证能先受理吗", "engineering_planning", "tolerance", "answer"),
        ("出让合同要原件还是复印件", "land_supply", "materials", "answer"),
        ("营业执照副本要原件吗", None, "materials", "handoff"),
    ]
    verify_dialog(matcher, turns)


def test_a_bare_procedure_word_of_another_department_after_an_item_is_asked_about_not_guessed(matcher):
    # 「备案」 after 原产地证 may be the customs registration or the investment project filing: the choice,
    # the earlier item first; within one department 「核准」 after 备案 is the sibling procedure
    r = matcher.match("第一次要先备案吗", Context("customs_origin", "department"))
    assert r.action == "clarify"
    assert [c.item for c in r.candidates] == ["customs_origin", "filing"]
    r = matcher.match("那普通的要备案吗", Context("fire_design", "materials"))
    assert (r.action, r.candidates[0].item) == ("clarify", "fire_design")
    r = matcher.match("核准要多久", Context("filing", "materials"))
    assert (r.item, r.intent, r.action) == ("verification", "time_limit", "answer")
    # named with more than the bare word, it is that item
    r = matcher.match("项目备案要几天", Context("customs_origin", "department"))
    assert (r.item, r.action) == ("filing", "answer")


def test_a_follow_up_asking_whether_procedures_may_run_together_gets_the_parallel_topic_first(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "建设工程规划许可证要什么材料", "engineering_planning", "materials", "answer", False),
            ("王经理", "那用规证能一起报不", "parallel", "process", "answer", True),
            ("王经理", "等的时候别的手续能同时弄不", "parallel", "process", "answer", True),
        ],
    )
    # the other words for "together" people write: 一块, 一并, 并着; and 「同时进行」「一起跑」
    for follow_up in ("施工许可能跟着一块报不", "用规证能一并办吗", "能跟土地出让同时进行吗", "用规证能一起跑不"):
        r = matcher.match(follow_up, Context("engineering_planning", "materials"))
        assert (r.item, r.intent, r.action) == ("parallel", "process", "answer"), follow_up
    # 「跟X一起审吗」 (whether it *is* handled with X) is how the earlier item goes, and as some read it the
    # parallel topic: both; 「一起审的话要多久」 asks its question of running them together
    r = matcher.match("跟施工图审查一起审吗", Context("civil_defense", "time_limit"))
    assert [(a.item, a.intent) for a in r.asks] == [("parallel", "process"), ("civil_defense", "process")]
    assert r.context_after() == Context("civil_defense", "process")  # 「那要多久」 next: still 人防
    r = matcher.match("一起审的话要多久", Context("fire_design", "materials"))
    assert (r.item, r.intent, r.action) == ("parallel", "time_limit", "answer")
    assert [(a.item, a.intent) for a in r.asks] == [("parallel", "time_limit"), ("fire_design", "time_limit")]
    # a status question is the ledger's, together or not
    r = matcher.match("一起审的话进度怎么样", Context("fire_design", "materials"))
    assert (r.item, r.intent, r.action) == ("fire_design", "status", "handoff")
    r = matcher.match("能评跟可研能并着走不", Context("engineering_planning", "materials"))
    assert [(a.item, a.intent) for a in r.asks] == [
        ("parallel", "process"),
        ("energy_review", "process"),
        ("feasibility", "process"),
    ]
    r = matcher.match("那用规证能一起报不", Context("engineering_planning", "materials"))
    assert [(a.item, a.intent) for a in r.asks] == [("parallel", "process"), ("land_use_planning", "process")]
    assert r.context_after() == Context("land_use_planning", "process")  # 「那要多久」 next: the permit named
    # whether it is handled within the other's review is how that item goes, not the parallel topic
    verify_conversation(
        matcher,
        [
            ("王经理", "施工图审查要多久", "drawing_review", "time_limit", "answer", False),
            ("王经理", "消防设计审查是不是跟着一起审", "fire_design", "process", "answer", False),
        ],
    )


@pytest.mark.parametrize(
    ("earlier", "follow_up"),
    [
        # a certificate of its own (证明), not one of the earlier item's documents
        (("property_cert", "materials"), "完税证明去哪开"),
        (("eia", "materials"), "无犯罪证明去哪开"),
        # another procedure, asked whether it is needed: out of scope stays out of scope
        (("completion_filing", "materials"), "安全设施竣工验收也要做吗"),
        (("flood_impact", "materials"), "交通影响评价也要做吗"),
        (("completion_filing", "materials"), "质量监督注册必须先办吗"),
        (("cultural_relics", "materials"), "文物保护单位修缮需要提供什么"),
        (("safety_review", "materials"), "安全评价机构必须是甲级吗"),
        (("land_supply", "materials"), "营业执照地址变更了也要改吗"),  # a change of the licence, no document
    ],
)
def test_a_follow_up_about_a_matter_of_its_own_is_handed_off(matcher, earlier, follow_up):
    r = matcher.match(follow_up, Context(*earlier))
    assert (r.item, r.action) == (None, "handoff"), (r.item, r.intent, r.action, r.reason)


def test_a_follow_up_naming_another_items_own_name_or_a_department_is_not_the_earlier_item(matcher):
    assert matcher.match("图审要多久", Context("fire_design", "materials")).item == "drawing_review"  # not 消防图审
    assert matcher.match("发改那边备案在哪办", Context("fire_acceptance", "materials")).item == "filing"
    together = [matcher.match(q, Context("eia", "materials")) for q in ("能和老板一起去办吗", "一期二期能一起报不")]
    assert all(r.item != "parallel" for r in together)  # people or projects together, not procedures
    assert (together[1].item, together[1].action) == (None, "handoff")  # several projects: a steward's question
    partner = matcher.match("是不是跟图审一起报的", Context("fire_design", "time_limit"))
    # 图审 is the partner after 跟: how the earlier item goes, with the parallel topic; the context stays on it
    assert [(a.item, a.intent) for a in partner.asks] == [("parallel", "process"), ("fire_design", "process")]
    assert partner.context_after() == Context("fire_design", "process")


def test_a_certificate_of_another_procedure_asked_as_a_document_keeps_the_earlier_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "建设工程规划许可证要什么材料", "engineering_planning", "materials", "answer", False),
        ],
    )
    # the earlier item is kept: answered, or (the doubt of kept answers at its margin) offered as the one choice
    kept = matcher.match("除了土地证 还有啥能晚点交的", Context("engineering_planning", "materials"))
    assert (kept.item, kept.intent, kept.context) == ("engineering_planning", "tolerance", True)
    assert kept.action == "answer" or [c.item for c in kept.candidates] == ["engineering_planning"]
    assert matcher.match("嗯呢 好嘞", Context("engineering_planning", "tolerance")).action == "smalltalk"
    # what the certificate's own procedure asks for is that procedure's question
    r = matcher.match("签完以后土地证要交啥", Context("land_supply", "materials"))
    assert (r.item, r.intent) == ("property_cert", "materials")


def test_a_question_word_is_no_typo_of_an_items_name(matcher):
    # 谁报 sounds like 水保 (shui bao); it asks who
    verify_conversation(
        matcher,
        [
            ("王经理", "项目离河两百米，洪评需要做吗", "flood_impact", "other", "answer", False),
            ("王经理", "要做的话找谁报", "flood_impact", "department", "answer", True),
        ],
    )
    assert matcher.match("要做的话找谁报").item is None
    assert matcher.match("水保找谁报").item == "soil_water"


def test_a_bare_word_of_the_earlier_items_name_keeps_it(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "消防验收要带啥", "fire_acceptance", "materials", "answer", False),
            ("王经理", "备案的话几天", "fire_acceptance", "time_limit", "answer", True),  # 消防验收 / 备案
        ],
    )
    verify_conversation(
        matcher,
        [
            ("王经理", "消防验收要带啥", "fire_acceptance", "materials", "answer", False),
            (
                "王经理",
                "竣工验收备案需要什么材料",
                "completion_filing",
                "materials",
                "answer",
                False,
            ),  # a name of its own
        ],
    )


# -- several asks in one message -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("水保和林草分别几个工作日", [("soil_water", "time_limit"), ("forest_grass", "time_limit")]),
        ("环评和能评各要什么材料", [("eia", "materials"), ("energy_review", "materials")]),
        ("施工许可证在哪办,要多久", [("construction_permit", "department"), ("construction_permit", "time_limit")]),
        (
            "环评能和施工许可证并联办吗",
            [("parallel", "process"), ("eia", "process"), ("construction_permit", "process")],
        ),
        (
            "规划核实和消防验收可以联合验收吗",
            [("parallel", "process"), ("planning_verification", "process"), ("fire_acceptance", "process")],
        ),
        # whether they run together, and what another clause asks: of the item it names, or of each (分别)
        ("环评和能评能不能同时报？环评要哪些材料", [("parallel", "process"), ("eia", "materials")]),
        (
            "水保和洪评能同时弄吗？分别找谁",
            [("parallel", "process"), ("soil_water", "department"), ("flood_impact", "department")],
        ),
        (
            "消防验收和竣工验收备案可以一起申请吗？消防验收收费不？",
            [("parallel", "process"), ("fire_acceptance", "fee")],
        ),
        # each clause asks about its own item, or (呢) about the one before's intent
        (
            "消防验收去哪个窗口？竣工验收备案又在哪办？",
            [("fire_acceptance", "department"), ("completion_filing", "department")],
        ),
        ("可研批复要几天？初步设计呢？", [("feasibility", "time_limit"), ("preliminary_design", "time_limit")]),
        ("能评要多久？那水保的呢？", [("energy_review", "time_limit"), ("soil_water", "time_limit")]),
        # announcing the questions is no question of its own
        (
            "我想问三个事：环评多少天，水保多少天，节能审查多少天",
            [("eia", "time_limit"), ("soil_water", "time_limit"), ("energy_review", "time_limit")],
        ),
        # 「A还是B」 asks too
        (
            "安全条件审查需要哪些材料？是自治区批还是市里批？",
            [("safety_review", "materials"), ("safety_review", "department")],
        ),
        (
            "规划核实要准备啥，然后竣工备案几天办完？",
            [("planning_verification", "materials"), ("completion_filing", "time_limit")],
        ),
    ],
)
def test_several_asks_get_one_answer_covering_each(matcher, question, asks):
    r = matcher.match(question)
    assert r.action == "answer"
    assert [(a.item, a.intent) for a in r.asks] == asks
    assert (r.item, r.intent) == asks[0]  # the first thing asked
    answer = compose_answer(matcher.kb, r)
    for item, _ in asks:
        assert matcher.kb.items[item].name in answer


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        # 一并 before 提交 hands documents in together: no parallel topic
        ("环评和能评的材料一并提交吗", [("eia", "materials"), ("energy_review", "materials")]),
        # 同时 before 要 is "also": the second clause is no together question of its own
        (
            "环评和能评能一起报吗？同时要准备什么材料",
            [("parallel", "process"), ("eia", "process"), ("energy_review", "process")],
        ),
        # 还是 meaning "still" offers no choice
        ("施工许可证要多久 我还是第一次办", [("construction_permit", "time_limit")]),
        # 各位 is no 各: the people addressed, not each item
        (
            "水保和洪评能同时弄吗？各位老师知道要多久吗",
            [("parallel", "process"), ("soil_water", "process"), ("flood_impact", "process")],
        ),
    ],
)
def test_words_that_only_look_like_several_asks_add_none(matcher, question, asks):
    r = matcher.match(question)
    assert ([(a.item, a.intent) for a in r.asks] or [(r.item, r.intent)]) == asks


def test_a_question_after_请问_is_no_announcement(matcher):
    # 「我想问三个事」 announces; 「请问收费吗」 asks (the fee of no item: not read as asks about the others)
    r = matcher.match("请问收费吗 环评要多久 水保要多久")
    assert ("eia", "fee") in [(a.item, a.intent) for a in r.asks] or r.action != "answer"


def test_clauses_asking_about_one_item_each_do_not_take_a_background_or_status_clause(matcher):
    r = matcher.match("水保方案批了，洪评是不是也在水利局？需要多长时间？")
    assert {a.item for a in r.asks} <= {"flood_impact"}  # 水保 is done: background, not asked
    r = matcher.match("我们的环评批了没有？没批的话水保那边能先报吗？")
    assert r.reason != "several"  # a status ask is the ledger's, not a knowledge-base answer


def test_a_long_message_asking_whether_its_items_run_together_gets_the_parallel_topic(matcher):
    r = matcher.match("我们项目在达拉特旗，环评、水保和能评现在都还没开始报，工期很紧，想问一下这几个能不能同时报")
    assert r.action == "answer"
    assert ("parallel", "process") in [(a.item, a.intent) for a in r.asks]
    r = matcher.match("我们是杭锦旗一个储能项目 用地手续已经齐了 环评批复还要等几天 想问下节能审查要多久")
    assert all(a.item != "parallel" for a in r.asks)  # nothing asked about running together


def test_a_word_is_not_read_as_a_name_it_sounds_like(matcher):
    verify_dialog(
        matcher,
        [
            ("明天降温吗，工地要不要停", None, "other", "handoff"),  # 工地 (building site) sounds like 供地
            ("供地要多久", "land_supply", "time_limit", "answer"),
        ],
    )
    assert matcher.match("环平的材料清单发一下").item == "eia"  # a typo that is no word still reads by sound


def test_a_long_message_names_items_as_background_and_asks_one(matcher):
    r = matcher.match("我们是杭锦旗一个储能项目 用地手续已经齐了 环评批复还要等几天 想问下节能审查要多久")
    assert r.asks == () or len({a.item for a in r.asks}) == 1


def test_a_whole_project_status_question_is_for_the_ledger(matcher):
    r = matcher.match("咱们项目还有哪些手续没办完")
    assert (r.action, r.reason, r.item) == ("handoff", "project_status", None)


# -- the gate, background clauses and near misses (the third pass of issue 7) ---------------------------


def test_an_item_named_as_background_is_not_what_is_asked(matcher):
    verify_dialog(
        matcher,
        [
            ("可研批复我们上周拿到了，节能审查要准备什么材料？", "energy_review", "materials", "answer"),
            ("环评那边已经过了，取水许可去哪个部门办？", "water_permit", "department", "answer"),
            ("能评已经批了，环评是去市里还是旗里审批？", "eia", "department", "answer"),
        ],
    )
    r = matcher.match("能评已经批了，环评是去市里还是旗里审批？")
    assert r.asks == ()  # 「还是」 between two places, and 能评 is background: not two items asked


def test_a_near_miss_the_knowledge_base_lacks_is_handed_off(matcher):
    verify_dialog(
        matcher,
        [
            ("夜间施工许可要什么材料", None, "materials", "handoff"),  # 施工许可 inside the matter: not the item
            ("排污权交易在哪里办？我们环评批了", None, None, "handoff"),  # 环评 only as background after it
            ("不动产权证要带出让金发票吗", "property_cert", "materials", "answer"),  # the item asked, 发票 a detail
        ],
    )


def test_each_asking_clause_gives_its_own_intent(matcher):
    r = matcher.match("施工图审查要交什么材料，审图收费吗")
    assert [(a.item, a.intent) for a in r.asks] == [("drawing_review", "materials"), ("drawing_review", "fee")]


def test_intent_conventions(matcher):
    verify_dialog(
        matcher,
        [
            ("我们这个项目地灾评估要不要做", "geo_hazard", "other", "answer"),  # whether at all: other
            ("竣工验收备案是去窗口交还是网上提交", "completion_filing", "process", "answer"),  # online or window
            ("洪水影响评价找水利局哪个窗口", "flood_impact", "department", "answer"),  # which window
        ],
    )


def test_an_answer_the_model_doubts_is_not_given(kb, matcher):
    """A described item is answered on the model alone only when it is sure (Weights.alone_answer); the same
    question with a stricter gate is handed off (read alone; a first message is then offered it as a guess), and a
    named item stays answered."""
    from knowledge.matcher import Weights

    strict = Matcher(kb, model=matcher.model, weights=Weights(alone_answer=1.01))
    assert matcher.match("地下有矿的那个手续要交什么材料").action == "answer"
    doubted = strict.alone("地下有矿的那个手续要交什么材料")
    assert (doubted.action, doubted.reason, doubted.item) == ("handoff", "doubt", None)
    guessed = strict.match("地下有矿的那个手续要交什么材料")
    assert (guessed.action, guessed.reason, guessed.item) == ("clarify", "guess", "mineral_overlay")
    assert strict.match("压覆矿要交什么材料").action == "answer"


def test_a_follow_up_about_getting_the_certificate_keeps_the_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "建设工程规划许可证去哪办", "engineering_planning", "department", "answer", False),
            (
                "王经理",
                "多久能拿证",
                "engineering_planning",
                "time_limit",
                "answer",
                True,
            ),  # 拿证: no procedure of its own
        ],
    )


def test_a_follow_up_the_model_alone_reads_as_the_tolerance_topic_keeps_its_own_intent(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "取水许可找哪个部门", "water_permit", "department", "answer", False),
            ("王经理", "那要准备哪些材料呢", "water_permit", "materials", "answer", True),
            ("王经理", "那能容缺吗", "water_permit", "tolerance", "answer", True),  # the topic named: tolerance
        ],
    )


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        (
            "规划核实要什么材料，网上能办不",
            {("planning_verification", "materials"), ("planning_verification", "process")},
        ),
        ("洪评要多久，收不收费", {("flood_impact", "time_limit"), ("flood_impact", "fee")}),
        ("施工许可证在哪办，收不收费", {("construction_permit", "department"), ("construction_permit", "fee")}),
    ],
)
def test_a_bu_a_and_a_final_bu_are_questions(matcher, question, asks):
    """「收不收费」 (A不A) and 「网上能办不」 (a clause ending in 不) are questions: each clause gives its ask."""
    r = matcher.match(question)
    assert r.action == "answer"
    assert {(a.item, a.intent) for a in r.asks} == asks


# -- the fourth pass of issue 7 (blind5 read) ------------------------------------------------------------


def test_a_follow_up_opening_with_a_procedure_word_keeps_the_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "水保方案要准备什么材料", "soil_water", "materials", "answer", False),
            ("王经理", "审批要钱吗", "soil_water", "fee", "answer", True),  # 审批 names no matter of its own
            ("王经理", "那审批多久", "soil_water", "time_limit", "answer", True),
            ("王经理", "林木采伐许可去哪办", None, None, "handoff", False),  # words before it: a matter of its own
        ],
    )


def test_a_procedure_word_after_issuing_a_level_or_every_procedure_names_no_matter_of_its_own(matcher):
    """「多久出备案表」 (issuing the paper), 「哪一级审批」 (the level that approves) and 「其他审批也都能容缺吗」 (every
    other procedure) name no procedure the knowledge base lacks; 「演出许可」 and 「三级资质」 still do."""
    verify_conversation(
        matcher,
        [
            ("王经理", "竣工验收备案现在能报了吧", "completion_filing", "process", "answer", False),
            ("王经理", "多久出备案表", "completion_filing", "time_limit", "answer", True),
        ],
    )
    verify_conversation(
        matcher,
        [
            ("李工", "压覆矿产那个要多久", "mineral_overlay", "time_limit", "answer", False),
            ("李工", "哪一级审批", "mineral_overlay", "department", "answer", True),
            ("李工", "市级审批还是省级", "mineral_overlay", "department", "answer", True),
        ],
    )
    # every other procedure's 容缺 is the topic's question, not the earlier item's (offered first, or answered)
    r = matcher.match("其他审批也都能容缺吗", Context("land_use_planning", "tolerance"))
    assert (r.item, r.intent) == ("tolerance", "tolerance") and r.action in ("answer", "clarify")
    for question in ("演出许可证在哪办", "三级资质怎么办"):
        r = matcher.match(question, Context("construction_permit", "materials"))
        assert (r.item, r.action, r.reason) == (None, "handoff", "out_of_scope"), question


def test_a_name_read_by_sound_inside_a_longer_name_is_not_another_item(matcher):
    verify_dialog(
        matcher,
        [
            ("竣工验收备案怎么办理", "completion_filing", "process", "answer"),  # 「备案怎」 is no 备案证
            ("拿地即开工怎么弄", "five_certs", "process", "answer"),  # 「开工怎」 is no 开工证
        ],
    )


def test_procedure_words_the_model_reads_as_an_item_are_the_items(matcher):
    verify_dialog(
        matcher,
        [
            ("我们公司属于备案类项目，网上提交备案以后多久能拿到备案证明", "filing", "time_limit", "answer"),
            ("环评报告书审批要交哪些材料", "eia", "materials", "answer"),
            ("林木采伐许可证怎么办", None, "process", "handoff"),  # still a procedure the knowledge base lacks
            ("招投标备案在哪个部门", None, "department", "handoff"),
        ],
    )


def test_more_near_misses_are_handed_off(matcher):
    verify_dialog(
        matcher,
        [
            ("市政配套费一平米多少钱", None, "fee", "handoff"),
            ("质量监督注册去哪办", None, "department", "handoff"),
            ("城市道路挖掘要办什么手续", None, None, "handoff"),
            ("节水评价报告谁审", None, "department", "handoff"),
        ],
    )


def test_a_combined_hint_in_a_background_clause_is_background(matcher):
    verify_dialog(
        matcher, [("消防设计审查已经通过了，施工许可证去哪办", "construction_permit", "department", "answer")]
    )


def test_an_enumeration_comma_lists_several_items(matcher):
    r = matcher.match("环评、水保能同时报吗")
    assert r.action == "answer"
    assert [(a.item, a.intent) for a in r.asks] == [
        ("parallel", "process"),
        ("eia", "process"),
        ("soil_water", "process"),
    ]


def test_items_listed_with_spaces_or_nothing_between_them_run_together_when_that_is_asked(matcher):
    """On a phone the list has no 、: 「环评 能评 水保这几个能不能同时报」 asks whether they run together. Without a
    together question the items so written stay one clarify (「环评 能评要多久」 may name one as background)."""
    for question in (
        "环评 能评 水保这几个能不能同时报",
        "环评能评水保能同时报吗",
        "我们几个手续能不能同时报 环评 能评 水保",
    ):
        r = matcher.match(question)
        assert (r.item, r.action, r.reason) == ("parallel", "answer", "several"), question
        assert [a.item for a in r.asks][:2] == ["parallel", "eia"], question
    r = matcher.match("环评 能评要多久")
    assert (r.action, [c.item for c in r.candidates]) == ("clarify", ["eia", "energy_review"])


def test_whether_procedures_run_together_is_the_parallel_topic_and_stays_the_topic(matcher):
    """What 「环评和水保能同时报吗」 asks is whether they run together: the parallel topic first (the first item's
    process after it), and an elliptical follow-up continues the parallel topic, not the item named first."""
    verify_conversation(
        matcher,
        [
            ("王经理", "环评、能评、水保能不能同时办？", "parallel", "process", "answer", False),
            ("王经理", "具体怎么操作", "parallel", "process", "answer", True),
        ],
    )
    # several projects together is a steward's question, with or without an earlier question
    for context in (None, Context("eia", "materials")):
        r = matcher.match("一期二期能一起报不", context)
        assert (r.item, r.action, r.reason) == (None, "handoff", "several_projects")
    # 联合 is a together word after 能/可以/可否, and part of the names 联合验收, 联合图审 otherwise
    r = matcher.match("联合验收和规划核实分别要多久")
    assert [(a.item, a.intent) for a in r.asks] == [
        ("completion_filing", "time_limit"),
        ("planning_verification", "time_limit"),
    ]


# -- the fifth pass of issue 7 (blind6 read) -------------------------------------------------------------


def test_got_at_the_end_of_the_clause_before_is_not_said_of_the_next_item(matcher):
    """「拿到了」 ends the clause before: 「可研批复拿到了，初设…」 is no 「拿到了初设」."""
    verify_dialog(
        matcher,
        [
            ("可研批复上周拿到了，初设审批要几个工作日", "preliminary_design", "time_limit", "answer"),
            ("节能审查意见拿到了，环评要交钱吗", "eia", "fee", "answer"),
        ],
    )


def test_the_fifth_passs_near_misses_are_handed_off(matcher):
    verify_dialog(
        matcher,
        [
            ("建筑垃圾处置核准找哪个部门", None, "department", "handoff"),
            ("渣土运输证怎么办", None, "process", "handoff"),
            ("境外投资项目备案要交什么材料", None, "materials", "handoff"),  # 项目备案 of another matter
        ],
    )


def test_saying_one_will_ask_elsewhere_closes_the_turn_and_inherits_nothing(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "林草审批找哪个部门", "forest_grass", "department", "answer", False),
            ("王经理", "好的，我打电话问问", None, "other", "smalltalk", False),
        ],
    )


def test_a_near_miss_built_on_an_items_name_is_handed_off_but_a_typed_by_sound_name_is_not(matcher):
    verify_dialog(
        matcher,
        [
            # the name is written, and the model is sure the matter is another one
            ("人防工程监理资质怎么申请", None, None, "handoff"),
            ("政府投资项目施工招标，招标文件要去哪里备案，流程是什么？", None, None, "handoff"),
            # typed by sound: the model knows no 换评 or 去水, so its p(no item) does not overrule the name
            ("换评需要什么材料", "eia", "materials", "answer"),
            ("去水许可证 到期了怎么延续", "water_permit", None, "answer"),
            # the transport department's permit for road works, and water works' quality supervision (blind90, read)
            ("公路建设项目施工许可 交通运输局那边要哪些资料", None, None, "handoff"),
            ("公路施工许可找谁", None, None, "handoff"),
            ("水利工程质量监督那个手续漏了 现在去哪补", None, None, "handoff"),
            ("施工许可证找谁", "construction_permit", "department", "answer"),
        ],
    )


def test_a_paper_named_loosely_that_the_earlier_items_list_names_is_its_paper(matcher):
    """「评估报告谁审」 names no item, and sounds like several (地灾, 洪评, 能评): after 压覆矿, whose material list names
    its 评估报告, it asks of 压覆矿 (blind104, read), and the conversation goes on about it; read alone it is a choice."""
    verify_conversation(
        matcher,
        [
            ("王经理", "压矿的手续找谁办啊", "mineral_overlay", "department", "answer", False),
            ("王经理", "要做的话评估报告谁审", "mineral_overlay", "department", "answer", True),
            ("王经理", "审批多少个工作日", "mineral_overlay", "time_limit", "answer", True),
            ("李工", "危化品安全条件审查怎么办", "safety_review", "process", "answer", False),
            ("李工", "预评价报告谁来评审", "safety_review", "department", "answer", True),
        ],
    )
    alone = matcher.match("要做的话评估报告谁审")
    assert alone.action == "clarify" and "mineral_overlay" not in {c.item for c in alone.candidates[:1]}


def test_binglian_typed_by_sound_is_a_together_word(matcher):
    """并连, 并联 typed by sound (eight labelled questions write it so), asks whether procedures run together
    (blind107, read after it judged this pass's end): after 消防设计审查 it was read as 施工图审查's process."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防设计审查要多久", "fire_design", "time_limit", "answer", False),
            ("王经理", "跟施工图审查能并连吗", "parallel", "process", "answer", True),
        ],
    )


def test_a_long_together_question_takes_the_items_listed_by_spaces_before_its_clause(matcher):
    """A long message whose asking clause names one item takes the items listed right before it, spaces between
    them, as the ones asked whether they run together (blind102, read); a clause telling a step done ends the list."""
    verify_dialog(
        matcher,
        [
            (
                "我们是市政道路项目 时间很紧 今年下半年要开工 想问环评 水保 用地预审能不能同时报",
                "parallel",
                "process",
                "answer",
            ),
            (
                "我们厂在开发区 土地已经摘牌了 环评已经批了 施工许可能同时报吗",
                "construction_permit",
                "process",
                "answer",
            ),
        ],
    )


def test_a_together_question_naming_wuzheng_lianfa_asks_of_the_scheme_not_the_parallel_topic(matcher):
    """五证联发 is itself the way the certificates are issued together: named in a together question (blind101,
    read; 79 of the 80 labelled questions so written ask of it) it is what is asked, and the next turn goes on about
    it; a together question naming no scheme is still the parallel topic's."""
    verify_conversation(
        matcher,
        [
            ("王经理", "工规证和施工证能不能按五证联发一起出", "five_certs", "process", "answer", False),
            ("王经理", "要我们提前准备啥", "five_certs", "materials", "answer", True),
            ("李工", "听说有五证联发 能跟施工证一起发吗", "five_certs", "process", "answer", False),
            ("张总", "环评和水保能一起报吗", "parallel", "process", "answer", False),
        ],
    )


def test_each_at_the_start_asks_of_the_last_two_items_spoken_of(matcher):
    """「分别要多久」 after two items and whether they run together (blind102, read) asks each of the two, as
    「这俩分别要多久」 does; before, it asked the last one alone."""
    contexts, asker = MemoryContexts(), ASKERS["王经理"]
    read = []
    for question in ("洪评去哪办", "取水许可呢", "这俩能一起报吗", "分别要多久"):
        read.append(matcher.match(question, contexts.recall(*asker)))
        contexts.follow(*asker, read[-1])
    assert [(r.item, r.action) for r in read[:3]] == [
        ("flood_impact", "answer"),
        ("water_permit", "answer"),
        ("parallel", "answer"),
    ]
    each = read[-1]
    assert (each.action, each.intent) == ("answer", "time_limit")
    assert {a.item for a in each.asks} == {"flood_impact", "water_permit"}


def test_a_bare_qian_after_a_question_asks_what_it_costs_it_is_no_small_talk(matcher):
    """「钱」 is one character, but a word asking on its own (blind103, read): after a question it asks the fee of the
    item spoken of (offered when the gate doubts the bare word), where before it was taken for small talk."""
    verify_conversation(
        matcher,
        [
            ("王经理", "环评要多久", "eia", "time_limit", "answer", False),
            ("王经理", "钱？", "eia", "fee", "answer", True),
            ("李工", "水保方案去哪报", "soil_water", "department", "answer", False),
            ("李工", "钱", "soil_water", "fee", "clarify", True),
            ("李工", "嗯", None, "other", "smalltalk", False),
        ],
    )


def test_a_filing_of_another_matter_written_as_bare_beian_is_handed_off(matcher):
    """备案 alone names no procedure of its own: where the model reads another matter's filing (blind101, read), the
    message goes to a person; a question of the project's own filing is still answered."""
    verify_dialog(
        matcher,
        [
            ("网签备案系统开户找谁啊", None, "department", "handoff"),
            ("施工招标完了在哪备案", None, "department", "handoff"),
            ("备案在哪办", "filing", "department", "answer"),
            ("我们厂房项目备案要多久", "filing", "time_limit", "answer"),
        ],
    )


def test_a_follow_up_asks_what_the_model_reads_in_it_not_the_earlier_intent(matcher):
    """A short follow-up without an item keeps the item; what it asks is its own, as the model reads it, even
    where no hand-written cue fires (「交给谁」 asks who, 「要掏钱不」 what it costs); only a bare 「…呢」 repeats
    the earlier question."""
    verify_conversation(
        matcher,
        [
            ("王经理", "可研审批要交什么材料", "feasibility", "materials", "answer", False),
            ("王经理", "交给谁", "feasibility", "department", "answer", True),
            ("王经理", "要掏钱不", "feasibility", "fee", "answer", True),
            ("李工", "环评要多长时间", "eia", "time_limit", "answer", False),
            ("李工", "水保呢", "soil_water", "time_limit", "answer", True),
            ("李工", "林地审核多久", "forest_grass", "time_limit", "answer", False),
            ("李工", "草原的呢", "forest_grass", "time_limit", "answer", True),  # the same item's other part
        ],
    )


def test_whether_to_attach_another_procedures_paper_is_the_earlier_items_materials(matcher):
    """「要附备案证吗」「建议书批复要附吗」: attaching what another procedure issued is how the earlier item's
    material list is handed in, not a question about that procedure."""
    verify_conversation(
        matcher,
        [
            ("王经理", "节能报告审查要哪些材料", "energy_review", "materials", "answer", False),
            ("王经理", "要附备案证吗", "energy_review", "materials", "answer", True),
            ("李工", "可研审批要交什么", "feasibility", "materials", "answer", False),
            ("李工", "建议书批复要附吗", "feasibility", "materials", "answer", True),
        ],
    )


def test_whether_the_earlier_item_waits_for_something_is_its_process(matcher):
    """「是出让合同签完以后才能办是吧」 after 不动产权证 names another procedure's paper, but asks whether the
    procedure the conversation is about waits for it: that procedure's order, its process."""
    verify_conversation(
        matcher,
        [
            ("王经理", "不动产权证书办下来要几天", "property_cert", "time_limit", "answer", False),
            ("王经理", "是出让合同签完以后才能办是吧", "property_cert", "process", "answer", True),
            ("王经理", "去哪个窗口", "property_cert", "department", "answer", True),
        ],
    )
    # not when it asks how long, nor when it begins with its own subject
    r = matcher.match("要几天以后才能领", Context("property_cert", "materials"))
    assert (r.item, r.intent) == ("property_cert", "time_limit")
    r = matcher.match("环评是不是要立项以后才能办", Context("soil_water", "materials"))
    assert (r.item, r.intent) == ("eia", "process")


def test_a_procedure_not_done_yet_is_what_the_earlier_item_waits_for(matcher):
    """Another procedure named as unfinished, or as what must come first, is the earlier item's order (or its
    容缺 when that is asked), and the next elliptical question stays with the earlier item."""
    verify_conversation(
        matcher,
        [
            ("王经理", "竣工验收备案都需要哪些材料啊", "completion_filing", "materials", "answer", False),
            ("王经理", "消防验收没完成能先备案吗", "completion_filing", "process", "answer", True),
            ("王经理", "备案多少天办完", "completion_filing", "time_limit", "answer", True),
            ("李工", "你好，施工许可证网上能办吗", "construction_permit", "process", "answer", False),
            ("李工", "图审还没完能容缺不", "construction_permit", "tolerance", "answer", True),
            ("张总", "火电项目是核准吧，要准备哪些", "verification", "materials", "answer", False),
            ("张总", "需要先拿到用地预审意见吗", "verification", "process", "answer", True),
        ],
    )
    # a second procedure asked about besides the unfinished one is the message's own question
    r = matcher.match("水保还没批下来，能先报用地预审吗", Context("energy_review", "materials"))
    assert r.item == "land_prereview" and not r.context
    # not done yet, but no asking whether to go ahead: about the procedure it names (here, where it stands)
    r = matcher.match("环评还没批下来", Context("construction_permit", "materials"))
    assert r.item == "eia" and not r.context


def test_a_new_matter_announced_does_not_borrow_the_earlier_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "节能审查在哪个窗口交", "energy_review", "department", "answer", False),
            ("王经理", "顺便问下，电力接入找谁", None, "department", "handoff", False),
            ("王经理", "那要多久", None, None, "handoff", False),  # about 电力接入, not 节能审查
            ("王经理", "另外问一下环评登记表要交啥", "eia", "materials", "answer", False),
            ("王经理", "另外还要交什么材料", "eia", "materials", "answer", True),  # more of the same matter
        ],
    )


def test_another_item_also_reviewed_with_the_earlier_one_is_the_parallel_topic(matcher):
    r = matcher.match("人防的图也一起审吗", Context("drawing_review", "time_limit"))
    assert (r.item, r.intent, r.context) == ("parallel", "process", True)
    assert [(a.item, a.intent) for a in r.asks] == [("parallel", "process"), ("civil_defense", "process")]


def test_a_follow_up_about_the_earlier_items_paper_or_way_keeps_it(matcher):
    """A bare procedure word with what it issues (「备案证明」 after 竣工验收备案), a choice of forms
    (「原件还是复印件」), the portal named as where it is done, a topic needed first: the earlier item."""
    verify_conversation(
        matcher,
        [
            ("王经理", "竣工验收备案需要哪些资料", "completion_filing", "materials", "answer", False),
            ("王经理", "备案证明是纸质的还是电子的", "completion_filing", "materials", "answer", True),
            ("李工", "请问建设用地规划许可证要什么材料", "land_use_planning", "materials", "answer", False),
            ("李工", "原件还是复印件", "land_use_planning", "materials", "answer", True),
            ("张总", "节能审查要准备哪些材料", "energy_review", "materials", "answer", False),
            ("张总", "表在一网通办上填还是交纸质的", "energy_review", "process", "answer", True),
        ],
    )
    # alone, each is the item it names
    assert matcher.match("备案证明是纸质的还是电子的").item == "filing"
    assert matcher.match("一网通办是什么").item == "online_portal"
    r = matcher.match("一网通办是什么", Context("energy_review", "materials"))
    assert r.item == "online_portal" and not r.context  # asked about the portal itself
    r = matcher.match("报之前需要先有项目代码吧", Context("proposal", "time_limit"))
    assert (r.item, r.intent, r.context) == ("proposal", "process", True)


def test_a_question_particle_is_no_name_typed_by_sound(matcher):
    """「出批复吗」 sounds like 赋码 (fù mǎ) at its end; a name typed by sound inside the sentence still counts."""
    r = matcher.match("补齐之前能先出批复吗", Context("eia", "tolerance"))
    assert (r.item, r.intent) == ("eia", "tolerance")
    assert "project_code" not in {c.item for c in matcher.match("补齐之前能先出批复吗").candidates}
    assert matcher.match("项目代吗和备案号是一个东西吗").candidates[0].item == "project_code"


def test_the_item_named_as_a_partner_goes_with_the_earlier_one(matcher):
    """「能和施工图审查一起报吗」 after 消防设计审查 asks whether the earlier item goes with the one named."""
    r = matcher.match("能和施工图审查一起报吗", Context("fire_design", "time_limit"))
    assert (r.item, r.intent) == ("parallel", "process")
    assert [(a.item, a.intent) for a in r.asks] == [
        ("parallel", "process"),
        ("drawing_review", "process"),
        ("fire_design", "process"),
    ]
    assert r.context_after() == Context("fire_design", "process", ("drawing_review",))  # the conversation stays
    r = matcher.match("施工图审查能一起报吗", Context("fire_design", "time_limit"))
    assert [a.item for a in r.asks] == ["parallel", "drawing_review"]  # the item named is the subject


def test_another_item_named_too_loosely_is_offered_not_the_earlier_one(matcher):
    """「消防的呢」 after 人防审批要多久: the earlier question about 消防 (design review or acceptance?) — offered as
    a choice, never answered about 人防."""
    r = matcher.match("消防的呢", Context("civil_defense", "time_limit"))
    assert (r.action, r.intent, r.context) == ("clarify", "time_limit", True)
    assert {c.item for c in r.candidates} >= {"fire_design", "fire_acceptance"}
    assert "civil_defense" not in {c.item for c in r.candidates}


def test_one_item_and_an_unnamed_partner_asked_together_is_the_parallel_topic(matcher):
    """「人防和消防能一起审吗」 names 人防 outright and 消防 loosely: whether they may run together."""
    for question, item in (
        ("人防和消防能一起审吗", "civil_defense"),
        ("规划许可和施工图审查能一起走吗", "drawing_review"),
    ):
        r = matcher.match(question)
        assert (r.item, r.intent, r.action) == ("parallel", "process", "answer"), question
        assert [(a.item, a.intent) for a in r.asks] == [("parallel", "process"), (item, "process")]
    # one item alone (no partner), or 「一起报的话」 asking how long: not this reading
    assert matcher.match("施工图审查能一起报吗").item == "drawing_review"
    assert matcher.match("初步设计和概算一起报的话发改一般几天能批完").intent == "time_limit"


def test_the_earlier_items_own_department_named_keeps_the_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "不动产权证要什么材料", "property_cert", "materials", "answer", False),
            ("王经理", "登记中心在政务大厅吗", "property_cert", "department", "answer", True),
        ],
    )
    # another department's name is no follow-up of the earlier item
    r = matcher.match("水利局在政务大厅吗", Context("property_cert", "materials"))
    assert r.item != "property_cert"


def test_the_item_named_next_completes_a_question_asked_without_one(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "这个要多久", None, "time_limit", "handoff", False),
            ("王经理", "就是用地预审那个", "land_prereview", "time_limit", "answer", True),
            ("李工", "查进度", None, "status", "handoff", False),
            ("李工", "施工许可", "construction_permit", "status", "handoff", True),
            ("张总", "要准备啥材料", None, "materials", "handoff", False),
            (
                "张总",
                "施工许可最快啥时候能拿",
                "construction_permit",
                "time_limit",
                "answer",
                False,
            ),  # its own question
        ],
    )
    verify_conversation(
        matcher,
        [
            ("张总", "这个要多久", None, "time_limit", "handoff", False),
            ("张总", "水保呢", "soil_water", "time_limit", "answer", True),  # alone a status question, here answered
        ],
    )


def test_what_the_earlier_item_needs_or_waits_for_keeps_it(matcher):
    """A document asked whether needed (「需要施工图审查合格书吗」), a paper said done (「出让合同签了就能办吗」), a
    procedure not passed yet (「消防验收还没通过…」), something asked to be among the earlier item's (「…包含在里面吗」)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "施工许可证怎么申请", "construction_permit", "process", "answer", False),
            ("王经理", "需要施工图审查合格书吗", "construction_permit", "materials", "answer", True),
            ("王经理", "合格书还没拿到能先受理吗", "construction_permit", "tolerance", "answer", True),
            ("李工", "建设用地规划许可证需要什么前置条件", "land_use_planning", None, "answer", False),
            ("李工", "出让合同签了就能办吗", "land_use_planning", "process", "answer", True),
            ("张总", "五证联发和拿地即开工是一回事吗", "five_certs", "other", "answer", False),
            ("张总", "建设用地规划许可证包含在里面吗", "five_certs", None, "answer", True),
        ],
    )
    r = matcher.match("消防验收还没通过能不能先备案", Context("completion_filing", "materials"))
    assert (r.item, r.context) == ("completion_filing", True)
    # a name at the start that is not said done is the message's own subject
    r = matcher.match("环评是不是要立项以后才能办", Context("soil_water", "materials"))
    assert (r.item, r.intent) == ("eia", "process")


def test_an_item_named_before_what_it_needs_first_is_asked_about(matcher):
    """「核准前要先做用地预审吗」 asks the order of 核准 (its process), not how 用地预审 is done."""
    for question in ("核准前要先做用地预审吗", "核准之前要先拿用地预审吧"):
        r = matcher.match(question)
        assert (r.item, r.intent, r.action) == ("verification", "process", "answer"), question
    assert matcher.match("用地预审要先做吗").item == "land_prereview"


def test_after_several_items_a_follow_up_takes_the_first(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "洪评和取水许可分别要多久", "flood_impact", "time_limit", "answer", False),
            ("王经理", "都是水利局办吗", "flood_impact", "department", "answer", True),
        ],
    )


def test_a_follow_up_naming_nothing_or_pointing_back_stays_with_the_earlier_item(matcher):
    """「是报告书还是报告表」 names nothing (环评 has them too: the model alone would say 环评); 「这个代码」 points at
    项目代码; 「图审还没出」 is not done yet; 「施工许可证能容缺吗」 after the 容缺 topic asks about 施工许可证."""
    verify_conversation(
        matcher,
        [
            ("王经理", "水保方案要做吗", "soil_water", "other", "answer", False),
            # (what it asks is read by the model: the sets label it materials in one place and other in another)
            ("王经理", "是报告书还是报告表", "soil_water", None, "answer", True),
            ("王经理", "要钱吗", "soil_water", "fee", "answer", True),
            ("李工", "请问赋码在哪个平台", "project_code", "department", "answer", False),
            ("李工", "后面办环评是不是都要用这个代码", "project_code", None, "answer", True),
            ("张总", "施工许可证要什么材料", "construction_permit", "materials", "answer", False),
            ("张总", "图审还没出，能先容缺受理吗", "construction_permit", "tolerance", "answer", True),
        ],
    )
    r = matcher.match("施工许可证能容缺吗", Context("tolerance", "other"))
    assert (r.item, r.intent) == ("construction_permit", "tolerance")
    assert matcher.match("是报告书还是报告表").item != "soil_water"  # alone, the model's reading stands


def test_which_comes_first_and_what_the_earlier_item_goes_without(matcher):
    """「先办这个还是先环评」 asks the order of the earlier item and the one named (both, the earlier first);
    「没有施工图审查合格书能办吗」 whether the earlier item goes without a paper; 「能跟图审合并报吗」 whether they run
    together; 「备案前是不是要先把规划核实做完」 what the earlier item waits for."""
    verify_conversation(
        matcher,
        [
            ("王经理", "危化品安全条件审查要什么材料", "safety_review", "materials", "answer", False),
            ("王经理", "先办这个还是先环评", "safety_review", "process", "answer", True),
            ("李工", "施工许可证要什么材料", "construction_permit", "materials", "answer", False),
            ("李工", "没有施工图审查合格书能办吗", "construction_permit", "tolerance", "answer", True),
            ("张总", "竣工验收备案要什么材料", "completion_filing", "materials", "answer", False),
            ("张总", "备案前是不是要先把规划核实做完", "completion_filing", "process", "answer", True),
        ],
    )
    r = matcher.match("先办这个还是先环评", Context("safety_review", "materials"))
    assert [(a.item, a.intent) for a in r.asks] == [("safety_review", "process"), ("eia", "process")]
    r = matcher.match("能跟图审合并报吗", Context("fire_design", "time_limit"))
    assert r.item == "parallel" and "fire_design" in {a.item for a in r.asks}


def test_these_two_are_the_last_items_spoken_of(matcher):
    """「这两个能一起报吗」 after 压覆矿 and then 地灾评估: whether the two run together, each item's process."""
    verify_conversation(
        matcher,
        [
            ("王经理", "我们厂在矿区附近，要不要做压覆矿产", "mineral_overlay", "other", "answer", False),
            ("王经理", "地灾评估呢", "geo_hazard", "other", "answer", True),
            ("王经理", "这两个能一起报吗", "parallel", "process", "answer", True),
            ("李工", "项目建议书审批要多少天", "proposal", "time_limit", "answer", False),
            ("李工", "可研呢", "feasibility", "time_limit", "answer", True),
            ("李工", "初设呢", "preliminary_design", "time_limit", "answer", True),
            ("李工", "这三个能不能同时报", "parallel", "process", "answer", True),
        ],
    )
    r = matcher.match("这两个能一起报吗", Context("geo_hazard", "other", ("mineral_overlay",)))
    assert [(a.item, a.intent) for a in r.asks] == [
        ("parallel", "process"),
        ("mineral_overlay", "process"),
        ("geo_hazard", "process"),
    ]
    # one item spoken of so far: 「这两个」 cannot be read, the earlier item goes as before
    r = matcher.match("这两个能一起报吗", Context("geo_hazard", "other"))
    assert r.item == "parallel" and "mineral_overlay" not in {a.item for a in r.asks}


def test_a_long_together_question_is_about_the_items_of_its_asking_clause(matcher):
    """The story names 备案 and 环评 (under way); the clause that asks names the two planning permits. 「分别需要什么
    材料」 next asks it of the items the together answer was about, not of the parallel topic; 「两个能同时做吗」 after
    two items spoken of names both."""
    question = (
        "我们是一家乳业公司，计划在开发区建乳制品加工厂，已经完成了备案，环评也在做，"
        "想问一下建设用地规划许可证和工程规划许可证能不能一起办？"
    )
    verify_conversation(
        matcher,
        [
            ("王经理", question, "parallel", "process", "answer", False),
            ("王经理", "分别需要什么材料", "land_use_planning", "materials", "answer", True),
            ("李工", "风电场升压站要做压覆矿查询吗", "mineral_overlay", "other", "answer", False),
            ("李工", "地灾评估呢", "geo_hazard", "other", "answer", True),
            ("李工", "两个能同时做吗", "parallel", "process", "answer", True),
        ],
    )
    r = matcher.match(question)
    assert [a.item for a in r.asks] == ["parallel", "land_use_planning", "engineering_planning"]  # 环评 is the story's
    r = matcher.match("两个能同时做吗", Context("geo_hazard", "other", ("mineral_overlay",)))
    assert [a.item for a in r.asks] == ["parallel", "mineral_overlay", "geo_hazard"]


def test_a_follow_up_the_model_alone_reads_as_no_item_takes_the_earlier_one(matcher):
    """「这个能容缺吗」 alone is about no item (the model learned vague questions have none); after a question about
    施工许可 it is that item's — unless it names a matter of its own."""
    verify_conversation(
        matcher,
        [
            ("王经理", "施工许可证那块还差什么材料", "construction_permit", "materials", "answer", False),
            ("王经理", "这个能容缺吗", "construction_permit", "tolerance", "answer", True),
            ("王经理", "多久能发证", "construction_permit", "time_limit", "answer", True),
            ("王经理", "电力业务许可证怎么办", None, None, "handoff", False),
        ],
    )


def test_an_ordinal_picks_an_item_spoken_of_in_the_order_asked(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "压覆矿产审批要什么材料", "mineral_overlay", "materials", "answer", False),
            ("王经理", "地灾评估是哪个部门", "geo_hazard", "department", "answer", False),
            ("王经理", "第一个要多长时间", "mineral_overlay", "time_limit", "answer", True),
            ("李工", "施工许可证要什么材料", "construction_permit", "materials", "answer", False),
            # one item: no ordinal, the conversation's item. Offered until the read dialogues taught the item model
            # (the doubt of kept answers then read p(wrong) 0.19); answered since (thirty-fifth pass)
            ("李工", "第一个要多久", "construction_permit", "time_limit", "answer", True),
        ],
    )


def test_another_procedures_paper_asked_after_a_material_list_is_one_more_material(matcher):
    """「环评批复呢」 after what 可研 needs attached asks whether that paper is needed too, not what 环评 needs;
    「要附施工图吗」: attached, so a paper whatever it is named after; 「那水保呢」 is still the earlier question."""
    verify_conversation(
        matcher,
        [
            ("王经理", "可研报告审批需要提供哪些附件", "feasibility", "materials", "answer", False),
            ("王经理", "环评批复呢", "feasibility", "materials", "answer", True),
            ("王经理", "审批时限多少天", "feasibility", "time_limit", "answer", True),
            ("王经理", "那水保呢", "soil_water", "time_limit", "answer", True),
            ("李工", "初步设计概算谁审", "preliminary_design", "department", "answer", False),
            ("李工", "要附施工图吗", "preliminary_design", "materials", "answer", True),
            ("张总", "咱这个建设用地规划许可证 要啥材料", "land_use_planning", "materials", "answer", False),
            ("张总", "土地出让合同复印件行不", "land_use_planning", "materials", "answer", True),
            ("张总", "那能评呢", "energy_review", "materials", "answer", True),
        ],
    )


def test_how_many_trips_is_a_question_and_the_whole_project_takes_no_item(matcher):
    verify_conversation(
        matcher,
        [
            ("王经理", "备案可以异地办吗", "filing", "process", "answer", False),
            ("王经理", "要跑几趟", "filing", "process", "answer", True),
            ("王经理", "整体还有几项没办", None, "status", "handoff", False),
            ("王经理", "总共还有几个没办完的", None, "status", "handoff", False),
        ],
    )


def test_the_works_going_ahead_of_an_item_named_is_that_items_question(matcher):
    """「水保没批能先动土不」 after another item: the digging waits for 水保 — 水保's tolerance, not the earlier item
    waiting for 水保 (as 「消防验收没完成能先备案吗」 after 竣工验收备案 is)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "危化品安全条件审查要什么材料", "safety_review", "materials", "answer", False),
            ("王经理", "水保没批能先动土不", "soil_water", "tolerance", "answer", False),
        ],
    )


def test_an_faq_question_asked_as_written_is_answered_with_its_answer(matcher):
    """「我还差一份材料，能先受理吗？」, the 容缺 topic's own FAQ question, is answered with its FAQ answer (lost in the
    thirty-fifth pass's retraining, when the item model gave the topic 0.49, under `Weights.alone_answer`, and the doubt
    offered it; back since the thirty-sixth's)."""
    alone = matcher.match("我还差一份材料，能先受理吗？")
    assert (alone.item, alone.faq is not None) == ("tolerance", True)


def test_a_longer_tolerance_follow_up_is_the_earlier_items_tolerance(matcher):
    """「能容缺吗，有个专家评审意见还没出」 after 可研: not the 容缺 topic in general, the earlier item's 容缺."""
    verify_conversation(
        matcher,
        [
            ("王经理", "可研报告审批要什么材料", "feasibility", "materials", "answer", False),
            ("王经理", "能容缺吗，有个专家评审意见还没出", "feasibility", "tolerance", "answer", True),
            ("李工", "容缺受理是什么意思", "tolerance", "other", "answer", False),  # the topic itself
        ],
    )
    # the topic's FAQ answer the message matched (「我还差一份材料，能先受理吗？」) is the topic's, not the earlier item's:
    # the earlier item's own 容缺 list answers (alone, the FAQ question itself: `test_an_faq_question_asked_as_written_
    # is_answered_with_its_answer`)
    followed = matcher.match("我还差一份材料，能先受理吗？", Context("feasibility", "materials"))
    assert (followed.item, followed.intent, followed.faq) == ("feasibility", "tolerance", None)


def test_the_earlier_item_said_done_is_background_of_the_next_question(matcher):
    """「能评批了 接着取水要准备啥」: 能评 done, 取水 (read by the model, written by no name) is what is asked."""
    verify_conversation(
        matcher,
        [
            ("王经理", "节能报告谁审 发改委吗", "energy_review", "department", "answer", False),
            ("王经理", "能评批了 接着取水要准备啥", "water_permit", "materials", "answer", False),
        ],
    )


def test_what_is_asked_of_these_two_is_asked_of_each(matcher):
    """「这俩分别要多久」 after 压覆矿 and then 地灾: one answer covering both items; 「这仨能同时报吧」 names the last
    three (仨 is 三个); 「这三个能并联吗」 is still the together question."""
    r = matcher.match("这俩分别要多久", Context("geo_hazard", "department", ("mineral_overlay",)))
    assert r.action == "answer" and r.context
    assert [(a.item, a.intent) for a in r.asks] == [("mineral_overlay", "time_limit"), ("geo_hazard", "time_limit")]
    r = matcher.match("这俩呢", Context("geo_hazard", "department", ("mineral_overlay",)))
    assert [(a.item, a.intent) for a in r.asks] == [("mineral_overlay", "department"), ("geo_hazard", "department")]
    r = matcher.match("这仨能同时报吧", Context("forest_grass", "time_limit", ("soil_water", "eia")))
    assert r.item == "parallel" and [a.item for a in r.asks][:2] == ["parallel", "eia"]
    r = matcher.match("这三个能并联吗", Context("eia", "fee", ("energy_review", "verification")))
    assert r.item == "parallel"
    # a status question of the two is the ledger's, handed off with the first
    r = matcher.match("这俩批了没", Context("land_prereview", "status", ("forest_grass",)))
    assert (r.item, r.intent, r.action) == ("forest_grass", "status", "handoff")
    # one item spoken of: nothing to point back to, the message is read as before
    r = matcher.match("这俩分别要多久", Context("geo_hazard", "department"))
    assert not r.asks


def test_after_a_together_question_a_follow_up_asks_of_the_procedure(matcher):
    """「消防设计审查是跟审图一块儿报还是单独报」 answers with the parallel topic; 「几个工作日」 next asks how long the
    procedure takes, 「具体怎么操作」 how running them together works, and so does who coordinates it (「谁来协调」
    「牵头的是哪个部门」: the item model reads them as the topic's, not a procedure's; 8 of 8 on the read sets; a status
    question excepted). The
    parallel topic asked about on its own (「联审联批怎么申请」) keeps its follow-ups (「找谁申请」)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防设计审查是跟审图一块儿报还是单独报", "parallel", "process", "answer", False),
            ("王经理", "几个工作日", "fire_design", "time_limit", "answer", True),
            ("赵工", "环评和水保能一起报吗", "parallel", "process", "answer", False),
            ("赵工", "谁来协调", "parallel", "department", "answer", True),
            ("赵工", "那个找哪个局", "eia", "department", "answer", True),
            ("孙总", "施工图审查跟施工许可能并联吗", "parallel", "process", "answer", False),
            ("孙总", "牵头的是哪个部门", "parallel", "department", "answer", True),
            # a status question stays the procedure's, which the ledger answers (the topic has no progress of its own)
            ("孙总", "一起报的那几个进度怎么样", "drawing_review", "status", "handoff", True),
            # people going together are no procedures running together
            ("钱工", "环评和水保能一起报吗", "parallel", "process", "answer", False),
            ("钱工", "领导一起去要带什么", "eia", "materials", "answer", True),
            ("李工", "预审跟环评能同时报不", "parallel", "process", "answer", False),
            ("李工", "具体怎么操作", "parallel", "process", "answer", True),
            ("李工", "这个是市里批还是得报自治区", "land_prereview", "department", "answer", True),
            ("张总", "我们项目环评、能评、水保能不能同时报", "parallel", "process", "answer", False),
            ("张总", "联审联批怎么申请", "parallel", "process", "answer", False),
            # kept, and offered rather than answered: the doubt of kept answers gives it p(wrong) 0.14
            ("张总", "找谁申请", "parallel", "department", "clarify", True),
        ],
    )


def test_an_item_named_as_the_subject_is_no_paper_of_the_earlier_one(matcher):
    """A paper follow-up (「要附施工图吗」) takes the earlier item; an item named as the message's subject does not:
    「初设要准备哪些材料 概算要附吗」 after 可研 asks of 初设, 「竣工备案要附消防验收的意见书吧」 after 消防验收 names the
    paper after 附 and what it goes with before it, 「施工证能容缺吗」 asks the permit's own 容缺."""
    r = matcher.match("初设要准备哪些材料 概算要附吗", Context("feasibility", "department"))
    assert (r.item, r.intent, r.context) == ("preliminary_design", "materials", False)
    r = matcher.match("竣工备案要附消防验收的意见书吧", Context("fire_acceptance", "tolerance"))
    assert r.item == "completion_filing" and not r.context
    r = matcher.match("施工证能容缺吗 审图合格书还没出", Context("fire_design", "fee"))
    assert r.item == "construction_permit" and not r.context
    # what is named before 附上 with nothing after it is the paper: the earlier item's materials
    r = matcher.match("用地规划许可证要附上吗", Context("engineering_planning", "materials"))
    assert (r.item, r.intent, r.context) == ("engineering_planning", "materials", True)


def test_a_hint_said_alone_with_fillers_names_its_item(matcher):
    """林草 is a hint (also the 林草局's name), so alone it names no item; 「那林草的呢」 after 水保多久 asks the earlier
    question of 林草审核, not of 水保."""
    verify_conversation(
        matcher,
        [
            ("王经理", "水保多久", "soil_water", "time_limit", "answer", False),
            ("王经理", "那林草的呢", "forest_grass", "time_limit", "answer", True),
        ],
    )


def test_a_message_that_only_tells_is_read_by_a_steward(matcher):
    """「谢谢老师昨天帮忙协调 用地规划证已经拿到了」 says something done and asks nothing: a steward reads it, no item
    summary is sent; 「好的 我等电话」 after an answer only goes on from it. A bare name and an intonation question
    still get their answers."""
    r = matcher.match("谢谢老师昨天帮忙协调 用地规划证已经拿到了")
    assert r.action == "handoff"  # told, or doubted by the model first: either way a steward reads it
    r = matcher.match("好的 我等电话", Context("feasibility", "time_limit"))
    assert (r.action, r.reason) == ("handoff", "told")
    assert matcher.match("环评").action == "answer"
    assert matcher.match("俺们在河槽边边上修个路，还得做洪水评价了？").action == "answer"
    assert matcher.match("老师，我们那个核准要弄好久嘛").action == "answer"


def test_an_ordinal_after_several_items_asked_at_once_counts_in_the_order_written(matcher):
    """「用地预审和工规证 这俩分别找谁」 then 「第一个多久能出」 is 用地预审, 「后面那个要钱不」 工规证; 「前面那个多久」 after
    取水许可 and then 洪评 is 取水许可."""
    verify_conversation(
        matcher,
        [
            ("王经理", "我们现在要办用地预审和工规证 这俩分别找谁", "land_prereview", "department", "answer", False),
            ("王经理", "第一个多久能出", "land_prereview", "time_limit", "answer", True),
            ("王经理", "后面那个要钱不", "engineering_planning", "fee", "answer", True),
            ("李工", "取水许可要啥材料", "water_permit", "materials", "answer", False),
            ("李工", "换成洪评一样吗", "flood_impact", None, "answer", False),
            ("李工", "前面那个多久", "water_permit", "time_limit", "answer", True),
        ],
    )


def test_which_of_these_two_comes_first_asks_of_both(matcher):
    """「这俩哪个先报好」 after 环评 and then 水保: the order of the two, each item's process."""
    r = matcher.match("这俩哪个先报好", Context("soil_water", "process", ("eia",)))
    assert r.item == "eia" and [(a.item, a.intent) for a in r.asks] == [("eia", "process"), ("soil_water", "process")]


def test_how_tolerance_itself_goes_is_the_topics_question(matcher):
    """After 施工许可's 容缺, 「容缺的话是网上申请还是去窗口」 asks how 容缺 itself is applied for (the topic);
    「那能容缺吗」 after 环评 is still 环评's 容缺."""
    r = matcher.match("容缺的话是网上申请还是去窗口", Context("construction_permit", "tolerance"))
    assert (r.item, r.intent, r.context) == ("tolerance", "process", False)
    r = matcher.match("承诺书签了以后多长时间内得把材料补齐", Context("construction_permit", "tolerance"))
    assert (r.item, r.intent) == ("tolerance", "time_limit")
    r = matcher.match("那能容缺吗", Context("eia", "time_limit"))
    assert (r.item, r.intent, r.context) == ("eia", "tolerance", True)


def test_what_is_asked_after_the_item_named_keeps_it_the_subject(matcher):
    """「谢谢 那可研要附啥」 after 项目建议书 asks what 可研 needs (附 asks what), 「原产地证呢 也是那个海关吗」 after AEO
    asks of 原产地证 (那个海关 is no pointer back when the item is named with 呢), and 「容缺能用吗」 after a together
    question is the procedure's 容缺."""
    r = matcher.match("谢谢 那可研要附啥", Context("proposal", "time_limit"))
    assert (r.item, r.intent, r.context) == ("feasibility", "materials", False)
    r = matcher.match("原产地证呢 也是那个海关吗", Context("customs_aeo", "time_limit"))
    assert (r.item, r.intent) == ("customs_origin", "department")
    r = matcher.match("容缺能用吗", Context("parallel", "process", ("forest_grass",), together=True))
    assert (r.item, r.intent, r.context) == ("forest_grass", "tolerance", True)
    # what is attached written after 附 is still a paper of the earlier item
    r = matcher.match("要附施工图吗", Context("construction_permit", "materials"))
    assert (r.item, r.intent, r.context) == ("construction_permit", "materials", True)


def test_a_step_or_a_time_before_or_after_is_no_item_pointed_back_to(matcher):
    """「前面那个多久」 picks the earlier of the last two items; 「上一个环节」「前面那个步骤」「批复后一个季度」 speak of a
    step or a time, not of an item."""
    earlier = Context("flood_impact", "materials", ("water_permit",))
    assert matcher.match("前面那个多久", earlier).item == "water_permit"
    for question in ("上一个环节没通过怎么办", "前面那个步骤要多久", "批复后一个季度内要开工吗"):
        assert matcher.match(question, earlier).item != "water_permit", question
    # a message that only acknowledges starts with a word of thanks, not with one that begins like it
    r = matcher.match("行政审批局那边说材料齐了", Context("eia", "materials"))
    assert r.reason != "told"


def test_an_ordinal_used_keeps_the_order_and_all_of_them_is_each(matcher):
    """「第一个多久能拿」 then 「第二个呢」 count in the same order (picking one by its place does not reorder them);
    「都发改委批吗」 after three items asks it of each of the last ones, 「都要交吗」 after one item is its own."""
    verify_conversation(
        matcher,
        [
            ("王经理", "用地规划许可要啥材料", "land_use_planning", "materials", "answer", False),
            ("王经理", "工规证呢", "engineering_planning", "materials", "answer", True),
            ("王经理", "第一个多久能拿", "land_use_planning", "time_limit", "answer", True),
            ("王经理", "第二个呢", "engineering_planning", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("都网上?", Context("filing", "time_limit", ("verification",)))
    assert [(a.item, a.intent) for a in r.asks] == [("verification", "process"), ("filing", "process")]
    r = matcher.match("都要交吗", Context("eia", "materials"))
    assert (r.item, r.asks) == ("eia", ())


def test_the_last_one_is_the_last_item_spoken_of(matcher):
    """「环评 水保 能评 分别找哪个部门」 then 「最后那个要钱不」 is 能评; 「那第一个呢」 counts as 「第一个」 does;
    「最后一个步骤」 is a step, no item."""
    verify_conversation(
        matcher,
        [
            ("王经理", "环评 水保 能评 分别找哪个部门", "eia", "department", "answer", False),
            ("王经理", "第一个要多久", "eia", "time_limit", "answer", True),
            ("王经理", "第二个呢", "soil_water", "time_limit", "answer", True),
            ("王经理", "最后那个要钱不", "energy_review", "fee", "answer", True),
            ("李工", "取水许可和洪评 哪个先办", "water_permit", "process", "answer", False),
            ("李工", "刚才说的第二个 要交啥", "flood_impact", "materials", "answer", True),
            ("李工", "那第一个呢", "water_permit", "materials", "answer", True),
        ],
    )
    r = matcher.match("最后一个步骤是啥", Context("eia", "process", ("soil_water",)))
    assert r.by_place is False


def test_a_correction_asks_the_earlier_question_of_the_item_named_now(matcher):
    """The asker says the bot took the wrong item: 「不是环评，是能评」「我说的是林草，不是水保」「搞错了，是洪评」 ask the
    earlier question of the item named now, 「我们是报告表 不是报告书」 of the same item; a correction that asks its own
    (「我问的是施工许可要多少天」) is read as it asks, after a status question it goes to a steward, and neither 是不是
    nor a plain 不是 (「环评不是必须的吧」) is a correction."""
    verify_conversation(
        matcher,
        [
            ("王经理", "环评要多久", "eia", "time_limit", "answer", False),
            ("王经理", "不是环评，是能评", "energy_review", "time_limit", "answer", True),
            ("王经理", "那要钱吗", "energy_review", "fee", "answer", True),
            ("李工", "水保方案要啥材料", "soil_water", "materials", "answer", False),
            ("李工", "我说的是林草，不是水保", "forest_grass", "materials", "answer", True),
            ("张总", "取水许可要钱吗", "water_permit", "fee", "answer", False),
            ("张总", "搞错了，是洪评", "flood_impact", "fee", "answer", True),
            ("张总", "打错了 是能评", "energy_review", "fee", "answer", True),  # typed wrong, as dictated or typed
            ("张总", "不对 我问的是工程规划许可证要多久", "engineering_planning", "time_limit", "answer", False),
            ("张总", "环评批复一般多久能下来", "eia", "time_limit", "answer", False),
            ("张总", "我们是报告表 不是报告书", "eia", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("环评不是必须的吧", Context("eia", "time_limit"))
    assert (r.item, r.intent, r.context) == ("eia", "other", False)
    # questions with 不是 or 不对 in them ask their own, of another item too
    for question, context in (
        ("水保不是必须的吧", Context("eia", "time_limit")),
        ("节能审查不是在发改委吗", Context("eia", "time_limit")),
        ("水保在水利局办对不对", Context("eia", "time_limit")),
        ("环评报告写错了能改吗", Context("water_permit", "time_limit")),
    ):
        r = matcher.match(question, context)
        assert r.intent != "time_limit" and not r.context, question
    # still read as the item it says it is not: a person reads it
    r = matcher.match("不是人防 是消防", Context("civil_defense", "fee"))
    assert (r.item, r.action) == (None, "handoff")
    r = matcher.match("不是人防是消防设计审查", Context("civil_defense", "status"))
    assert (r.item, r.intent, r.action) == ("fire_design", "status", "handoff")
    r = matcher.match("水保是不是也要做", Context("eia", "time_limit"))
    assert (r.item, r.intent) == ("soil_water", "other")


def test_matters_of_other_offices_in_a_conversation_go_to_a_person(matcher):
    """「电网接入那块找哪」 after 林草, 「高新企业认定在哪申报」 after 能评, 「这周六调休上班，窗口开门不」: matters the
    knowledge base lacks, handed off, not answered with the earlier item; 「行 那麻烦了」 is thanks."""
    verify_conversation(
        matcher,
        [
            ("王经理", "林草审批要多久", "forest_grass", "time_limit", "answer", False),
            ("王经理", "电网接入那块找哪", None, "department", "handoff", False),
            ("李工", "能评批到哪一步了", "energy_review", "status", "handoff", False),
            ("李工", "高新企业认定在哪申报", None, None, "handoff", False),
            ("张总", "用地规划许可在哪个窗口办", "land_use_planning", "department", "answer", False),
            ("张总", "这周六调休上班，窗口开门不", None, None, "handoff", False),
        ],
    )
    r = matcher.match("行 那麻烦了", Context("engineering_planning", "tolerance"))
    assert (r.item, r.action) == (None, "smalltalk")
    # 提交评审 is no 交评 (交通影响评价)
    r = matcher.match("提交评审要多久", Context("preliminary_design", "materials"))
    assert (r.item, r.action) == ("preliminary_design", "answer")


def test_an_item_whose_approval_is_had_is_the_background(matcher):
    """「环评批复拿到了 排污许可证接着咋弄」: 环评 is done (its 批复 had), 排污许可 is asked — out of scope; with 水保
    asked instead it is 水保's question."""
    r = matcher.match("环评批复拿到了 排污许可证接着咋弄")
    assert (r.item, r.action, r.reason) == (None, "handoff", "out_of_scope")
    r = matcher.match("环评批复拿到了 水保接着咋弄")
    assert (r.item, r.intent, r.action) == ("soil_water", "process", "answer")
    # 「批下来以后」 after the name: its approval come through (as 「下来以后」 and 「批下来了」 were read already), so a
    # topic named after it is the subject, not how the approved item is asked about
    r = matcher.match("核准批下来以后 项目代码还用原来那个吗")
    assert (r.item, r.action) == ("project_code", "answer")
    r = matcher.match("环评批下来要多久")  # no 以后: still the item's own time
    assert (r.item, r.intent) == ("eia", "time_limit")


def test_another_procedures_paper_asked_whether_it_is_needed_is_a_material_of_the_item_before(matcher):
    """「消防验收意见书要吗」 in a conversation about 竣工验收备案 asks whether that paper goes with the filing (as
    「…也要附上吗」 did already), not what 消防验收 needs; the turns after it stay with the filing (blind86, read)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "竣工验收备案是不是在住建局 网上提交还是去窗口", "completion_filing", None, "answer", False),
            ("王经理", "要准备哪些资料 消防验收意见书要吗", "completion_filing", "materials", "answer", True),
            ("王经理", "消防验收还没下来 能先备案吗", "completion_filing", None, "answer", True),
        ],
    )
    r = matcher.match("环评批复要多久")  # the paper's own procedure, asked how long: still 环评's
    assert (r.item, r.intent) == ("eia", "time_limit")


def test_inspections_booked_or_held_together_ask_whether_they_run_together(matcher):
    """「能和消防验收一起约吗」 after 人防验收: booking the two inspections together (约, 验), as 一起报/一起做 asks
    (blind86, read)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "人防验收要提前准备什么", "civil_defense", "materials", "answer", False),
            ("王经理", "能和消防验收一起约吗", "parallel", "process", "answer", True),
        ],
    )
    r = matcher.match("消防验收可以约哪天")  # booked alone: the inspection's own question
    assert r.item == "fire_acceptance"


def test_a_stage_named_after_an_item_is_when_not_what(matcher):
    """「可研阶段」 is a time in the project (as 「竣工以后」), not the feasibility study asked about: after a question
    of 安全条件审查, 「可研阶段就要做是吧」 still asks of it, and so do the turns after it (blind81, read)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "危化品建设项目安全条件审查 在项目哪个阶段做", "safety_review", "process", "answer", False),
            ("王经理", "可研阶段就要做是吧", "safety_review", "process", "answer", True),
            ("王经理", "收费吗", "safety_review", "fee", "answer", True),
        ],
    )
    r = matcher.match("可研阶段要做安全条件审查吗")
    assert (r.item, r.intent, r.action) == ("safety_review", "process", "answer")
    r = matcher.match("可研要多久")  # the study itself, named without a stage
    assert (r.item, r.intent) == ("feasibility", "time_limit")


def test_the_portal_named_after_the_project_code_asks_how_the_code_is_had(matcher):
    """「在一网通办上能看到吗」 after 赋码: how the code is applied for and seen, on the portal."""
    verify_conversation(matcher, [("王经理", "项目代码怎么赋码", "project_code", "process", "answer", False)])
    # offered rather than answered (the doubts of later turns: 一网通办 may be meant), the code among the choices
    r = matcher.match("在一网通办上能看到吗", Context("project_code", "process"))
    assert (r.action, r.intent) == ("clarify", "process")
    # the doubted switch offers the portal named first, the code beside it
    assert [c.item for c in r.candidates] == ["online_portal", "project_code"]


def test_a_filing_spot_check_is_the_fire_acceptance(matcher):
    """备案抽查 is how the fire acceptance of ordinary works goes (备案, then a spot check), not 投资项目备案."""
    r = matcher.match("备案抽查没通过会怎样")
    assert (r.item, r.action) == ("fire_acceptance", "answer")
    # on 要钱 the retrained item model leans to 投资项目备案: offered, 消防验收 first (answered before)
    r = matcher.match("备案抽查要钱吗")
    assert (r.item, r.action, [c.item for c in r.candidates]) == (
        "fire_acceptance",
        "clarify",
        ["fire_acceptance", "filing"],
    )


def test_an_estimate_over_the_feasibility_study_is_not_answered_as_the_study_alone(matcher):
    """「概算超了可研估算10%咋办」: 概算 is the 初步设计's, 可研估算 the study's figure it is measured against (after 超),
    so the 初步设计 is asked of, not the study (labelled so in every read set that has it)."""
    r = matcher.match("概算超了可研估算10%咋办", Context("preliminary_design", "materials"))
    assert (r.item, r.intent) == ("preliminary_design", "process")


def test_an_item_said_had_is_background_to_the_earlier_one(matcher):
    """「项目代码有了 还要啥」 after 用地预审: the code is had; what else is asked of 用地预审. 「备案以后信息填错了能
    改不」 names 备案 as a point in time of its own question: it stays 备案's."""
    verify_conversation(
        matcher,
        [
            ("王经理", "用地预审是报市里还是报自治区", "land_prereview", "department", "answer", False),
            ("王经理", "项目代码有了 还要啥", "land_prereview", "materials", "answer", True),
        ],
    )
    r = matcher.match("备案以后信息填错了能改不", Context("project_code", "process"))
    assert (r.item, r.context) == ("filing", False)
    r = matcher.match("环评有了新要求吗", Context("water_permit", "fee"))  # 有了 with more said: no background
    assert r.item == "eia"


def test_the_electronic_certificate_is_the_form_of_the_earlier_items_result(matcher):
    """「批完是电子证照吗」 after 环评: the form 环评's approval comes in, not the portal (电子证照 is also a name of
    一网通办); 「下来了的话是自己去领还是电子证照」 likewise."""
    r = matcher.match("批完是电子证照吗", Context("eia", "time_limit"))
    assert (r.item, r.action, r.context) == ("eia", "answer", True)
    r = matcher.match("下来了的话是自己去领还是电子证照", Context("engineering_planning", "status"))
    assert (r.item, r.context) == ("engineering_planning", True)
    assert matcher.match("电子证照在哪下载").item == "online_portal"
    for question in ("电子证照怎么打印", "电子证照登不上去"):  # the portal's own question, after an item too
        assert matcher.match(question, Context("eia", "time_limit")).item == "online_portal", question


def test_tolerance_of_every_item_or_after_the_portal_is_the_mechanism(matcher):
    """容缺 after an item is that item's (「能容缺不」), but asked of every item (「不是所有事项都能容缺吧」) or after
    the portal (「有个附件暂时没有 系统不让提交 能容缺吗」) it is the 容缺 mechanism itself."""
    r = matcher.match("能容缺不", Context("eia", "time_limit"))
    assert (r.item, r.intent) == ("eia", "tolerance")
    r = matcher.match("那能容缺吗 所有材料都没齐", Context("eia", "time_limit"))
    assert (r.item, r.intent, r.context) == ("eia", "tolerance", True)
    r = matcher.match("不是所有事项都能容缺吧 哪些不行", Context("eia", "tolerance"))
    assert (r.item, r.intent, r.context) == ("tolerance", "tolerance", False)
    r = matcher.match("有个附件暂时没有 系统不让提交 能容缺吗", Context("online_portal", "process"))
    assert (r.item, r.context) == ("tolerance", False)


def test_a_statement_with_zhe_me_is_no_question(matcher):
    """「好的 我先这么报」 says what the asker will do (这么 is no question particle 么): no answer about the item."""
    r = matcher.match("好的 我先这么报", Context("soil_water", "status"))
    assert r.action != "answer"
    r = matcher.match("水保要交钱么", Context("eia", "fee"))
    assert (r.item, r.intent, r.action) == ("soil_water", "fee", "answer")
    r = matcher.match("那还需要么", Context("soil_water", "materials"))
    # asked of the item (「还需要么」 has no intent of its own, so the learned doubt may offer it as a choice of one)
    assert r.item == "soil_water" and r.action in ("answer", "clarify")


def test_how_long_an_approval_stays_valid_is_no_time_limit(matcher):
    """「有效期多久」 asks how long the approval stays valid (intent other, as the label conventions say), not how long
    it takes; 「还在有效期内」 is background to a question of its own."""
    verify_conversation(
        matcher,
        [
            ("王经理", "用地预审要多久", "land_prereview", "time_limit", "answer", False),
            ("王经理", "批下来以后有效期多久", "land_prereview", "other", "answer", True),
        ],
    )
    r = matcher.match("老的取水许可证还在有效期内 新线重新申请要多长时间")
    assert (r.item, r.intent) == ("water_permit", "time_limit")


def test_what_must_come_first_is_the_order_of_the_item_it_comes_before(matcher):
    """「报建议书之前是不是得先有项目代码」: the topic that must come first names 建议书's order; so does an item named
    between 之前 and 得先 (「明白了 那核准之前用地预审得先拿到是吧」), and several named as what must come first after
    an item (「是不是得先把地灾和压矿的事弄完」 after 用地预审) are what that item waits for."""
    r = matcher.match("报建议书之前是不是得先有项目代码")
    assert (r.item, r.intent) == ("proposal", "process")
    r = matcher.match("明白了 那核准之前用地预审得先拿到是吧", Context("verification", "department"))
    assert (r.item, r.intent) == ("verification", "process")
    r = matcher.match("是不是得先把地灾和压矿的事弄完", Context("land_prereview", "department"))
    assert (r.item, r.intent, r.asks, r.context) == ("land_prereview", "process", (), True)
    # the item named first, then what it needs first: its order, answered, not a choice between the two
    for question, item in (
        ("林草审核是不是得先拿到用地预审", "forest_grass"),
        ("工规证是不是要先有土地证", "engineering_planning"),
    ):
        r = matcher.match(question)
        assert (r.item, r.intent, r.action) == (item, "process", "answer"), question


def test_an_item_come_through_is_background_and_an_acknowledgement_is_told(matcher):
    """「施工许可证下来了 临时用电还要啥手续不」: the permit is had, 临时用电 is asked — out of scope; 「行 那我先把地灾
    报告委托出去」 acknowledges and tells what the asker will do: a steward reads it."""
    r = matcher.match("施工许可证下来了 临时用电还要啥手续不")
    assert (r.item, r.action, r.reason) == (None, "handoff", "out_of_scope")
    r = matcher.match("行 那我先把地灾报告委托出去", Context("mineral_overlay", "fee"))
    assert (r.action, r.reason) == ("handoff", "told")
    r = matcher.match("好的 地灾评估找谁做", Context("mineral_overlay", "fee"))
    assert (r.item, r.action) == ("geo_hazard", "answer")


def test_what_must_be_approved_first_is_the_earlier_items_order(matcher):
    """「必须先批建议书吗」 after 可研: what 可研 waits for, its process (批/报/审 first, as 办/做 first)."""
    r = matcher.match("必须先批建议书吗", Context("feasibility", "time_limit"))
    assert (r.item, r.intent, r.context) == ("feasibility", "process", True)


def test_after_a_choice_offered_a_follow_up_is_offered_it_again(matcher):
    """「出让合同签完 多久能领不动产证」 is offered a choice (不动产权证 or 土地供应); 「办证要带啥材料」 next, no button
    pressed, is offered the same choice with what it asks — not answered about the item before the choice (挂牌)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "问下土地挂牌那块 咱们是啥流程", "land_supply", "process", "answer", False),
            ("王经理", "出让合同签完 多久能领不动产证", "property_cert", "time_limit", "clarify", False),
            ("王经理", "办证要带啥材料", "property_cert", "materials", "clarify", True),
        ],
    )
    offered = Context("property_cert", "time_limit", ("land_supply",), offered=True)
    r = matcher.match("办证要带啥材料", offered)
    assert [c.item for c in r.candidates] == ["property_cert", "land_supply"]
    # a message naming its own item is read as ever
    r = matcher.match("环评要多久", offered)
    assert (r.item, r.action) == ("eia", "answer")


def test_it_stands_for_the_earlier_item(matcher):
    """「施工图审查能跟它并联吗」 after 工规证: 它 is 工规证, so two items are asked to run together (the parallel topic,
    then each one's process, as 「施工图审查能跟工规证并联吗」 is answered); 「它和不动产权证这俩分别要多久」 asks of both.
    其它 ("other") points at nothing."""
    verify_conversation(
        matcher,
        [
            ("王经理", "工规证要啥材料啊", "engineering_planning", "materials", "answer", False),
            ("王经理", "施工图审查能跟它并联吗", "parallel", "process", "answer", True),
        ],
    )
    r = matcher.match("施工图审查能跟它并联吗", Context("engineering_planning", "time_limit"))
    assert [(a.item, a.intent) for a in r.asks] == [
        ("parallel", "process"),
        ("drawing_review", "process"),
        ("engineering_planning", "process"),
    ]
    r = matcher.match("它和不动产权证这俩分别要多久", Context("land_use_planning", "time_limit"))
    assert (r.item, r.action, r.context) == ("land_use_planning", "answer", True)
    assert [(a.item, a.intent) for a in r.asks] == [
        ("land_use_planning", "time_limit"),
        ("property_cert", "time_limit"),
    ]
    r = matcher.match("其它的呢", Context("eia", "fee"))
    assert (r.item, r.intent, r.reason) == ("eia", "fee", "context")  # 其它: the earlier question again
    r = matcher.match("能跟它并联吗", Context("soil_water", "time_limit"))
    assert (r.item, r.intent) == ("parallel", "process")


def test_a_word_of_one_earlier_items_name_asks_of_that_item(matcher):
    """「验收大概几个工作日」 after 消防设计审查 and 消防验收 were asked together: 验收 is only 消防验收's; 「需要带啥」 next
    stays with it. 「取水的材料清单发我一份」 after 取水许可 and then 洪评: 取水 begins only 取水许可's names."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防设计审查和消防验收 是同一个部门吗", "fire_design", "department", "answer", False),
            ("王经理", "验收大概几个工作日", "fire_acceptance", "time_limit", "answer", True),
            ("王经理", "需要带啥", "fire_acceptance", "materials", "answer", True),
            ("张总", "取水许可要多少天 洪评又要多少天", "water_permit", "time_limit", "answer", False),
            ("张总", "后一个 能不能先容缺", "flood_impact", "tolerance", "answer", True),
            ("张总", "取水的材料清单发我一份", "water_permit", "materials", "answer", True),
        ],
    )
    # an ordinary word opening a name (一般, 电子, 文件, 开工, 竣工) tells no item, nor does a word inside the message
    for question, earlier in (
        ("一般要多久", "customs_origin"),
        ("可以交电子版吗", "water_permit"),
        ("文件要盖章吗", "verification"),
        ("试生产前要办完吗", "soil_water"),
        ("竣工以后还要办吗", "completion_filing"),
    ):
        r = matcher.match(question, Context("eia", "materials", (earlier,)))
        # read of 环评: answered, or kept for a person when the doubt weighs the answer (`keeps_context`)
        assert r.item == "eia" or (r.keeps_context and r.candidates[0].item == "eia"), question


def test_the_asking_clause_orders_the_items_of_a_long_message(matcher):
    """「…施工图正在审，消防设计审查是单独报还是跟图审一起报」: the story named the drawings first; the clause that asks
    names 消防设计审查 first, so it is what the answer is about after the parallel topic."""
    r = matcher.match(
        "我们是个商业综合体，建筑面积八万多平，规划证拿了，施工图正在审，消防设计审查是单独报还是跟图审一起报"
    )
    assert (r.item, r.action) == ("parallel", "answer")
    assert [a.item for a in r.asks][:2] == ["parallel", "fire_design"]


def test_a_paper_not_final_yet_is_what_the_earlier_item_waits_for(matcher):
    """「可研报告还没定稿 能容缺不」 after 安全条件审查: 可研 is a paper 安全条件审查 waits for; its 容缺 is asked."""
    r = matcher.match("可研报告还没定稿 能容缺不", Context("safety_review", "materials"))
    assert (r.item, r.intent, r.action) == ("safety_review", "tolerance", "answer")


def test_what_is_among_another_topic_named_first_is_not_the_earlier_items(matcher):
    """「五证联发的话 施工证也算在里面吧」 after 跨省通办 asks whether 施工证 is among 五证联发, not of 跨省通办; 「施工许可也
    包含在里面？」 after 五证联发 is still 五证联发's."""
    r = matcher.match("五证联发的话 施工证也算在里面吧", Context("cross_province", "other"))
    assert (r.item, r.context) == ("five_certs", False)  # offered with 施工证, not the earlier item's
    r = matcher.match("施工许可也包含在里面？", Context("five_certs", "process"))
    assert (r.item, r.context) == ("five_certs", True)


def test_a_status_follow_up_naming_an_item_the_model_knows_asks_its_status(matcher):
    """「节能的呢」 after 「环评那个到哪一步了」: 节能 is no name in the knowledge base, but the model is sure of 能评; the
    status of 能评 is asked (a steward or the ledger answers), and 「批了以后批复去哪拿」 is then 能评's."""
    verify_conversation(
        matcher,
        [
            ("王经理", "环评那个到哪一步了 上周三交的", "eia", "status", "handoff", False),
            ("王经理", "节能的呢", "energy_review", "status", "handoff", True),
            ("王经理", "批了以后批复去哪拿", "energy_review", "department", "answer", True),
        ],
    )


def test_a_certificate_come_out_as_background_is_no_subject(matcher):
    """「土地证下来想拿去银行抵押贷款 抵押登记也在那办吗」: 土地证 is had (下来想…), 抵押登记 is what is asked — out of scope."""
    r = matcher.match("土地证下来想拿去银行抵押贷款 抵押登记也在那办吗")
    assert (r.item, r.action) == (None, "handoff")


def test_the_asker_says_what_they_meant_to_ask(matcher):
    """「不是问材料 是问多久」 after an answer of 可研's materials: 可研 again, asked how long; 「我问的是要不要做 不是要啥
    材料」 asks whether it is needed at all."""
    verify_conversation(
        matcher,
        [
            ("王经理", "可研报告批复要多久", "feasibility", "time_limit", "answer", False),
            ("王经理", "要交啥", "feasibility", "materials", "answer", True),
            ("王经理", "不是问材料 是问多久", "feasibility", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("我问的是要不要做 不是要啥材料", Context("cultural_relics", "materials"))
    assert (r.item, r.intent, r.action) == ("cultural_relics", "other", "answer")
    for question in ("不是问材料 问的是多久", "我问的不是材料 是多久", "不是要材料 是问多久", "我是问多久 不是问材料"):
        r = matcher.match(question, Context("feasibility", "materials"))
        assert (r.item, r.intent, r.reason) == ("feasibility", "time_limit", "context"), question


def test_acceptance_or_filing_after_the_fire_acceptance_stays_with_it(matcher):
    """After 消防验收, 「我们是小厂房 是验收还是备案就行」 asks which way the fire acceptance goes (ordinary works are filed
    and spot-checked): 验收 and 备案 are words of its own names, not 竣工验收备案 (验收+备案) or 投资项目备案. 是 ends
    no procedure's name: 「是验收」 is no procedure the knowledge base lacks."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防验收咋约 网上还是打电话", "fire_acceptance", "process", "answer", False),
            ("王经理", "我们是小厂房 是验收还是备案就行", "fire_acceptance", "other", "answer", True),
            ("王经理", "备案的话要准备啥", "fire_acceptance", "materials", "answer", True),
            ("王经理", "被抽查到了要多久", "fire_acceptance", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("民营的 投资3个亿 做食品加工 应该是备案吧")
    assert (r.item, r.action) == ("filing", "answer")


def test_a_procedure_of_its_own_named_on_a_paper_leaves_the_earlier_item(matcher):
    """「对了 营业执照地址变更也在政务大厅办吗」 after 不动产权证: 营业执照 is one of its papers, but changing the licence is a
    procedure of its own, out of scope, and 「要几天」 next is not 不动产权证's. 「营业执照复印件要几份」 is still its paper."""
    verify_conversation(
        matcher,
        [
            ("王经理", "不动产权证 土地那个本 交完出让金多久能拿到", "property_cert", "time_limit", "answer", False),
            ("王经理", "对了 营业执照地址变更也在政务大厅办吗", None, "department", "handoff", False),
            ("王经理", "要几天", None, "time_limit", "handoff", False),
        ],
    )
    r = matcher.match("营业执照复印件要几份", Context("property_cert", "time_limit"))
    assert (r.item, r.intent, r.action) == ("property_cert", "materials", "answer")
    # who issues one of its papers is still about the paper: the conversation stays with the permit
    verify_conversation(
        matcher,
        [
            ("李工", "施工许可要啥材料", "construction_permit", "materials", "answer", False),
            ("李工", "中标通知书谁发", None, None, "handoff", False),
            ("李工", "要原件吗", "construction_permit", "materials", "answer", True),
        ],
    )


def test_this_code_points_back_to_the_project_code(matcher):
    """「后面办环评都要用这个码吗」 after 项目代码: 这个码 is the code (码 ends its names, 环评's have none), so 环评 is
    background; 「电子证照跟纸质的一样有效吗」 after 不动产权证 asks of the certificate's form, not of the portal."""
    r = matcher.match("后面办环评都要用这个码吗", Context("project_code", "process"))
    assert (r.item, r.context) == ("project_code", True)
    # 该 is "should" there: 「规划核实也该查吗」 after 消防验收 asks of 规划核实, though 查 ends 备案抽查
    assert matcher.match("规划核实也该查吗", Context("fire_acceptance", "process")).item == "planning_verification"
    r = matcher.match("电子证照跟纸质的一样有效吗", Context("property_cert", "process"))
    assert (r.item, r.context) == ("property_cert", True)


def test_a_question_mark_asks_and_a_longer_follow_up_naming_nothing_still_follows(matcher):
    """「那要交个承诺表？」 after 能评 asks by its mark alone (the compact text has lost it). 「承诺时限是3个工作日对吧 从哪天开始
    算」 (18 characters) names nothing and the model reads it as about some item: 能评's time limit. A message as long
    that the model reads as about no item (「对了问个别的 公司变更法人去哪办」) is a matter of its own."""
    verify_conversation(
        matcher,
        [
            ("王经理", "节能审查要多久", "energy_review", "time_limit", "answer", False),
            ("王经理", "那要交个承诺表？", "energy_review", "materials", "answer", True),
            ("王经理", "承诺时限是3个工作日对吧 从哪天开始算", "energy_review", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("对了问个别的 公司变更法人去哪办", Context("property_cert", "department"))
    assert (r.item, r.action) == (None, "handoff")
    r = matcher.match("以后想评个A级景区，这个怎么申请", Context("water_permit", "process"))
    assert (r.item, r.action) == (None, "handoff")


def test_small_follow_ups_of_the_eighteenth_pass(matcher):
    """「必须消防验收完了才能备案吗」 after 竣工验收备案 asks its order (备案 is its own verb); 「跟图审是合在一起的吗」
    after 消防设计审查 is whether they run together; 「谢谢哈 今天又麻烦你们了」 only thanks."""
    r = matcher.match("必须消防验收完了才能备案吗", Context("completion_filing", "materials"))
    assert (r.item, r.intent, r.context) == ("completion_filing", "process", True)
    r = matcher.match("赋码完就能备案了？", Context("project_code", "time_limit"))
    assert r.item != "project_code"  # 备案 is no verb of the code's: another procedure is asked of
    r = matcher.match("跟图审是合在一起的吗", Context("fire_design", "department"))
    assert r.item in ("parallel", "fire_design") and r.context
    r = matcher.match("谢谢哈 今天又麻烦你们了", Context("fire_acceptance", "fee"))
    assert (r.item, r.action) == (None, "smalltalk")


def test_together_with_this_one_or_the_others_and_what_comes_after_a_paper(matcher):
    """「还有地质灾害那个评估 跟这个能一起弄吗」 after 压覆矿: 这个 is 压覆矿, the partner of a together question;
    「这个能跟别的手续并着做不」 asks whether 考古勘探 runs with the other procedures; 「出让合同签了 是不是直接就能领」
    after 用地规划证 asks whether it waits for the contract (words between 了 and 就)."""
    r = matcher.match("还有地质灾害那个评估 跟这个能一起弄吗", Context("mineral_overlay", "time_limit"))
    assert (r.item, r.context) == ("parallel", True)
    assert ("geo_hazard", "process") in [(a.item, a.intent) for a in r.asks]
    r = matcher.match("文物部门说要先考古勘探 这个能跟别的手续并着做不")
    assert [(a.item, a.intent) for a in r.asks] == [("parallel", "process"), ("cultural_relics", "process")]
    r = matcher.match("出让合同签了 是不是直接就能领", Context("land_use_planning", "materials"))
    assert (r.item, r.intent, r.context) == ("land_use_planning", "process", True)
    # an item named between 了 and 就 is what is asked of
    r = matcher.match("初步设计批完施工图审查就能报了吧", Context("preliminary_design", "time_limit"))
    assert r.item != "preliminary_design"


def test_a_procedure_word_in_a_follow_up_the_model_reads_as_the_earlier_items(matcher):
    """「审批权限在市水利局还是自治区水利厅」 after 洪评 names 审批 after other words, which alone would make it a matter of
    its own; the model reads it as about some item (p(no item) < `Weights.procedure_word_follows`), so it is 洪评's.
    「电力业务许可去哪办」 and 「养羊要办的动物防疫条件合格证去哪办」 stay matters the knowledge base lacks."""
    r = matcher.match("审批权限在市水利局还是自治区水利厅", Context("flood_impact", "time_limit"))
    assert (r.item, r.intent, r.action, r.context) == ("flood_impact", "department", "answer", True)
    r = matcher.match("电力业务许可去哪办", Context("eia", "materials"))
    assert (r.item, r.action) == (None, "handoff")


@KNOWN_REGRESSION
def test_known_regressions_of_single_follow_ups(matcher):
    """Follow-ups the retrained item model lost, each read in the context it was pinned in: 「开工前要拿到吗」 after
    环评 (with 施工许可 spoken of) is answered as 施工许可; 「养羊要办的动物防疫条件合格证去哪办」 after 环评 offers 环评
    (p(no item) 0.40, under `Weights.procedure_word_follows`); 「退出备案在哪办」 offers 施工许可 and 投资项目备案."""
    wrong = []
    r = matcher.match("开工前要拿到吗", Context("eia", "materials", ("construction_permit",)))
    wrong += [] if r.item == "eia" or (r.keeps_context and r.candidates[0].item == "eia") else ["开工前要拿到吗"]
    r = matcher.match("养羊要办的动物防疫条件合格证去哪办", Context("eia", "materials"))
    wrong += [] if (r.item, r.action) == (None, "handoff") else ["养羊"]
    r = matcher.match("退出备案在哪办", Context("construction_permit", "materials"))
    wrong += [] if (r.item, r.action) == (None, "handoff") else ["退出备案"]
    assert not wrong, wrong


def test_a_follow_up_ending_in_a_question_particle_asks(matcher):
    """「两天能批完是吧」 after 项目建议书 asks by its 吧 (no question word in it): 建议书's time limit. 「行吧」 only
    acknowledges."""
    r = matcher.match("两天能批完是吧", Context("proposal", "materials"))
    assert (r.item, r.intent, r.action, r.context) == ("proposal", "time_limit", "answer", True)
    assert matcher.match("行吧", Context("proposal", "materials")).action != "answer"


def test_an_out_of_scope_word_in_a_follow_up_the_model_reads_as_an_items(matcher):
    """「要和矿业权人签压覆协议吗」 after 压覆矿: 矿业权 is an out-of-scope phrase, but the model is sure the message is about
    some item (p(no item) < `Weights.out_of_scope_follows`): 压覆矿's materials. 「排污许可是环评批了以后再办吧」 stays out of
    scope."""
    r = matcher.match("要和矿业权人签压覆协议吗", Context("mineral_overlay", "process"))
    assert (r.item, r.intent, r.action, r.context) == ("mineral_overlay", "materials", "answer", True)
    r = matcher.match("排污许可是环评批了以后再办吧", Context("eia", "time_limit"))
    assert (r.item, r.action) == (None, "handoff")


def test_a_request_to_act_goes_to_a_steward_with_its_item(matcher):
    """「麻烦管家帮着催催」「能不能帮忙吹个哨」: the asker wants the steward to act (urge, whistle, coordinate), which no
    answer does; a steward gets it, with the item it is about, and the next follow-up keeps that item. A request that
    also asks something (「经办人是谁，能帮忙问问吗」) or asks who or how (「找谁催一下」「管家吹哨是咋回事」) is read as
    it asks."""
    r = matcher.match("好 麻烦管家帮着催催", Context("forest_grass", "time_limit"))
    assert (r.item, r.action, r.reason) == ("forest_grass", "handoff", "request")
    assert r.context_after() is not None and r.context_after().item == "forest_grass"
    r = matcher.match("能不能帮忙吹个哨 环评卡在技术评估那块快一个月了")  # read as where 环评 stands, and a request
    assert (r.item, r.action, r.reason) == ("eia", "handoff", "request")
    r = matcher.match("林草的还卡着 能帮催一下不", Context("forest_grass", "time_limit"))
    assert (r.item, r.action, r.reason) == ("forest_grass", "handoff", "request")  # a steward, not the ledger's line
    r = matcher.match("麻烦管家帮我们催一下水利局", Context("flood_impact", "status"))
    assert (r.item, r.action, r.reason) == ("flood_impact", "handoff", "request")
    r = matcher.match("能不能吹个哨把林草局的人拉进群")
    assert (r.action, r.reason) == ("handoff", "request")
    r = matcher.match("经办人是谁，能帮忙问问吗", Context("water_permit", "materials"))
    assert (r.item, r.intent, r.action) == ("water_permit", "department", "answer")
    r = matcher.match("找谁催一下", Context("filing", "time_limit"))
    assert (r.item, r.intent, r.action) == ("filing", "department", "answer")
    r = matcher.match("管家吹哨是咋回事")
    assert r.reason != "request"
    r = matcher.match("帮我问问建设工程规划许可证现在能不能全程网办，流程发一下")
    assert (r.item, r.intent, r.action) == ("engineering_planning", "process", "answer")
    # a polite opener is no request: 「麻烦问一下」 then what is asked
    for question, item in (
        ("老师 麻烦问一下 环评收费标准", "eia"),
        ("可以问一下吗 取水许可的办理时限", "water_permit"),
    ):
        r = matcher.match(question)
        assert (r.item, r.action) == (item, "answer"), question


@pytest.mark.parametrize(
    ("question", "context"),
    [
        ("好 麻烦管家帮着催催", Context("forest_grass", "time_limit")),
        ("林草的还卡着 能帮催一下不", Context("forest_grass", "time_limit")),
        ("好的 我等电话", Context("eia", "materials")),
        ("图审过了才能报吗", Context("fire_design", "materials")),
        ("那能容缺吗", Context("eia", "materials")),
        ("环评要什么材料", None),
    ],
)
def test_a_message_read_alone_first_then_in_its_conversation_reads_as_matched_at_once(matcher, question, context):
    """The help group reads a message alone before it knows the asker's context (`Matcher.alone`), then in it: the
    same reading as `match(question, context)`, what the whole message does (told, a request) included."""
    assert matcher.in_context(matcher.alone(question), context) == matcher.match(question, context)


def test_a_together_question_covers_each_procedure_and_its_follow_ups_take_the_first(matcher):
    """「建议书和可研能合并报吗」: whether they run together (the parallel topic), then how each of the two runs — what
    comes first is in each one's process; 「要交什么材料」 next asks of the first, 「分别要多久」 of each, 「后面那个」 of the
    second."""
    verify_conversation(
        matcher,
        [
            ("王经理", "我们这个是小项目 建议书和可研能合并报吗", "parallel", "process", "answer", False),
            ("王经理", "要交什么材料", "proposal", "materials", "answer", True),
        ],
    )
    r = matcher.match("我们这个是小项目 建议书和可研能合并报吗")
    assert [a.item for a in r.asks] == ["parallel", "proposal", "feasibility"]
    after = r.context_after()
    r = matcher.match("分别要多久", after)
    assert [(a.item, a.intent) for a in r.asks] == [("proposal", "time_limit"), ("feasibility", "time_limit")]
    r = matcher.match("后面那个在哪交材料", after)
    assert (r.item, r.action) == ("feasibility", "answer")


def test_tolerance_asked_of_the_earlier_item_by_name_also_explains_the_mechanism(matcher):
    """「卡材料的那几个能不能都走容缺」「那能容缺吗」 after 环评: which of 环评's papers may follow, and how 容缺 itself goes
    (the promise, its term) — both answered; the topic is no procedure a later 「这俩」 points back to. Asked without
    the word (「…能先受理吗」), the item's own 容缺."""
    r = matcher.match("卡材料的那几个能不能都走容缺", Context("eia", "materials"))
    assert (r.item, r.intent, r.action) == ("eia", "tolerance", "answer")
    assert [(a.item, a.intent) for a in r.asks] == [("eia", "tolerance"), ("tolerance", "tolerance")]
    after = r.context_after()
    assert (after.item, after.earlier) == ("eia", ())
    r = matcher.match("那能容缺吗", Context("eia", "materials"))
    assert [(a.item, a.intent) for a in r.asks] == [("eia", "tolerance"), ("tolerance", "tolerance")]
    r = matcher.match("监测报告还没出 能先受理吗", Context("eia", "materials"))  # 容缺 unnamed: the item's own
    assert (r.item, r.intent, r.asks) == ("eia", "tolerance", ())


def test_a_question_of_order_may_ask_whether_after_the_earlier_item_is_done(matcher):
    """「批完之后是不是接着就做可研了」 after 建议书, 「批完了是不是就能去办施工许可了」 after 洪评: 是不是 between the earlier
    item done and what comes next still asks their order — both procedures' process, the one named first."""
    for question, context, named in (
        ("批完之后是不是接着就做可研了", Context("proposal", "materials"), "feasibility"),
        ("批完了是不是就能去办施工许可了", Context("flood_impact", "status"), "construction_permit"),
    ):
        r = matcher.match(question, context)
        assert (r.item, r.action, r.reason) == (named, "answer", "order"), question
        assert [a.item for a in r.asks] == [named, context.item], question


@KNOWN_REGRESSION
def test_known_regression_a_question_of_order_by_the_short_name(matcher):
    """「图审过了才能报吗」 after 消防设计审查: both procedures' order before; the retrained model answers 消防设计审查's
    process alone (图审 no longer scores 施工图审查 beside the conversation's item)."""
    r = matcher.match("图审过了才能报吗", Context("fire_design", "materials"))
    assert (r.item, r.reason) == ("drawing_review", "order")


def test_a_question_of_order_after_an_item_answers_both_procedures(matcher):
    """「图审过了才能报吗」 after 消防设计审查: how the two follow each other is in each one's process — both answered,
    the one named first; the conversation goes on about it (「前面那个」 is still the earlier one). 「前面那个」 itself
    points back and asks no order; a third procedure named asks of its own."""
    # (「图审过了才能报吗」 was the example until the read dialogues taught the item model: see the known regression)
    r = matcher.match("施工图审查过了才能报吗", Context("fire_design", "materials"))
    assert (r.item, r.intent, r.action, r.reason, r.context) == ("drawing_review", "process", "answer", "order", True)
    assert [(a.item, a.intent) for a in r.asks] == [("drawing_review", "process"), ("fire_design", "process")]
    after = r.context_after()
    assert (after.item, after.earlier, after.at_once) == ("drawing_review", ("fire_design",), 0)
    r = matcher.match("环评批复是它的前置吗", Context("safety_review", "time_limit"))
    assert [a.item for a in r.asks] == ["eia", "safety_review"]
    r = matcher.match("前面那个 用地规划的 网上能弄不", Context("engineering_planning", "process"))
    assert r.reason != "order"
    r = matcher.match("环评批复是不是在用地预审之前", Context("safety_review", "time_limit"))
    assert r.reason != "order"  # 环评 and 用地预审: two others named
    # words of time that ask no order between the two (「以后」 "from now on", 「之前问的」 points back)
    for question in (
        "环评报告写完了怎么报",
        "环评怎么才能快点批",
        "之前问的环评 流程是啥",
        "环评通过了 怎么领批复",
        "以后环评都在网上办吗",
        "做完环评才能开工吗",
    ):
        r = matcher.match(question, Context("soil_water", "materials"))
        assert r.reason != "order" and "soil_water" not in [a.item for a in r.asks], question
    r = matcher.match("这俩是不是都得在用地预审前搞完", Context("geo_hazard", "process", ("mineral_overlay",)))
    assert r.reason != "order"  # the two spoken of, not the last alone


def test_words_the_earlier_item_uses_of_itself_keep_it(matcher):
    """「出让的要准备啥材料」 after the 用地规划许可: 出让 names 土地供应, but the 用地规划许可's own material list
    speaks of the 出让合同 — how its land was had, a matter of the earlier item. A word of the other item's own
    (挂牌), what the paper says (「出让合同里…」) and a procedure's name (图审, 选址意见书) keep the item named."""
    verify_conversation(
        matcher,
        [
            ("王经理", "建设用地规划许可证要准备什么材料", "land_use_planning", "materials", "answer", False),
            ("王经理", "出让地呢", "land_use_planning", None, "answer", True),
            ("王经理", "跟出让合同一起发吗", "land_use_planning", "process", "answer", True),
            ("王经理", "要钱不", "land_use_planning", "fee", "answer", True),
            ("王经理", "那挂牌一般要走多长时间", "land_supply", "time_limit", "answer", False),
        ],
    )
    for question, item in (
        ("证上的用地面积跟出让合同对不上咋办", "land_use_planning"),
        ("出让合同里约定的开工时间能改吗", "land_supply"),
        ("出让合同要怎么签", "land_supply"),  # how the other procedure is done
        ("出让合同一般多久能签", "land_supply"),
        ("出让合同一般几天", "land_supply"),
    ):
        r = matcher.match(question, Context("land_use_planning", "materials"))
        assert r.item == item, (question, r)
    r = matcher.match("图审一般几天", Context("construction_permit", "materials"))
    assert (r.item, r.intent) == ("drawing_review", "time_limit")
    r = matcher.match("选址那个意见书多久", Context("verification", "materials"))
    assert r.item == "land_prereview"


def test_an_item_done_as_background_and_the_procedure_to_do_first_described(matcher):
    """「备案完是不是就有项目代码了」: 备案 is done (…完 before 是不是/就/以后), the project code is asked. 「拿地之前要先办的
    那个预审加选址的，要准备啥材料」 describes the procedure to do before 拿地 and asks its materials — not the order
    of 土地供应; its follow-ups keep it."""
    r = matcher.match("备案完是不是就有项目代码了", Context("filing", "process"))
    assert (r.item, r.intent, r.action) == ("project_code", "process", "answer")
    verify_conversation(
        matcher,
        [
            ("李工", "拿地之前要先办的那个预审加选址的，要准备啥材料", "land_prereview", "materials", "answer", False),
            ("李工", "是资源局哪个科", "land_prereview", "department", "answer", True),
            ("李工", "不收费吧", "land_prereview", "fee", "answer", True),
        ],
    )
    # the project code not had yet, asked whether the earlier procedure may go ahead: that procedure's 容缺
    for question in ("我们项目代码还没赋下来能先报吗后面再补", "项目代码还没有能先报吗"):
        r = matcher.match(question, Context("land_prereview", "process"))
        assert (r.item, r.intent, r.action) == ("land_prereview", "tolerance", "answer"), question
    r = matcher.match("核准前要先做用地预审吗")  # a question of order still is one
    assert (r.item, r.intent) == ("verification", "process")


def test_background_before_an_item_and_another_department_leave_the_follow_up(matcher):
    """「多久能审完 我们等着办施工证」 after 施工图审查: 施工证 is what the asker waits to do (等着办…), the earlier item is
    asked; 「就填个表？不用可研吧」 after 备案: 可研 excluded. 「应急局窗口在几楼」 after 环评 names another department: not
    the earlier item's window (handed off, not answered with 环评's)."""
    r = matcher.match("多久能审完 我们等着办施工证", Context("drawing_review", "materials"))
    assert (r.item, r.intent, r.action) == ("drawing_review", "time_limit", "answer")
    r = matcher.match("就填个表？不用可研吧", Context("filing", "process"))
    assert (r.item, r.action) == ("filing", "answer")
    r = matcher.match("应急局窗口在几楼", Context("eia", "materials"))
    assert r.item != "eia" and r.action != "answer"
    r = matcher.match("窗口在几楼", Context("eia", "materials"))  # no department named: still the earlier item's
    assert (r.item, r.intent, r.action) == ("eia", "department", "answer")
    r = matcher.match("政务大厅几楼啊", Context("feasibility", "materials"))  # the hall, where every window is
    assert (r.item, r.action) == ("feasibility", "answer")
    # another department named as who issues a paper, not asked for: still the earlier item's question (「要发改委盖章
    # 吗」 is read again by the learned gate since the twenty-fifth pass's banks retrained the item model: it offers 环评
    # as a choice of one, p 0.5-0.8; the item is what this test is about)
    for question in ("要发改委盖章吗", "需要住建局的意见吗"):
        r = matcher.match(question, Context("eia", "materials"))
        assert r.item == "eia" and r.action in ("answer", "clarify"), question
        assert [c.item for c in r.candidates][:1] == ["eia"], question
    assert matcher.match("需要住建局的意见吗", Context("eia", "materials")).action == "answer"
    # what is waited for, named first, is what is asked (no verb: no background either)
    for question in ("等着办施工许可证 要啥材料", "等着施工许可证呢 要多久"):
        r = matcher.match(question, Context("drawing_review", "materials"))
        assert r.item == "construction_permit", question
    # 「没有能…的」 asks whether there is one: the item named, not a procedure not done yet
    for question, item in (("环评没有能容缺的材料吗", "eia"), ("水保没有能加急的吗", "soil_water")):
        r = matcher.match(question, Context("construction_permit", "materials"))
        assert r.item == item, question


def test_a_bare_procedure_word_that_completes_the_earlier_items_first_word_names_that_item(matcher):
    """After 消防设计审查, 「验收」 with its first word (消防) is 消防验收's own name: 「验收一般几天」 asks of 消防验收. 「备案」
    makes no item's own name there (消防备案 is only an alias), so 「那普通的要备案吗」 stays with the design review; 「不是验收
    是设计审查」 says which it is not."""
    verify_conversation(
        matcher,
        [
            ("张总", "消防设计审查要交哪些材料", "fire_design", "materials", "answer", False),
            ("张总", "审完了以后验收也是住建局？", "fire_acceptance", "department", "answer", True),
            ("张总", "验收一般几天", "fire_acceptance", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("那普通的要备案吗", Context("fire_design", "materials"))
    assert r.item == "fire_design"
    r = matcher.match("不是验收 是设计审查", Context("fire_design", "fee"))
    assert r.item == "fire_design"


def test_a_switch_read_unsure_is_offered_beside_the_earlier_item(matcher):
    """「能先出个电子证照不 银行那边急着要做抵押」 after 不动产权证: read alone it is the 一网通办 topic, on less than a
    full score; its writer meant the 不动产权证 (in the read dialogue sets such switches were wrong 23% of the time).
    Both are offered, the new reading first; the earlier item is not lost."""
    verify_conversation(
        matcher,
        [
            ("王经理", "不动产权证要带啥材料", "property_cert", "materials", "answer", False),
            ("王经理", "能先出个电子证照不 银行那边急着要做抵押", "online_portal", None, "clarify", False),
        ],
    )
    r = matcher.match("能先出个电子证照不 银行那边急着要做抵押", Context("property_cert", "materials"))
    assert [c.item for c in r.candidates] == ["online_portal", "property_cert"]
    assert r.asks == ()  # one choice, not an answer of several asks


def test_a_switch_on_a_full_score_or_past_an_item_done_is_answered(matcher):
    """「能评要多久」 after 水保 names its item outright (a full score): answered. 「环评过了 水保要准备些啥」 names the
    earlier item as done: the asker moves on in so many words, and 水保 is answered though read below a full score.
    (「环评批了 接着水保要交啥」 was the example until the read dialogues taught the item model: it scores full now.)"""
    verify_conversation(
        matcher,
        [
            ("李工", "水保方案要多久", "soil_water", "time_limit", "answer", False),
            ("李工", "能评要多久", "energy_review", "time_limit", "answer", False),
            ("张总", "环评要什么材料", "eia", "materials", "answer", False),
            ("张总", "环评过了 水保要准备些啥", "soil_water", "materials", "answer", False),
        ],
    )
    assert matcher.match("环评过了 水保要准备些啥").confidence < 1.0  # answered for the item done, not the score


def test_a_switch_read_unsure_is_still_told_or_a_request_first(matcher):
    """What the whole message does is read before the choice: 「行 那我先把地灾报告委托出去」 tells (a steward reads
    it), whatever item the model reads in it."""
    r = matcher.match("行 那我先把地灾报告委托出去", Context("mineral_overlay", "fee"))
    assert (r.action, r.reason) == ("handoff", "told")


def test_a_first_message_handed_off_on_a_low_score_offers_its_best_item(matcher):
    """A message with no conversation before it that describes its item (「看项目用电用煤多不多的那个审查」) scores too low
    to be answered; its best item is offered as a choice (beside 「都不是，转人工」 in groups) from `Thresholds.guess`. Not
    in a conversation (the follow-up readers decide there), nor a progress question, nor a message that asks no
    aspect, nor a low score."""
    from dataclasses import replace

    from knowledge.match_result import Candidate

    # (「我们那块地底下听说有矿」 and 「项目占了点草地」 were the examples until the read dialogues taught the item model:
    # now both are answered outright, 压覆矿产 and 林草)
    described_text = "看项目用电用煤多不多的那个审查，流程是啥"
    guessed = matcher.match(described_text)
    assert (guessed.action, guessed.reason, guessed.item) == ("clarify", "guess", "energy_review")
    assert [c.item for c in guessed.candidates] == ["energy_review"] and not guessed.wants_item
    land = matcher.match("证明这块地归我们的那个证怎么办")
    assert (land.action, land.item, land.intent) == ("clarify", "property_cert", "process")
    assert matcher.match(described_text, Context("eia", "materials")).reason != "guess"
    # a short message with no conversation (it expired, or the database is down) is an elliptical follow-up: a person
    for elliptical in ("消防的呢", "那多久能审完"):
        result = matcher.match(elliptical)
        assert (result.action, result.reason) == ("handoff", "low_confidence"), elliptical
    # scored enough for a guess, and too short for one (「那多久能审完」 scored 0.36 until the thirty-eighth pass's
    # retraining, 0.347 since)
    assert matcher.match("消防的呢").candidates[0].score >= matcher.thresholds.guess
    assert matcher.match("能在网上办吗").action == "handoff"
    # a message that tells (intent other) is no question to offer a choice to
    told = matcher.match("好的 我先去查下压没压")
    assert (told.action, told.reason) == ("handoff", "low_confidence")
    assert told.candidates[0].score >= matcher.thresholds.guess
    # a progress question goes to the ledger or a person, whatever its score; below the threshold nothing is offered
    handed = replace(guessed, action="handoff", reason="low_confidence", item=None, wants_item=True)
    assert matcher._guessed(replace(handed, intent="status")).action == "handoff"
    low = (Candidate("energy_review", matcher.thresholds.guess - 0.01),)
    assert matcher._guessed(replace(handed, candidates=low)).action == "handoff"
    assert matcher._guessed(handed).reason == "guess"
    # handed off because the model is unsure of an item the message does not name (reason doubt, one candidate), and
    # the model leans to it too: also offered
    # (「厂区要建几个液氨储罐 听说得先去应急管理局过个审查 叫啥」 was the example until the read dialogues taught the
    # intent model that 叫啥 asks its name: intent other, which no guess takes)
    doubted = matcher.alone("能耗大的项目要过的那一关，找哪个部门")
    assert (doubted.action, doubted.reason, [c.item for c in doubted.candidates]) == (
        "handoff",
        "doubt",
        ["energy_review"],
    )
    offered = matcher.match("能耗大的项目要过的那一关，找哪个部门")
    assert (offered.action, offered.reason, offered.item) == ("clarify", "guess", "energy_review")
    assert matcher._guessed(replace(doubted, leans="eia")).action == "handoff"  # the model leans elsewhere
    # an out-of-scope word (营业执照) in a message the model gives one item 0.5 or more (foreign_overrule) is offered
    # that item; not when the item is named as done (the background: 环评批复拿到了), nor a matter always out of scope
    portal = matcher.match("我们是外地企业 一网通办注册法人账号时老提示营业执照核验不过 找谁")
    assert (portal.action, portal.reason, portal.item) == ("clarify", "guess", "online_portal")
    assert matcher.alone("我们是外地企业 一网通办注册法人账号时老提示营业执照核验不过 找谁").reason == "out_of_scope"
    background = "环评批复拿到了 竣工环保验收是去生态环境局吗"
    assert matcher.alone(background).leans == "eia"
    assert (matcher.match(background).action, matcher.match(background).reason) == ("handoff", "out_of_scope")
    always = matcher.alone("我们公司物业服务那块 一网通办上要注册企业账号吗 营业执照要扫描件不")
    assert always.reason == "out_of_scope" and matcher._sure_of_leaning(always) == always
    # named as done in latin letters, or by a name that holds the out-of-scope phrase (安全设施设计审查 is a name of
    # 安全条件审查; 安全设施设计 is the subject): a hand-off as before
    for aside in ("EIA批复拿到了 竣工环保验收是去生态环境局吗", "条件审查过了以后还要做安全设施设计审查吧"):
        read = matcher.alone(aside)
        assert read.reason == "out_of_scope" and matcher._sure_of_leaning(read) == read, aside
    # an out-of-scope message the guess does not take (it asks no aspect, or is short) keeps its reason and no candidate
    # (「一网通办营业执照核验不过」 was the first until the read dialogues taught the intent model to read it as asking
    # how to get through: intent process, offered 一网通办 beside 「都不是，转人工」)
    for kept in ("一网通办营业执照核验老是不过", "一网通办营业执照核验进度到哪了"):
        read = matcher.alone(kept)
        assert matcher._sure_of_leaning(read).reason == "doubt", kept  # the model overrules the word …
        result = matcher.match(kept)
        assert (result.action, result.reason, result.candidates) == ("handoff", "out_of_scope", ()), kept  # … no guess
    assert portal.confidence == portal.candidates[0].score


def test_a_loose_word_or_the_one_before_picks_among_the_items_spoken_of(matcher):
    """「消防那个呢」 after 施工图审查 and 消防设计审查 is 消防设计审查 (消防 alone is also 消防验收's), 「规划证呢」 after
    不动产证和用地规划证 the 用地规划许可; 「前一个呢」 is the item before the last; 「土地那个 …」 names the 土地 one of the
    items spoken of, though it asks more than a short follow-up. With neither spoken of, 「消防那个呢」 is still offered."""
    verify_conversation(
        matcher,
        [
            ("王经理", "施工图审查和消防设计审查现在是不是合在一起审了", "parallel", "process", "answer", False),
            ("王经理", "上面那个几个工作日", "drawing_review", "time_limit", "answer", True),
            ("王经理", "消防那个呢", "fire_design", "time_limit", "answer", True),
            ("李工", "不动产证和用地规划证可以同时办吗", "parallel", "process", "answer", False),
            ("李工", "不动产证一般要几天", "property_cert", "time_limit", "answer", False),
            ("李工", "规划证呢", "land_use_planning", "time_limit", "answer", True),
            (
                "张总",
                "用地规划许可证和工程规划许可证要准备的材料一样吗",
                "land_use_planning",
                "materials",
                "answer",
                False,
            ),
            ("张总", "工程规划证得先过方案审查吧", "engineering_planning", "process", "answer", False),
            ("张总", "前一个呢 要多久", "land_use_planning", "time_limit", "answer", True),
            ("赵工", "文物审查和土地出让哪个先哪个后", "cultural_relics", "process", "answer", False),
            ("赵工", "要什么材料", "cultural_relics", "materials", "answer", True),
            ("赵工", "土地那个 材料是我们自己准备还是自然资源局准备", "land_supply", "materials", "answer", True),
        ],
    )


def test_hao_jiu_in_the_south_west_asks_how_long(matcher):
    """「要好久」「好久能验」 (西南话: 多久) ask how long, of the earlier item; 「等了好久了」 only complains."""
    verify_conversation(
        matcher,
        [
            ("王经理", "消防验收要准备些啥子嘛 我们下个月竣工", "fire_acceptance", "materials", "answer", False),
            ("王经理", "好久能验", "fire_acceptance", "time_limit", "answer", True),
            ("李工", "地质灾害危险性评估做完交给哪个部门", "geo_hazard", "department", "answer", False),
            ("李工", "要好久", "geo_hazard", "time_limit", "answer", True),
        ],
    )
    # the complement form and "long ago" say no "how long": 审得好久, 拖得好久, 弄好久都…, 好久以前
    for question in ("环评审得好久都没消息", "取水许可拖得好久还没下来 怎么投诉", "施工许可要好久以前的证明吗"):
        assert matcher.match(question).intent != "time_limit", question


def test_the_safety_review_said_short_is_named(matcher):
    """「安全审查」 is how askers shorten 危化品安全条件审查 (22 of 22 labelled turns that say it): it names the item, also
    after a choice that pressed 核准."""
    r = matcher.match("安全审查要几天")
    assert (r.item, r.intent, r.action) == ("safety_review", "time_limit", "answer")
    r = matcher.match("那安全审查是几天", Context("verification", "process", ("safety_review",)))
    assert (r.item, r.intent) == ("safety_review", "time_limit")
    # other security reviews are listed out of scope: handed off, not read as the 危化品 one
    for question in (
        "网络安全审查要多久",
        "外资并购要做国家安全审查吗",
        "食品安全审查去哪办",
        "数据出境安全审查找哪个部门",
    ):
        r = matcher.match(question)
        assert (r.item, r.action) == (None, "handoff"), question


def test_what_an_item_is_measured_against_is_not_what_is_asked(matcher):
    """「概算超了可研估算10%以上咋办」 asks of the 初步设计 (its 概算); 可研 after 超 is what it is measured against.
    Asked of 可研 itself (「…是不是得重新报可研」), 可研 is still offered."""
    r = matcher.match("概算超了可研估算咋办")
    assert (r.item, r.intent) == ("preliminary_design", "process")
    # named again as what is asked, 可研 stays in the choice; with nothing named before 超, what is exceeded is asked of
    r = matcher.match("初设概算超可研了 要调可研吗")
    assert r.action == "clarify" and "feasibility" in {c.item for c in r.candidates}
    r = matcher.match("投资超概算10%要重新报批吗")
    assert r.item == "preliminary_design"
    r = matcher.match("取水超过了取水许可 会罚款吗")
    assert r.item == "water_permit"


def test_the_one_before_and_the_x_one_are_not_read_into_other_words(matcher):
    """「提前一个多月」「目前一个都没批」「你前一个回答」 point at no item; 「土地那个办完了 文物那个还要多久」 asks of the
    later one; 「验收呢」 after 消防验收 and then 环评 is offered (验收 is a word many names share), not guessed."""
    earlier = Context("flood_impact", "materials", ("water_permit",))
    for question in ("提前一个多月报行不行", "目前一个都还没批下来 咋办", "你前一个回答说的20天对吗"):
        assert matcher.match(question, earlier).item != "water_permit", question
    assert matcher.match("前一个呢 要多久", earlier).item == "water_permit"
    r = matcher.match("土地那个办完了 文物那个还要多久", Context("cultural_relics", "materials", ("land_supply",)))
    assert r.item == "cultural_relics"
    r = matcher.match("验收呢", Context("eia", "time_limit", ("fire_acceptance",)))
    assert (r.action, r.intent, r.context) == ("clarify", "time_limit", True)


def test_the_migrant_wage_deposit_is_a_paper_of_the_construction_permit(matcher, kb):
    """「农民工工资保证金要交吗」 after 施工许可证 asks of it (the deposit is on its material list, and its fee says the
    deposit is no approval fee); asked alone, 工资 keeps it a matter for a person."""
    verify_conversation(
        matcher,
        [
            ("王经理", "施工许可证要准备啥材料", "construction_permit", "materials", "answer", False),
            ("王经理", "农民工工资保证金要交吗 交多少", "construction_permit", "fee", "answer", True),
            ("李工", "农民工工资保证金要存多少", None, None, "handoff", False),
        ],
    )
    r = matcher.match("农民工工资保证金要交吗 交多少", Context("construction_permit", "materials"))
    assert "农民工工资保证金" in compose_answer(kb, r)


def test_a_topic_named_as_the_subject_of_a_tolerance_follow_up_is_offered_first(matcher):
    """「五证联发也能容缺吗」 after questions about 容缺受理 asks the 容缺 of 五证联发: the choice of the two, 五证联发 first
    — not the earlier topic answered, nor (doubted) handed to a person."""
    for question in ("五证联发也能容缺吗", "那五证联发能容缺吗"):
        r = matcher.match(question, Context("tolerance", "tolerance"))
        assert (r.item, r.intent, r.action) == ("five_certs", "tolerance", "clarify"), question
        assert [c.item for c in r.candidates[:2]] == ["five_certs", "tolerance"]
    # a channel is where it is asked, not what: the 容缺 topic still (answered, or offered alone when doubted)
    r = matcher.match("一网通办上能申请容缺不", Context("tolerance", "tolerance"))
    assert (r.item, r.intent) == ("tolerance", "tolerance")


def test_an_item_finished_before_that_names_another_is_the_background(matcher):
    """「备案完那个项目代码是不是就有了」: 备案 is done, what is asked is of the project code."""
    verify_dialog(
        matcher,
        [
            ("备案完那个项目代码是不是就有了", "project_code", "process", "answer"),
            ("备案完那个项目代码是自动生成的还是要另外申请", "project_code", "process", "answer"),
        ],
    )


def test_an_agencys_price_quote_is_no_fee_of_the_approval(matcher):
    """「消防检测公司报价两万五 正常吗」 after 消防验收 asks whether a testing firm's price is fair: a person's question,
    not the fee of 消防验收 (报价 is listed out of scope; a message naming an item outright keeps it)."""
    verify_conversation(
        matcher,
        [
            ("张总", "验收通过多久出消防验收意见书", "fire_acceptance", "time_limit", "answer", False),
            ("张总", "消防检测公司报价两万五 正常吗", None, None, "handoff", False),
        ],
    )


def test_a_procedure_not_yet_inspected_or_applied_for_is_what_the_earlier_item_waits_for(matcher):
    """「我们人防那块还没验 能先备案吗」 after 竣工验收备案: 人防 not yet inspected is what the filing waits for; the
    filing is asked of (as 「消防验收还没下来 能先备案吗」 was); so is 「竣工验收还没做 能先约消防吗」 of 消防验收."""
    r = matcher.match("我们人防那块还没验 能先备案吗", Context("completion_filing", "materials"))
    assert r.item == "completion_filing" and r.action in ("answer", "clarify")
    r = matcher.match("竣工验收还没做 能先约消防吗", Context("fire_acceptance", "time_limit"))
    assert (r.item, r.action) == ("fire_acceptance", "answer")


def test_an_item_not_waited_for_is_no_subject_of_its_own(matcher):
    """「这两个是不是可以一起跑 不用等图审完」 after 施工许可 and 图审: 图审 is what the asker would rather not wait for,
    not what is asked — not answered as 图审's question (offered beside the parallel topic)."""
    r = matcher.match(
        "这两个是不是可以一起跑 不用等图审完", Context("drawing_review", "status", ("construction_permit",))
    )
    assert r.action == "clarify" and "parallel" in [c.item for c in r.candidates]


def test_a_name_the_asker_takes_back_gives_way_to_the_one_said_instead(matcher):
    """Dictating, people correct themselves: 「环评 不对 是水保 要多久」 asks of 水保 (answered; offered as a choice
    between the thirty-fifth pass's retraining and the thirty-sixth's). Not 「对不对」 (nothing said instead), and two
    names asked together are both still asked."""
    verify_dialog(
        matcher,
        [
            ("环评 不对 是水保 要多久", "soil_water", "time_limit", "answer"),
            ("那个施工许可 哦不是 施工图审查要多久", "drawing_review", "time_limit", "answer"),
            ("能评 说错了 是环评 要交啥材料", "eia", "materials", "answer"),
        ],
    )
    r = matcher.match("那个压覆那个就是压覆矿产 不对 我问错了 是地质灾害那个 我们是平地要做评估吗")
    assert r.item == "geo_hazard"
    # a document found wrong and a question after 不对 take nothing back
    r = matcher.match("环评批复品名不对 是不是要重新报水保")
    assert not (r.item == "soil_water" and r.action == "answer")


def test_a_name_said_in_two_parts_with_a_filler_between_is_the_name(matcher):
    """Said aloud, a name is split by 那个: 「土地那个证」 is 土地证 (the 不动产权证), 「开工那个证」 the 施工许可证 — also after
    a question about 土地出让, which shares the word 土地; a word and a paper of one item (「环评那个材料」) are no name."""
    verify_dialog(
        matcher,
        [
            ("土地那个证几天能办下来", "property_cert", "time_limit", "answer"),
            ("俺想问问节能那个审查，必须得整吗，俺们项目也不大", "energy_review", "other", "answer"),
            ("环评那个材料要几份", "eia", "materials", "answer"),
        ],
    )
    # after 土地出让 too (offered as a choice after the thirty-sixth pass's retraining, answered again since the
    # thirty-seventh's: its known regression mended)
    r = matcher.match("那地交了以后 土地那个证 嗯 几天能办下来", Context("land_supply", "department"))
    assert (r.item, r.intent, r.action) == ("property_cert", "time_limit", "answer")


def test_words_next_to_this_passes_patterns_keep_their_own_reading(matcher):
    """What the patterns of this pass must not catch (a review's findings): 没办法/没做要求/没报批 are no procedure not
    yet done; a document 写错了 is no correction; 图审完那个合格书 names 图审's paper; works
    started before an item (「不用等环评批复 可以先开工吗」) ask of that item; 「其他事项都能容缺 这个能吗」 asks of this
    one; 退出备案 is a matter of its own; works 同时进行 during approvals are no parallel question."""
    for question, context, item in (
        ("环评没办法网上提交 可以去窗口交吗", Context("construction_permit", "materials"), "eia"),
        ("图审没办法走容缺吗", Context("construction_permit", "time_limit"), "drawing_review"),
        ("水保没做要求的话 可以不做吗", Context("construction_permit", "materials"), "soil_water"),
        ("环评没报批就开工了 能补办吗", Context("construction_permit", "materials"), "eia"),
        ("图审完那个合格书在哪领", Context("construction_permit", "materials"), "drawing_review"),
        ("不用等环评批复 可以先开工吗", Context("construction_permit", "materials"), "eia"),
        ("其他事项都能容缺 这个能吗", Context("construction_permit", "tolerance"), "construction_permit"),
        ("手续没办完 施工能同时进行吗", Context("construction_permit", "materials"), "construction_permit"),
    ):
        r = matcher.match(question, context)
        assert r.item == item, question
    r = matcher.match("水保批复上名称写错了", Context("construction_permit", "time_limit"))
    assert (r.item, r.context) == ("soil_water", False) and r.intent != "time_limit"
    r = matcher.match("其余审批也都能容缺吗", Context("land_use_planning", "tolerance"))
    assert r.item == "tolerance"


def test_a_return_to_an_earlier_item_and_a_procedure_asked_after_one_had(matcher):
    """「回到刚才预审那个…」 returns to an item asked before; 「那初设是不是要等可研批了才能报」 asks of 初设 after an
    interjection too; 「项目建议书要交哪些东西」 after 可研 asks for that procedure's own list, not whether its paper is
    one of 可研's; 「施工许可证我们已经拿了，竣工以后那个备案找谁」 asks of the filing after completion (a point in
    time inside a name put together from its words), while 「出让金缴清的证明」 stays no 不动产权证."""
    r = matcher.match("回到刚才预审那个 批复有效期几年", Context("land_supply", "fee", ("land_prereview",)))
    assert (r.item, r.action) == ("land_prereview", "answer")
    r = matcher.match("哦哦 那初设是不是要等可研批了才能报", Context("feasibility", "status"))
    assert (r.item, r.intent) == ("preliminary_design", "process")
    r = matcher.match("那前面的项目建议书要交哪些东西", Context("feasibility", "time_limit"))
    assert (r.item, r.intent, r.action) == ("proposal", "materials", "answer")
    r = matcher.match("那施工许可证我们已经拿了，竣工以后那个备案找谁")
    assert r.item == "completion_filing" and r.action in ("answer", "clarify")
    r = matcher.match("要交土地出让金缴清的证明吗")
    assert r.item != "property_cert"
    # a 证 inside another item's name (五证联发) puts no certificate together
    r = matcher.match("我们刚签完出让合同，出让金也交了，五证联发现在还能申请吗？")
    assert (r.item, r.action) == ("five_certs", "answer")


def test_where_a_procedure_is_done_asked_of_the_earlier_item(matcher):
    """「在哪审批」「几级审批」 ask where the earlier item is approved (the question words name no procedure of its
    own); 「保税仓库注册登记也在海关办吗」 after 海关认证 names a customs procedure of its own — handed to a person,
    not answered with the certification's department — while 「这个是登记中心办吧」 names the office (a guard)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "水保方案要交哪些材料", "soil_water", "materials", "answer", False),
            ("王经理", "在哪审批", "soil_water", "department", "answer", True),
            ("李工", "文物勘探要做吗 我们在老城区", "cultural_relics", None, "answer", False),
            ("李工", "几级审批 市里能定吗", "cultural_relics", "department", "answer", True),
            ("张总", "海关高级认证要花钱吗", "customs_aeo", "fee", "answer", False),
            ("张总", "保税仓库注册登记也在海关办吗", None, None, "handoff", False),
        ],
    )
    r = matcher.match("这个是登记中心办吧", Context("property_cert", "materials"))
    assert (r.item, r.intent, r.action) == ("property_cert", "department", "answer")


def test_papers_attached_or_handed_in_later_are_no_items_asked(matcher):
    """「需要附压矿和地灾的结果吗」 after 用地预审 asks what 用地预审 takes (two papers attached, not two procedures asked
    about); 「可研能不能先报着 建议书批复后补」 asks of 可研 (what is handed in later is missing now)."""
    r = matcher.match("需要附压矿和地灾的结果吗", Context("land_prereview", "other"))
    assert (r.item, r.intent, r.action, r.asks) == ("land_prereview", "materials", "answer", ())
    r = matcher.match("可研能不能先报着 建议书批复后补")  # a guard: 后 alone read it so before
    assert (r.item, r.intent) == ("feasibility", "tolerance")
    r = matcher.match(
        "可研先报 节能审查意见后补可以吗"
    )  # what comes later is no item asked (was offered 节能审查 first)
    assert r.item == "feasibility" and r.intent == "tolerance"
    # a paper issued again (补办, 补签) is no paper handed in later
    r = matcher.match("不动产权证再补办要多久", Context("land_use_planning", "process"))
    assert (r.item, r.intent, r.action) == ("property_cert", "time_limit", "answer")
    # an item asked in a clause of its own is asked about, though another is attached
    r = matcher.match("需要附压矿吗 地灾要多久", Context("land_prereview", "other"))
    assert ("geo_hazard", "time_limit") in [(a.item, a.intent) for a in r.asks]
    # asked about, not attached: both procedures
    r = matcher.match("压矿和地灾分别要多久")
    assert {a.item for a in r.asks} == {"mineral_overlay", "geo_hazard"}


def test_the_former_and_the_latter_of_two_items_asked_together(matcher):
    """Agents point back by 前者/后者: of the two items asked at once, in the order written — also when 后者 opens a
    message that goes on with a word of no item spoken of (竣工, a point in time)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "洪评和水保都归水利局管吧", "flood_impact", "department", "answer", False),
            ("王经理", "前者要多长时间", "flood_impact", "time_limit", "answer", True),
            ("王经理", "后者呢", "soil_water", "time_limit", "answer", True),
            ("王经理", "前者呢", "flood_impact", "time_limit", "answer", True),  # away from the item last answered
            ("李工", "消防设计审查和消防验收是不是都在住建局", "fire_design", "department", "answer", False),
            ("李工", "前者多少个工作日", "fire_design", "time_limit", "answer", True),
            ("李工", "后者呢 竣工了多久能来验", "fire_acceptance", "time_limit", "answer", True),
        ],
    )
    # a name written after the pointer says which, unless it is a point in time (竣工了) or a drawing (竣工图)
    r = matcher.match("后者 需要先拿用地预审吗", Context("flood_impact", "department", ("soil_water",), at_once=1))
    assert r.item != "soil_water"


def test_what_a_procedure_waits_for_is_no_item_asked(matcher):
    """「得等消防验收完吧」 after 竣工验收备案 is the filing's order, not a question about 消防验收; 「那初设得等可研批了才能
    报吧」 asks of 初设. Dialect acknowledgements (晓得了, 得嘞, 行嘞; 要得 and 中中 as the whole message) are small talk,
    never a follow-up."""
    r = matcher.match("啥时候能办 得等消防验收完吧", Context("completion_filing", "department"))
    assert r.item == "completion_filing" and r.action in ("answer", "clarify")
    r = matcher.match("那初设得等可研批了才能报吧")  # a guard: the subject named first was read so before
    assert (r.item, r.intent, r.action) == ("preliminary_design", "process", "answer")
    # how long the asker waits for it asks of it
    for question, context, item in (
        ("还要等施工许可证多久", Context("drawing_review", "time_limit"), "construction_permit"),
        ("得等消防验收多少天", Context("completion_filing", "department"), "fire_acceptance"),
    ):
        r = matcher.match(question, context)
        assert (r.item, r.intent, r.action) == (item, "time_limit", "answer"), question
    for said in ("晓得了", "晓得了 谢谢哈", "得嘞", "行嘞 辛苦了"):
        r = matcher.match(said, Context("flood_impact", "process", ("water_permit",)))
        assert (r.item, r.action) == (None, "smalltalk"), said
    # small talk only as the whole message (`alone` in smalltalk.yaml): 要得 is OK, 「要得钱吗」 asks a fee
    for said in ("要得", "要得 谢谢哈", "得劲 谢了哈", "中中", "要得要得", "好得很 要得"):
        r = matcher.match(said, Context("flood_impact", "process", ("water_permit",)))
        assert (r.item, r.action) == (None, "smalltalk"), said
    for question in ("办妥了吗", "要得钱吗", "要得久吗", "妥了没", "要得？", "要得吗", "得劲吗"):
        r = matcher.match(question, Context("eia", "materials"))
        assert r.action != "smalltalk", question


def test_a_matter_out_of_scope_only_told_leaves_a_topic_asked(matcher):
    """A matter out of scope told after the question in a clause that asks nothing (「…营业执照刚下来」) leaves a
    topic named in the asking clause to be answered, as an item already was; asked about itself, named with the
    topic, or told first and then asked about unnamed (「营业执照丢了 跨省通办能补办吗」), it stays out of scope."""
    verify_dialog(
        matcher,
        [
            ("项目代码怎么申请 客户是新注册的公司 营业执照刚下来", "project_code", "process", "answer"),
            ("营业执照能容缺吗", None, "tolerance", "handoff"),
            ("食品经营许可证能容缺吗", None, "tolerance", "handoff"),
            ("营业执照怎么办", None, None, "handoff"),
        ],
    )
    for question in ("营业执照丢了 跨省通办能补办吗", "发票丢了 网上办事大厅能补开吗", "社保还没交 能容缺吗"):
        r = matcher.match(question)
        assert (r.item, r.action, r.reason) == (None, "handoff", "out_of_scope"), question


def test_a_certificate_asked_for_by_the_bare_word_after_the_land_deal(matcher):
    """「签完出让合同多久能拿到证」 after 土地出让: the 证 is one that comes right after the land deal — offered, the
    不动产权证 (which the item model reads likelier) first, beside the 建设用地规划许可证; not after an item that issues
    a certificate itself (「几天出证」 after 用地规划许可 is its own), nor 「这几个证」."""
    for question, intent in (("签完出让合同多久能拿到证", "time_limit"), ("交清了后面办证需要啥", "materials")):
        r = matcher.match(question, Context("land_supply", "fee"))
        assert (r.item, r.intent, r.action) == ("property_cert", intent, "clarify"), question
        assert [c.item for c in r.candidates] == ["property_cert", "land_use_planning"]
    r = matcher.match("几天出证", Context("land_use_planning", "materials"))
    assert (r.item, r.action) == ("land_use_planning", "answer")
    r = matcher.match("那出让合同签完多久能拿到这几个证", Context("land_supply", "fee"))  # a guard
    assert r.item != "property_cert"
    # said otherwise (下证, 证书, 证 first) it is the same question; a certificate the item model reads as another
    # item's (开工前: the 施工许可证) is not offered these
    # (「多久能拿到证书」: the item model leans to 原产地证书, 0.26 against 0.21 — not well ahead, `Weights.disagree`)
    for question in ("签完合同多久能下证", "证啥时候能拿到", "多久能拿到证书"):
        r = matcher.match(question, Context("land_supply", "fee"))
        assert (r.item, r.action) == ("property_cert", "clarify"), question
    r = matcher.match("开工前要领个证吗", Context("land_supply", "fee"))
    assert "property_cert" not in [c.item for c in r.candidates]


def test_how_or_when_a_procedure_is_done_names_none_of_its_own(matcher):
    """直接/逾期/重新/办理… before 备案 or 审批 say how or when the item's own procedure is done, not a procedure the
    knowledge base lacks: 「还是直接备案就行」 after 地灾评估, 「项目名称变了要重新备案吗」 after 项目备案; a procedure
    named by its own words (施工合同备案) still is one."""
    r = matcher.match("要组织专家评审吗 还是直接备案就行", Context("geo_hazard", "materials"))
    assert (r.item, r.action) == ("geo_hazard", "answer")
    r = matcher.match("逾期备案会咋样", Context("completion_filing", "time_limit"))
    assert r.item == "completion_filing" and r.reason != "out_of_scope"
    r = matcher.match("施工合同备案在哪办", Context("construction_permit", "materials"))
    assert (r.item, r.action) == (None, "handoff")


def test_the_earlier_procedure_pointed_at_by_its_kind_of_paper_is_asked_about(matcher):
    """「这个证现在啥状态」 after 用地规划证: 这个 points at the earlier item's certificate (证 is a word of its names),
    no matter of its own; a certificate named by a word of its own (排污许可证), or a pointer at a paper the earlier
    item's names lack (那个执照), still is the asker's own matter (blind96, read)."""
    verify_conversation(
        matcher,
        [
            ("王经理", "建设用地规划许可证啥时候能发", "land_use_planning", "time_limit", "answer", False),
            ("王经理", "这个证现在啥状态", "land_use_planning", "status", "handoff", True),
        ],
    )
    verify_conversation(
        matcher,
        [
            ("张总", "建设用地规划许可证啥时候能发", "land_use_planning", "time_limit", "answer", False),
            ("张总", "排污许可证现在啥状态", None, "status", "handoff", False),
        ],
    )
    verify_conversation(  # 执照 is no word of the earlier item's names: a paper of the asker's own
        matcher,
        [
            ("赵工", "建设用地规划许可证啥时候能发", "land_use_planning", "time_limit", "answer", False),
            ("赵工", "那个执照现在啥状态", None, "status", "handoff", False),
        ],
    )


def test_these_two_asked_whether_they_may_be_accepted_with_a_paper_missing_are_both_answered(matcher):
    """「这俩能容缺不」 after 人防 and then 消防设计审查: the 容缺 of each of the two, not only of the last one
    (blind95, read); 「能容缺吗」 alone is the last item's."""
    from knowledge.context import MemoryContexts

    contexts = MemoryContexts()
    asker = ASKERS["王经理"]
    for question in ("人防审批都要啥材料", "消防设计审查呢 要啥"):
        contexts.follow(*asker, matcher.match(question, contexts.recall(*asker)))
    r = matcher.match("这俩能容缺不", contexts.recall(*asker))
    assert (r.item, r.intent, r.action, r.context) == ("civil_defense", "tolerance", "answer", True)
    assert [(a.item, a.intent) for a in r.asks] == [("civil_defense", "tolerance"), ("fire_design", "tolerance")]
    verify_conversation(
        matcher,
        [
            ("张总", "人防审批都要啥材料", "civil_defense", "materials", "answer", False),
            ("张总", "消防设计审查呢 要啥", "fire_design", "materials", "answer", False),
            ("张总", "能容缺吗", "fire_design", "tolerance", "answer", True),
        ],
    )


def test_a_short_name_written_across_two_words_is_no_name(matcher):
    """「开工可以…」 holds 工可 (the trade's name of 可研) as the end of 开工 and the start of 可以: not named, so
    「拿地即开工可以几个证一起发」 is answered as 拿地即开工 alone, no choice with 可研 (blind94, read); 工可 written
    as itself still names 可研."""
    r = matcher.match("拿地即开工可以几个证一起发")
    assert (r.item, r.action) == ("five_certs", "answer")
    assert "feasibility" not in {c.item for c in r.candidates}
    r = matcher.match("工可报告要多久能批")
    assert (r.item, r.intent) == ("feasibility", "time_limit")
    r = matcher.match("开工可以先干吗 工可还没批")  # across words first, then the name itself
    assert "feasibility" in {c.item for c in r.candidates}


def test_whether_the_earlier_item_may_be_applied_for_on_the_portal_asks_how_it_is_applied_for(matcher):
    """「一网通办上能报吗」 after 洪评: whether 洪评 is applied for there, its process (blind93, read); what the portal
    itself offers (「一网通办上能办哪些」) is the portal's own question."""
    verify_conversation(
        matcher,
        [
            ("王经理", "洪评批复有效期多久", "flood_impact", "other", "answer", False),
            ("王经理", "一网通办上能报吗", "flood_impact", "process", "answer", True),
        ],
    )
    verify_conversation(
        matcher,
        [
            ("张总", "洪评批复有效期多久", "flood_impact", "other", "answer", False),
            ("张总", "一网通办上能办哪些", "online_portal", None, "answer", False),
        ],
    )


def test_the_planning_permits_by_their_shortest_names(matcher):
    """工规 and 用规, the askers' shortest names of the two planning permits (53 labelled questions write them without
    证), name them outright: 「工规批前公示挂几天啊，公示期算不算在承诺时限里」 was handed off on a low score (blind93,
    read); 施工规范 and 土地利用规划 hold the letters across two words and name neither."""
    r = matcher.match("工规批前公示挂几天啊，公示期算不算在承诺时限里")
    assert (r.item, r.intent, r.action) == ("engineering_planning", "time_limit", "answer")
    r = matcher.match("划拨的用规怎么走")
    assert (r.item, r.action) == ("land_use_planning", "answer")
    assert "engineering_planning" not in matcher.index.named_items("施工规范有没有最新版")
    assert "land_use_planning" not in matcher.index.named_items("土地利用规划在哪查")


def test_thanks_in_a_dialect_are_small_talk_whatever_item_the_model_leans_to(matcher):
    """「要得」 (OK) as the whole message is small talk, alone and after a question (smalltalk.yaml `alone`), before
    any item the item model leans to is weighed: a retraining moved 「要得」 onto 洪评 (the thirty-eighth pass)."""
    for context in (None, Context("flood_impact", "process", ("water_permit",))):
        r = matcher.match("要得", context)
        assert (r.item, r.action) == (None, "smalltalk")
    r = matcher.match("要得钱吗", Context("eia", "materials"))  # asks a fee
    assert r.action != "smalltalk"
    r = matcher.match("那呢", Context("eia", "materials"))  # the earlier question again, no small talk
    assert r.action != "smalltalk"


def test_if_it_is_needed_then_the_approval_is_the_earlier_items(matcher):
    """「要的话审批要多久」 after 「是不是一定要做洪水影响评价」: 的话 ends no name, so 「话审批」 is no procedure of its own
    the knowledge base lacks; the approval is 洪评's (blind94, read). A procedure named by words of its own still is one."""
    verify_conversation(
        matcher,
        [
            ("王经理", "我们厂区靠近河道,是不是一定要做洪水影响评价", "flood_impact", "other", "answer", False),
            ("王经理", "要的话审批要多久", "flood_impact", "time_limit", "answer", True),
        ],
    )
    r = matcher.match("林木采伐许可证在哪办")
    assert (r.item, r.reason) == (None, "out_of_scope")


def test_one_of_two_items_just_asked_about_at_once_is_asked_about_not_a_paper_of_the_other(matcher):
    """After 「那这俩各要多少天」 of the two planning permits, 「工程规划证要交总平图吧 几套」 asks what 工程规划证 needs,
    not whether its certificate is a material of 用地规划证; the turn after stays with it (blind99, read). A paper the
    item issues (「审图合格书也得附上是吧」) is still a material of the item before."""
    verify_conversation(
        matcher,
        [
            ("王经理", "建设用地规划许可证和建设工程规划许可证能一起申请吗", "parallel", "process", "answer", False),
            ("王经理", "那这俩各要多少天", "land_use_planning", "time_limit", "answer", True),
            ("王经理", "工程规划证要交总平图吧 几套", "engineering_planning", "materials", "answer", False),
            ("王经理", "办证收不收费", "engineering_planning", "fee", "answer", True),
        ],
    )


def test_the_two_pointed_at_with_their_times_added_up(matcher):
    """「这俩加一块得多长时间 俺们急着投产呢」 after 消防验收 and 竣工备案: the time of each of the two (加一块 adds them up,
    it asks no running together), though something is told after it (blind100, read); the whole project's status
    after 「这俩」 is not the two's."""
    from knowledge.context import MemoryContexts

    contexts = MemoryContexts()
    asker = ASKERS["王经理"]
    for question in ("厂房都盖完了 消防验收咋申请", "验完了是不是还有个竣工备案"):
        contexts.follow(*asker, matcher.match(question, contexts.recall(*asker)))
    r = matcher.match("这俩加一块得多长时间 俺们急着投产呢", contexts.recall(*asker))
    assert (r.intent, r.action) == ("time_limit", "answer")
    assert [a.item for a in r.asks] == ["fire_acceptance", "completion_filing"]
    r = matcher.match("那这俩都办完的话 项目还差哪些手续", contexts.recall(*asker))
    assert r.item is None and r.intent == "status"
