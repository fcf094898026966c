"""The doubt of kept answers (knowledge/answer_doubt.py): a model of the read dialogues reads again the later turns the
follow-up readers answer with the earlier item, and offers the earlier item as a choice when it doubts the answer.

The questions below are none of the model's training texts (checked), so they test what it learned, not what it read."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import texts
from knowledge.answer_doubt import (
    DOUBT_HANDOFF,
    DOUBT_OFFER,
    KEPT_ANSWERS_PATH,
    SWITCH_DOUBT_OFFER,
    KeptAnswer,
    doubt_for,
    doubt_in_background,
    read_kept_answers,
    train_doubt,
    write_kept_answers,
)
from knowledge.context import Context
from knowledge.errors import KnowledgeError
from knowledge.matcher import Matcher
from knowledge.normalize import compact
from knowledge.turns_model import turns_files_checked
from tests.test_cli import clean_env, kb, reuse_bundled_kb, run  # noqa: F401  (the CLI tests' fixtures)
from tests.test_follow_up_gate import bundled, play  # noqa: F401  (the bundled knowledge base; one asker's turns)
from tests.texts_match import says

UNSEEN = (
    "周六你们上不上班",
    "燃气开户找谁",
    "维修基金交到哪个账户",
    "抽查到了不合格咋办",
    "抽查不合格怎么整改",
    "电表过户找供电公司吧",
    "那得多长时间",
    "消防那边验收是不是得先弄完才能去备案",
    "施工许可证去哪里办",
    "备完了多久出代码",
    "承诺书有模板吗",
)


@pytest.fixture(scope="module")
def doubting(bundled):  # noqa: F811
    return Matcher.trained(bundled)


@pytest.fixture(scope="module")
def trusting(bundled):  # noqa: F811
    return Matcher.trained(bundled, kept_answers=None)


def test_the_examples_are_no_training_texts():
    trained = {compact(a.q) for a in read_kept_answers()}
    assert not trained & {compact(q) for q in UNSEEN}


def test_a_kept_answer_the_model_doubts_is_offered_as_a_choice_of_the_earlier_item(trusting, doubting):
    """「燃气开户找谁」 after 竣工验收备案: the readers answer it with 竣工验收备案; the gas account is most likely no
    question of that item, but not surely, and the doubt offers 竣工验收备案 as a choice (in groups beside 「都不是，
    转人工」) instead."""
    turns = ["竣工验收备案要什么材料", "燃气开户找谁"]
    assert play(trusting, turns)[1][:3] == ("completion_filing", "department", "answer")
    item, _, action, reason = play(doubting, turns)[1]
    assert (item, action, reason) == ("completion_filing", "clarify", "doubted")
    result = doubting.match("燃气开户找谁", Context("completion_filing", "materials"))
    assert [c.item for c in result.candidates] == ["completion_filing"]
    wrong = doubting.kept_doubt.wrong(result.question, "completion_filing", "department")
    assert DOUBT_OFFER <= wrong < DOUBT_HANDOFF
    assert result.candidates[0].score == pytest.approx(1 - wrong, abs=1e-3)


def test_a_kept_answer_more_likely_wrong_than_right_goes_to_a_person_and_the_conversation_stays(trusting, doubting):
    """「周六你们上不上班」 after 能评 and 「维修基金交到哪个账户」 after 竣工验收备案: the doubt finds the kept answer more
    likely wrong than right, so the earlier item is not offered either; the turn goes to a person (no item, reason
    `doubted_kept`, the earlier item its one candidate), and is none of the bot's own replies (a waiting ticket takes
    it). The conversation stays where it was: 「那得多长时间」 next is the earlier item's."""
    from knowledge.service import answered_by_bot

    for first, question, earlier in (
        ("节能审查找哪个部门", "周六你们上不上班", "energy_review"),
        ("竣工验收备案要什么材料", "维修基金交到哪个账户", "completion_filing"),
    ):
        assert play(trusting, [first, question])[1][0] == earlier
        seen = play(doubting, [first, question, "那得多长时间"])
        assert seen[1] == (None, seen[1][1], "handoff", "doubted_kept"), question
        assert seen[2][:3] == (earlier, "time_limit", "answer"), question
        result = doubting.match(question, Context(earlier, "materials"))
        assert [c.item for c in result.candidates] == [earlier] and not result.context
        assert doubting.kept_doubt.wrong(question, earlier, result.intent) >= DOUBT_HANDOFF
        assert not answered_by_bot(result)
    # an answer that switched to an item the turn names stays a choice however doubted: the earlier item is the other


