"""The intent cues live in data (knowledge/training/intent_cues.yaml); each carries an example it must match."""

from __future__ import annotations

import pytest

from knowledge.intents import cue_book, read_cues
from knowledge.normalize import normalize

BOOK = cue_book()


@pytest.mark.parametrize("cue", BOOK.cues, ids=lambda c: f"{c.intent}:{c.pattern.pattern[:30]}")
def test_every_cue_matches_its_example(cue):
    text = normalize(cue.example)
    assert cue.pattern.search(text if cue.latin else text.replace(" ", "")), (cue.pattern.pattern, cue.example)
    found = read_cues(text)
    assert cue.intent in (found.first_strong if cue.strong else found.first_weak)


def test_the_shared_patterns_match_their_examples():
    assert BOOK.go_ahead.search(normalize(BOOK.examples["go_ahead"]).replace(" ", ""))
    assert BOOK.context_clause.search(normalize(BOOK.examples["context_clause"]).replace(" ", ""))
    assert BOOK.question_mark.search(BOOK.examples["question_mark"])
    assert BOOK.done_clause.search(normalize(BOOK.examples["done_clause"]).replace(" ", ""))


@pytest.mark.parametrize(
    ("text", "absent"),
    [("seminar上讲的环评", "department"), ("顺便说下whoever负责都行", "department"), ("processing的环评", "process")],
)
def test_a_latin_cue_matches_whole_words_only(text, absent):
    found = read_cues(normalize(text))
    assert absent not in found.first_strong


def test_a_latin_cue_of_two_words_matches_across_the_space():
    assert "time_limit" in read_cues(normalize("EIA how long")).first_strong
