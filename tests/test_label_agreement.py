"""The label-agreement benchmark counts two writers' labels and the matcher's readings turn by turn (the figures
are the benchmark's business; this proves what it counts)."""

from __future__ import annotations

import json

import pytest

from benchmarks.label_agreement import Tally, read_set, render
from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher

CHAT, USER = -1001234567890, 5000000001
TURNS = [  # (text, item, intent, dialogue, the second writer's item and intent)
    ("环评要什么材料", "eia", "materials", 1, "eia", "materials"),
    ("那得多长时间", "eia", "time_limit", 1, "eia", "process"),  # the second writer reads another intent
    ("水保方案在哪个部门办", "soil_water", "department", 2, "soil_water", "department"),
    ("要钱吗", "soil_water", "fee", 2, None, "fee"),  # the second writer reads it as about nothing
]


@pytest.fixture(scope="module")
def matcher():
    return Matcher.trained(load_knowledge(BUNDLED_KNOWLEDGE_PATH))


def _write(tmp_path, second_texts=None):
    (tmp_path / "second").mkdir()
    with open(tmp_path / "tiny_dialogues.jsonl", "w", encoding="utf-8") as first:
        for text, item, intent, dialogue, _, _ in TURNS:
            row = {"chat": CHAT, "user": USER, "text": text, "item": item, "intent": intent, "dialogue": dialogue}
            first.write(json.dumps(row, ensure_ascii=False) + "\n")
    texts = second_texts or [t[0] for t in TURNS]
    with open(tmp_path / "second" / "tiny_dialogues.jsonl", "w", encoding="utf-8") as second:
        for text, (_, _, _, _, item, intent) in zip(texts, TURNS, strict=True):
            second.write(json.dumps({"text": text, "item": item, "intent": intent}, ensure_ascii=False) + "\n")


def test_two_writers_and_the_matcher_are_counted_turn_by_turn(tmp_path, matcher):
    _write(tmp_path)
    turns = read_set(matcher, "tiny_dialogues", data=tmp_path, second_labels=tmp_path / "second")
    assert [t.later for t in turns] == [False, True, False, True]
    assert [(t.result.item, t.result.action) for t in turns] == [
        ("eia", "answer"),
        ("eia", "answer"),
        ("soil_water", "answer"),
        ("soil_water", "answer"),
    ]
    assert [t.result.intent for t in turns] == ["materials", "time_limit", "department", "fee"]
    tally = Tally()
    for turn in turns:
        tally.add(turn)
    assert (tally.turns, tally.writers_item, tally.writers_intent) == (4, 3, 3)
    assert (tally.matcher_item, tally.matcher_intent) == (4, 4)  # with the first writer
    assert (tally.matcher_item_second, tally.matcher_intent_second) == (3, 3)
    assert (tally.answered, tally.wrong, tally.wrong_second) == (4, 0, 1)  # 「要钱吗」 is wrong by the second's labels
    assert (tally.second_differs, tally.agreed, tally.wrong_agreed) == (1, 3, 0)
    row = render({"all": tally}).splitlines()[2]
    assert (
        row
        == "| all | 4 | 75.0% / 75.0% | 100.0% / 100.0% | 75.0% / 75.0% | 4 | 0 (0.0%) | 1 (25.0%) | 1 (25.0%) | 0 of 3 (0.0%) |"
    )


def test_second_labels_out_of_step_with_the_set_are_refused(tmp_path, matcher):
    _write(tmp_path, second_texts=["环评要什么材料", "那得多久", "水保方案在哪个部门办", "要钱吗"])
    with pytest.raises(SystemExit, match="does not follow"):
        read_set(matcher, "tiny_dialogues", data=tmp_path, second_labels=tmp_path / "second")