def test_a_doubted_kept_answer_whose_message_alone_names_another_item_offers_both(trusting, doubting):
    """「取水那个也在水利局办吧？」 after 洪评: the readers keep 洪评 and the doubt finds that more likely wrong; read
    alone the message answers 取水许可, so the two are offered (the item named first), as a doubted switch."""
    turns = ["洪水影响评价要什么材料", "取水那个也在水利局办吧？"]
    assert play(trusting, turns)[1][:3] == ("flood_impact", "department", "answer")
    assert doubting.match(turns[1]).item == "water_permit"
    assert play(doubting, turns)[1] == ("water_permit", "department", "clarify", "doubted")
    result = doubting.match(turns[1], Context("flood_impact", "materials"))
    assert [c.item for c in result.candidates] == ["water_permit", "flood_impact"]
    assert doubting.kept_doubt.wrong(turns[1], "flood_impact", "department") >= DOUBT_HANDOFF


def test_a_request_to_a_steward_is_read_before_the_doubt(doubting):
    """「行 麻烦管家盯一下」 after a status question of 不动产权证 asks a steward to act: it goes to one with its item,
    whatever the doubt would make of it as a kept answer."""
    seen = play(doubting, ["不动产权证现在办到哪了", "行 麻烦管家盯一下"])
    assert seen[1] == ("property_cert", "other", "handoff", "request")


def test_the_doubt_reads_the_words_given_the_earlier_item(doubting):
    """「抽查…不合格」 after 消防验收 is that item's own step (answered); after 备案 it is another procedure's matter."""
    doubt = doubting.kept_doubt
    assert doubt is not None
    assert doubt.wrong("抽查不合格怎么整改", "fire_acceptance", "process") < DOUBT_OFFER
    assert doubt.wrong("抽查到了不合格咋办", "filing", "process") >= DOUBT_OFFER
    assert play(doubting, ["消防验收去哪办", "抽查不合格怎么整改"])[1][2] == "answer"
    assert play(doubting, ["企业投资项目备案怎么办", "抽查到了不合格咋办"])[1][2:] == ("clarify", "doubted")


def test_the_kept_doubt_reads_how_the_item_model_reads_the_turn_alone(doubting):
    """「备完了多久出代码」 after 项目备案: 代码 is a word the doubt's few hundred wrong answers never held, which the item
    model (trained on every labelled question) reads as 项目代码's. With that reading the kept answer is doubted, and
    the bot offers the earlier item as a choice; a plain follow-up is answered."""
    answers = read_kept_answers()
    with_reading, words_only = train_doubt(answers, doubting.model), train_doubt(answers)
    assert with_reading is not None and words_only is not None
    asked = ("备完了多久出代码", "filing", "time_limit")
    assert words_only.wrong(*asked) < DOUBT_OFFER <= with_reading.wrong(*asked)
    assert doubting.kept_doubt.wrong(*asked) == pytest.approx(with_reading.wrong(*asked))  # the bot's own doubt
    assert play(doubting, ["企业投资项目备案怎么办", "备完了多久出代码"])[1] == (
        "filing",
        "time_limit",
        "clarify",
        "doubted",
    )
    assert with_reading.wrong("那得多长时间", "eia", "time_limit") < DOUBT_OFFER
    assert play(doubting, ["环评要什么材料", "那得多长时间"])[1][:3] == ("eia", "time_limit", "answer")


