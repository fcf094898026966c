"""Whether a group message asks (knowledge/question_cue.py): the cue book's question marks, and for a message with
none, a model learned from the read sets' questions and the chatter banks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import texts
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher
from knowledge.normalize import compact
from knowledge.question_cue import (
    ASKS,
    MAY_ASK,
    QUESTION_P,
    QUESTION_TURNS_PATH,
    TALK,
    QuestionTurn,
    answers_unasked,
    has_question_mark,
    load_chatter,
    read_question_turns,
    reader_for,
    reader_in_background,
    reading_of,
    reads_as_question,
    train_reader,
    unmarked_turns,
    write_question_turns,
)
from tests.test_cli import clean_env, run  # noqa: F401  (the CLI tests' fixtures)
from tests.texts_match import says

BUNDLED = Path(__file__).resolve().parent.parent / "knowledge" / "data"


@pytest.fixture(scope="module")
def matcher():
    return Matcher.trained(load_knowledge(BUNDLED))


def _trained_on(text: str) -> bool:
    return compact(text) in {compact(turn.q) for turn in read_question_turns()}


@pytest.mark.parametrize(
    "question",
    [
        "是去市里办还是区里办",  # an alternative question: no question word
        "节能审查是发改委批吧",  # a statement to confirm
        "咱这水保多会儿能批",  # dialect
        "那收费标准",  # an elliptical follow-up
        "材料清单发一份",  # a request
    ],
)
def test_a_question_with_no_question_mark_may_ask(question):
    assert not has_question_mark(question) and not _trained_on(question)  # the reader never saw it
    assert reading_of(question, reader_for()) == MAY_ASK
    assert reads_as_question(question)


@pytest.mark.parametrize(
    "chatter", ["下午三点开调度会", "小李把合同扫描一下发群里", "今天下雨了", "我们材料已经交了", "环评报告下周出", ""]
)
def test_people_talking_do_not_read_as_asking(chatter):
    assert not _trained_on(chatter)
    assert reading_of(chatter, reader_for()) == TALK
    assert not reads_as_question(chatter)


@pytest.mark.parametrize(
    ("denial", "question"),
    [
        ("不对不对", "对不对"),
        ("不是不是", "是不是"),
        ("不要不要", "要不要"),
        ("不能不能", "能不能"),
        ("没有没有", "有没有"),
    ],
)
def test_a_denial_said_twice_is_no_question_mark(denial, question):
    """「不对不对 是水保」 corrects: its 「对不对」 is inside the denial, not a question (the cue's X不X and its
    literal 是不是/要不要/能不能/有没有 do not count after 不 or 没)."""
    assert not has_question_mark(f"{denial} 是水保")
    assert has_question_mark(f"是水保 {question}")


def test_a_question_mark_asks_and_without_a_reader_only_it_does():
    assert reading_of("环评要什么材料", None) == ASKS and reading_of("环评多久", reader_for()) == ASKS
    assert reading_of("是去市里办还是区里办", None) == TALK


@pytest.mark.parametrize(
    ("message", "speaks"),
    [
        ("节能审查是发改委批吧", True),  # an item and the aspect asked: answered
        ("是的", False),  # the reader may take it, but there is no item: left to the people (no ticket)
        ("还没批下来", False),  # a status: the ledger or a steward, never made a ticket unasked
        ("环评", False),  # a bare name: no aspect of its own words
    ],
)
def test_the_bot_speaks_up_unasked_only_with_an_answer_of_its_own(matcher, message, speaks):
    assert answers_unasked(matcher.match(message), matcher.intent_said(message)) is speaks


def test_an_aspect_from_the_conversation_is_not_the_messages_own(matcher):
    # 「环评」 after 「能评要多久」 may be answered as 环评's time in context, but its words ask no aspect
    from knowledge.context import Context

    in_context = matcher.match("环评", Context("energy_review", "time_limit"))
    assert in_context.action == "answer" and matcher.intent_said("环评") is None
    assert not answers_unasked(in_context, matcher.intent_said("环评"))


def test_a_question_mark_asks_whatever_the_reader_says():
    # a reader trained to call everything chatter still lets the cue book's marks through
    reader = train_reader([QuestionTurn("收到", False), QuestionTurn("好的", False), QuestionTurn("那时限", True)])
    assert reader is not None and reader.asks("环评要什么材料") < QUESTION_P
    assert reads_as_question("环评要什么材料", reader)


def test_unmarked_turns_keep_questions_and_chatter_and_leave_out_thanks_and_marked_texts():
    from knowledge.evaluation import LabelledQuestion
    from knowledge.question_cue import ChatterLine

    sets = [
        (
            "set",
            [
                LabelledQuestion("网上报还是去窗口", "eia", "process"),
                LabelledQuestion("好的 谢谢", None, "other"),  # thanks or small talk: neither
                LabelledQuestion("环评要什么材料", "eia", "materials"),  # a question mark: not the reader's
                LabelledQuestion("网上报 还是去窗口", "eia", "process"),  # the same text but for spaces: once
            ],
        ),
        ("bank", [ChatterLine("材料已经交了", False, "report"), ChatterLine("那时限", True, "bare")]),
    ]
    assert unmarked_turns(sets) == [
        QuestionTurn("网上报还是去窗口", True, "set"),
        QuestionTurn("材料已经交了", False, "bank"),
        QuestionTurn("那时限", True, "bank"),
    ]


def test_training_is_repeatable_and_needs_both_answers():
    turns = read_question_turns()
    first, second = train_reader(turns), train_reader(turns)
    assert first is not None and second is not None and first.turns == len(turns)
    texts_ = ["网上报还是去窗口", "收到", "环评"]
    assert np.array_equal(first.probabilities(texts_), second.probabilities(texts_))
    assert train_reader([QuestionTurn("那时限", True), QuestionTurn("费用呢", True)]) is None


def test_the_files_name_the_line_that_is_not_one(tmp_path):
    path = tmp_path / "turns.jsonl"
    path.write_text('{"q": "那时限", "question": true}\n{"q": "收到"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path.name}:2"):
        read_question_turns(path)
    path.write_text('{"q": "收到", "question": "no"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path.name}:1: .*question true or false"):
        read_question_turns(path)
    bank = tmp_path / "bank.jsonl"
    bank.write_text('{"text": "收到", "question": false}\n{"text": "那时限", "question": 1}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{bank.name}:2: question must be true or false"):
        load_chatter(bank)


def test_the_reader_is_trained_once_per_version_of_its_file_and_is_none_without_one(tmp_path):
    assert reader_for(None) is None and reader_for(tmp_path / "missing.jsonl") is None
    path = tmp_path / "turns.jsonl"
    turns = [QuestionTurn("那时限", True), QuestionTurn("收到", False), QuestionTurn("网上还是窗口", True)]
    assert write_question_turns(path, turns) == 3 and read_question_turns(path) == turns
    once = reader_for(path)
    assert once is reader_for(path) and once is not None and once.turns == 3
    write_question_turns(path, [*turns, QuestionTurn("明天开会", False)])
    os.utime(path, ns=(1, 1))  # another version of the file even where the clock is coarse
    again = reader_for(path)
    assert again is not once and again is not None and again.turns == 4


def test_the_bundled_turns_are_what_the_read_data_gives(capsys, tmp_path, clean_env):  # noqa: F811
    """`steward kb questions --write` gathers the read sets' and chatter banks' messages with no question mark; the
    bundled file must be what it writes (after a change to the cue book's marks or the data, run it again)."""
    written = tmp_path / "turns.jsonl"
    code, out, _ = run(capsys, "kb", "questions", "--write", "--file", str(written))
    assert code == 0, out
    assert written.read_text(encoding="utf-8") == QUESTION_TURNS_PATH.read_text(encoding="utf-8")
    assert says(texts.QUESTIONS_LINE, out, threshold=QUESTION_P)
    assert says(texts.QUESTIONS_TEST_LABEL, out) and says(texts.CLI_GUARD_WRITTEN, out, path=written)
    assert all(
        not has_question_mark(json.loads(line)["q"]) for line in written.read_text(encoding="utf-8").splitlines()
    )


def test_the_command_exits_1_on_a_stale_file_and_scores_labelled_files(capsys, tmp_path, clean_env):  # noqa: F811
    stale = tmp_path / "turns.jsonl"
    write_question_turns(stale, read_question_turns()[:-1])
    chatter = tmp_path / "chatter.jsonl"
    lines = [
        ("网上报还是去窗口", True),
        ("环评要什么材料", True),
        ("收到", False),
        ("小王你下午跟我去趟自然资源局", False),
    ]
    chatter.write_text("".join(json.dumps({"text": t, "question": q}) + "\n" for t, q in lines), encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        json.dumps({"q": "网上报还是去窗口", "item": "eia", "intent": "process"}) + "\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "kb", "questions", "--file", str(stale), "--score", str(chatter), str(labelled))
    assert code == 1 and says(texts.QUESTIONS_FILE_STALE, err, path=stale, had=len(read_question_turns()) - 1)
    assert says(texts.QUESTIONS_SCORE, out, path=chatter, asks=2, marked=1, read=2, chatter=2, read_chatter=0)
    assert says(texts.QUESTIONS_SCORE, out, path=labelled, asks=1, marked=0, read=1, chatter=0)


def test_the_reader_trained_in_a_thread_reads_as_the_one_trained_at_once():
    # the bot trains it in a thread from its post_init (start-up goes on); the same turns give the same reader
    turns = read_question_turns()
    at_once, in_thread = train_reader(turns), reader_in_background(turns).result()
    assert at_once is not None and in_thread is not None
    texts_ = ["是去市里办还是区里办", "今天下雨了", "环评"]
    assert np.array_equal(at_once.probabilities(texts_), in_thread.probabilities(texts_))


def test_the_service_waits_for_its_reader_and_reads_by_marks_alone_without_one(tmp_path):
    from knowledge.service import KnowledgeService

    kb = load_knowledge(BUNDLED)
    turns = [QuestionTurn("那时限", True), QuestionTurn("收到", False), QuestionTurn("网上还是窗口", True)]
    service = KnowledgeService(kb=kb, matcher=None, db=None, clock=None, question_turns=turns)
    assert service.question_reader is not None and service.question_reader.turns == 3  # trained on first use
    assert service.reading_of("收到") == TALK and service.reading_of("环评要多久") == ASKS
    bare = KnowledgeService(kb=kb, matcher=None, db=None, clock=None)
    assert bare.question_reader is None and bare.reading_of("网上报还是去窗口") == TALK


def test_a_reader_that_failed_to_train_leaves_question_marks_to_decide(caplog, monkeypatch):
    import knowledge.question_cue
    from knowledge.service import KnowledgeService

    def fails(turns):
        raise MemoryError("no room to train")

    monkeypatch.setattr(knowledge.question_cue, "train_reader", fails)
    kb = load_knowledge(BUNDLED)
    turns = [QuestionTurn("那时限", True), QuestionTurn("收到", False)]
    service = KnowledgeService(kb=kb, matcher=None, db=None, clock=None, question_turns=turns)
    assert service.reading_of("环评要多久") == ASKS  # a question mark never waits for the reader
    with caplog.at_level("ERROR", logger="knowledge.service"):
        assert service.reading_of("是去市里办还是区里办") == TALK
    assert service.question_reader is None and "question reader" in caplog.text


def test_a_message_waits_a_bounded_time_for_a_training_reader_then_reads_by_marks(caplog, monkeypatch):
    # the event loop waits on the training for a message with no mark: a stuck training must not stop the bot
    import threading

    import knowledge.question_cue
    from knowledge.service import KnowledgeService

    release = threading.Event()
    trained = knowledge.question_cue.train_reader

    def slow(turns):
        release.wait(timeout=30)
        return trained(turns)

    monkeypatch.setattr(knowledge.question_cue, "train_reader", slow)
    kb = load_knowledge(BUNDLED)
    turns = [
        QuestionTurn("等一下那时限", True),
        QuestionTurn("等一下收到", False),
        QuestionTurn("等一下网上还是窗口", True),
    ]
    service = KnowledgeService(kb=kb, matcher=None, db=None, clock=None, question_turns=turns, reader_wait=0)
    with caplog.at_level("WARNING", logger="knowledge.service"):
        assert service.reading_of("是去市里办还是区里办") == TALK  # not trained yet: by its marks alone
        assert service.reading_of("网上报还是窗口报") == TALK  # … and the next message does not wait again
    assert caplog.text.count("not trained") == 1
    release.set()
    waits = KnowledgeService(kb=kb, matcher=None, db=None, clock=None, question_turns=turns)
    assert waits.question_reader is not None and waits.question_reader.turns == 3  # the same training, finished


def test_every_application_of_a_process_shares_one_training_of_the_same_turns():
    turns = read_question_turns()
    assert reader_in_background(turns) is reader_in_background(list(turns))
    assert reader_in_background(turns[:-1]) is not reader_in_background(turns)