def test_a_switch_the_model_doubts_is_offered_as_a_choice_of_the_item_named_and_the_earlier_one(trusting, doubting):
    """「消防那边验收是不是得先弄完才能去备案」 after 竣工验收备案 names 消防验收 and reads as it alone; the writers of
    such turns mostly ask about the earlier item's order, so the switch is offered as a choice: the item named first
    (the answer it replaces), the earlier one beside it. The next elliptical turn offers the two again (no button
    pressed)."""
    turns = ["竣工验收备案要什么材料", "消防那边验收是不是得先弄完才能去备案", "要多久"]
    assert play(trusting, turns)[1][2:] == ("answer", "confident")
    seen = play(doubting, turns)
    assert seen[1] == ("fire_acceptance", "process", "clarify", "doubted")
    assert seen[2][2] == "clarify"
    result = doubting.match(turns[1], Context("completion_filing", "materials"))
    assert [c.item for c in result.candidates] == ["fire_acceptance", "completion_filing"]
    wrong = doubting.kept_doubt.wrong(turns[1], "completion_filing", "process", "fire_acceptance")
    assert wrong >= SWITCH_DOUBT_OFFER and result.confidence == pytest.approx(1 - wrong, abs=1e-3)


def test_a_plain_switch_to_an_item_named_is_answered(doubting):
    """「施工许可证去哪里办」 after 环评: a new question naming its own item, answered as it reads alone."""
    doubt = doubting.kept_doubt
    assert doubt is not None and doubt.reads_switches
    assert doubt.wrong("施工许可证去哪里办", "eia", "department", "construction_permit") < SWITCH_DOUBT_OFFER
    assert play(doubting, ["环评要什么材料", "施工许可证去哪里办"])[1] == (
        "construction_permit",
        "department",
        "answer",
        "confident",
    )


def test_a_switch_that_is_a_faq_question_or_says_it_moves_on_is_not_doubted(doubting):
    """A question of the knowledge base's FAQ keeps its own answer (a choice would lose it); 「换个问题」「另外问一下」
    say the asker moves on (none of those was wrong on the read sets); a plain question naming its item is answered
    after any earlier item the model has read."""
    earlier = Context("completion_filing", "materials")
    faq = "小项目可以免图审吗？"
    assert faq in [f.q for f in doubting.kb.items["drawing_review"].faq]
    for question in (faq, "换个问题 消防验收不合格怎么办", "另外问一下，施工图审查一般要多久"):
        result = doubting.match(question, earlier)
        assert result.action == "answer" and result.reason != "doubted", question
    assert doubting.match(faq, earlier).faq is not None
    # ... but 拿地即开工, whose certificates come out together, is asked of by naming what it waits for (「施工图审查
    # 合格书还差一点 能先容缺吗」): there the model doubts it, and offers both
    for item in doubting.kb.items:
        if item not in ("drawing_review", "five_certs"):
            result = doubting.match("施工图审查要什么材料", Context(item, "materials"))
            assert (result.item, result.action) == ("drawing_review", "answer"), item
    result = doubting.match("施工图审查要什么材料", Context("five_certs", "materials"))
    assert [c.item for c in result.candidates] == ["drawing_review", "five_certs"]


def test_a_switch_away_from_an_item_the_knowledge_base_no_longer_holds_offers_no_button_of_it(doubting):
    """An item removed while a conversation was about it (the bot restarted within the context's minutes) is no
    choice: the switch is answered."""
    result = doubting.match("消防那边验收是不是得先弄完才能去备案", Context("an_item_removed", "materials"))
    assert "an_item_removed" not in [c.item for c in result.candidates]
    assert (result.item, result.action) == ("fire_acceptance", "answer")


def test_each_kind_of_answer_is_read_by_its_own_model():
    """A file of kept answers only trains no model of switches: a switch reads 0 (answered as without the model),
    and the kept answers' model is what it was."""
    kept = [
        KeptAnswer("要收费吗", "eia", "fee", False),
        KeptAnswer("要多久", "eia", "time_limit", False),
        KeptAnswer("周六上班吗", "eia", "other", True),
    ]
    switched = KeptAnswer("消防验收要先做吗", "completion_filing", "process", True, answered="fire_acceptance")
    assert switched.switched and switched.item == "fire_acceptance" and not kept[0].switched
    only_kept = train_doubt(kept)
    assert only_kept is not None and not only_kept.reads_switches
    assert only_kept.wrong(switched.q, switched.earlier, switched.intent, switched.item) == 0.0
    both = train_doubt([*kept, switched, KeptAnswer("那水保呢", "eia", "other", False, answered="soil_water")])
    assert both is not None and both.reads_switches
    assert both.wrong("周六上班吗", "eia", "other") == pytest.approx(only_kept.wrong("周六上班吗", "eia", "other"))


def test_a_plain_follow_up_stays_answered_and_a_doubted_one_keeps_the_conversation(doubting):
    """「那得多长时间」 after 环评 is answered as before; after a doubted turn, offered as a choice or handed to a person,
    the conversation is still about its item (no button pressed), so 「那得多长时间」 next is answered with it."""
    for doubted, outcome in (
        ("燃气开户找谁", ("clarify", "doubted")),
        ("电表过户找供电公司吧", ("handoff", "doubted_kept")),
    ):
        seen = play(doubting, ["竣工验收备案要什么材料", doubted, "那得多长时间"])
        assert seen[1][2:] == outcome, doubted
        assert seen[2][:3] == ("completion_filing", "time_limit", "answer"), doubted
    assert play(doubting, ["环评要什么材料", "那得多长时间"])[1][:3] == ("eia", "time_limit", "answer")


def test_training_is_repeatable_and_needs_both_outcomes(doubting):
    answers = read_kept_answers()
    earlier = ["energy_review", "completion_filing", "completion_filing", "filing", "fire_acceptance"]
    earlier += ["completion_filing", "eia", "completion_filing", "eia", "filing", "civil_defense"]
    asked = (list(UNSEEN), earlier, ["other"] * len(UNSEEN))
    for items in (None, doubting.model):
        first, second = train_doubt(answers, items), train_doubt(answers, items)
        assert first is not None and second is not None and first.answers == len(answers)
        assert np.array_equal(first.probabilities(*asked), second.probabilities(*asked))
    assert train_doubt([KeptAnswer("要多久", "eia", "time_limit", False)] * 2) is None


def test_an_item_or_intent_the_model_never_saw_is_read_as_none(doubting):
    """An operator's new item (or an intent of its own) has no weight of its own: two of them read alike, by the
    words alone."""
    doubt = doubting.kept_doubt
    assert doubt is not None
    one = doubt.wrong("那得多长时间", "an_operators_new_item", "an_intent_of_its_own")
    other = doubt.wrong("那得多长时间", "another_new_item", "another_intent")
    assert one == pytest.approx(other) and one != pytest.approx(doubt.wrong("那得多长时间", "eia", "time_limit"))


def test_a_doubt_that_failed_to_train_leaves_kept_answers_as_they_are(bundled, caplog):  # noqa: F811
    """A training that raised (out of memory, say) is logged once and the follow-ups are answered as without the
    model; no message fails on it."""
    from concurrent.futures import Future

    failed: Future = Future()
    failed.set_exception(MemoryError("no room to train"))
    matcher = Matcher(bundled, model=Matcher.trained(bundled).model, doubt=failed)
    assert play(matcher, ["节能审查找哪个部门", "周六你们上不上班"])[1][2] == "answer"  # handed off with the doubt
    assert matcher.kept_doubt is None
    assert sum("could not be trained" in r.getMessage() for r in caplog.records) == 1


def test_a_message_naming_the_earlier_item_itself_is_not_doubted(doubting):
    """The doubt reads answers taken from the conversation (`MatchResult.context`); a message that names its item
    is answered as it reads alone (on the read sets the doubt was right once in ten there)."""
    result = doubting.match("节能审查周六上不上班", Context("energy_review", "department"))
    assert result.item == "energy_review" and not result.context and result.reason != "doubted"


def test_the_answers_file_names_the_line_that_is_not_an_answer(tmp_path):
    path = tmp_path / "kept_answers.jsonl"
    good = {"q": "要钱吗", "earlier": "eia", "intent": "fee", "wrong": False}
    path.write_text(json.dumps(good) + '\n{"q": "去哪办", "earlier": "eia"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path.name}:2"):
        read_kept_answers(path)
    path.write_text(json.dumps({**good, "wrong": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path.name}:1: .*wrong true or false"):
        read_kept_answers(path)


def test_a_broken_answers_file_stops_the_start_up_naming_its_line(tmp_path, bundled):  # noqa: F811
    """The file is read as the matcher is built (its training runs on a thread), so a broken line is the start-up's
    error with its file and line, not the first message's."""
    path = tmp_path / "kept_answers.jsonl"
    path.write_text('{"q": "要钱吗"}\n', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=rf"{path.name}"), turns_files_checked():
        Matcher.trained(bundled, kept_answers=path)


def test_the_doubt_is_trained_once_per_version_of_its_file_and_is_none_without_one(tmp_path):
    assert doubt_for(None) is None and doubt_in_background(tmp_path / "missing.jsonl") is None
    path = tmp_path / "answers.jsonl"
    answers = [
        KeptAnswer("要收费吗", "eia", "fee", False),
        KeptAnswer("要多久", "eia", "time_limit", False),
        KeptAnswer("周六上班吗", "eia", "other", True),
    ]
    assert write_kept_answers(path, answers) == 3 and read_kept_answers(path) == answers
    switch = KeptAnswer("消防验收要先做吗", "completion_filing", "process", True, answered="fire_acceptance")
    assert write_kept_answers(tmp_path / "switched.jsonl", [switch]) == 1
    assert read_kept_answers(tmp_path / "switched.jsonl") == [switch]
    once = doubt_in_background(path)
    assert once is not None and once is doubt_in_background(path)
    trained = once.result()
    assert trained is not None and trained.answers == 3
    write_kept_answers(path, [*answers, KeptAnswer("去哪办", "eia", "department", False)])
    os.utime(path, ns=(1, 1))  # another version of the file even where the clock is coarse
    again = doubt_in_background(path)
    assert again is not None and again is not once and again.result().answers == 4


def test_the_bundled_answers_are_what_replaying_the_read_dialogues_gives(capsys, tmp_path, clean_env):  # noqa: F811
    """`steward kb doubts --write` replays the read dialogue sets with the gate and without the doubt; the bundled
    file must be what it writes (after a change to the readers, run it again), and the command reports the figures."""
    written = tmp_path / "kept_answers.jsonl"
    code, out, _ = run(capsys, "kb", "doubts", "--write", "--file", str(written))
    assert code == 0, out
    assert written.read_text(encoding="utf-8") == KEPT_ANSWERS_PATH.read_text(encoding="utf-8")
    assert says(texts.DOUBT_REPLAYED, out) and says(texts.DOUBT_LINE, out, threshold=DOUBT_OFFER)
    assert says(texts.DOUBT_REPLAYED_SWITCHED, out) and says(texts.DOUBT_LINE, out, threshold=SWITCH_DOUBT_OFFER)
    assert says(texts.DOUBT_HANDOFF_LINE, out, threshold=DOUBT_HANDOFF)
    assert says(texts.DOUBT_TEST_LABEL, out) and says(texts.CLI_GUARD_WRITTEN, out, path=written)
    stale = tmp_path / "stale.jsonl"
    write_kept_answers(stale, read_kept_answers()[:-1])
    code, out, err = run(capsys, "kb", "doubts", "--file", str(stale))
    assert code == 1 and says(texts.GATE_FILE_STALE, err, path=stale, had=len(read_kept_answers()) - 1)
