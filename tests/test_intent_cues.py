"""The intent cues live in data (knowledge/training/intent_cues.yaml); each carries an example it must match."""

from __future__ import annotations

import re

import pytest

from knowledge.intents import _focus, _guarded, cue_book, read_cues
from knowledge.model_text import load_training
from knowledge.normalize import compact, normalize

BOOK = cue_book()


@pytest.mark.parametrize("cue", BOOK.cues, ids=lambda c: f"{c.intent}:{c.pattern.pattern[:30]}")
def test_every_cue_matches_its_example(cue):
    text = normalize(cue.example)
    assert cue.pattern.search(text if cue.latin else text.replace(" ", "")), (cue.pattern.pattern, cue.example)
    found = read_cues(text)
    assert cue.intent in (found.first_strong if cue.strong else found.first_weak)


def test_the_shared_patterns_match_their_examples():
    assert BOOK.go_ahead.search(compact(BOOK.examples["go_ahead"]))
    assert BOOK.context_clause.search(compact(BOOK.examples["context_clause"]))
    assert BOOK.question_mark.search(BOOK.examples["question_mark"])
    assert BOOK.done_clause.search(compact(BOOK.examples["done_clause"]))
    request = [c for c in normalize(BOOK.examples["steward_request"]).split(" ") if BOOK.steward_request.search(c)]
    assert request and not BOOK.steward_request.search("找谁催一下")  # who is asked, not a request


@pytest.mark.parametrize(
    "clause",
    [
        "麻烦问一下",
        "可以问下吗",
        "辛苦问下",
        "环评和水保可以一起协调吗",
        "容缺可以催办吗",
        "管家吹哨是咋回事",
        "谁能给催一下",
    ],
)
def test_a_polite_opener_or_a_question_about_urging_is_no_request(clause):
    assert not BOOK.steward_request.search(compact(clause))


@pytest.mark.parametrize(
    ("text", "absent"),
    [("seminar上讲的环评", "department"), ("顺便说下whoever负责都行", "department"), ("processing的环评", "process")],
)
def test_a_latin_cue_matches_whole_words_only(text, absent):
    found = read_cues(normalize(text))
    assert absent not in found.first_strong


def test_a_latin_cue_of_two_words_matches_across_the_space():
    assert "time_limit" in read_cues(normalize("EIA how long")).first_strong


def _plain_joined() -> dict[tuple[str, bool, bool], re.Pattern[str]]:
    """The joined patterns as cue_book joins them, without the look-ahead `_guarded` puts before some."""
    groups: dict[tuple[str, bool, bool], list[str]] = {}
    for cue in BOOK.cues:
        if not re.search(r"\\\d", cue.source):
            groups.setdefault((cue.intent, cue.strong, cue.latin), []).append(cue.source)
    return {key: re.compile("|".join(f"(?:{p})" for p in patterns)) for key, patterns in groups.items()}


def test_the_guarded_joined_patterns_match_where_the_plain_ones_do_in_every_training_text():
    """`_guarded` only filters where a match can start: every match (as found by search and by finditer, which
    read_cues uses outside item names) is the same, in every training question, with and without its spaces."""
    plain = _plain_joined()
    guarded = [cue for cue in BOOK.joined if cue.source.startswith("(?=[")]
    assert len(guarded) >= 8
    texts = {normalize(row.q) for row in load_training()}
    texts |= {text.replace(" ", "") for text in texts} | {_focus(text) for text in texts}
    for cue in guarded:
        reference = plain[(cue.intent, cue.strong, cue.latin)]
        for text in texts:
            spans = [m.span() for m in cue.pattern.finditer(text)]
            assert spans == [m.span() for m in reference.finditer(text)], (cue.intent, text)


@pytest.mark.parametrize(
    ("source", "guard"),
    [
        ("(?:(什么|啥)时候)|(?:(?<![a-z])ab(?![a-z]))|(?:x?y)", "(?=[axy什啥])"),
        ("(?:(?<![十0-9])几天)|(?:[0-9]+天)", "(?=[0-9几])"),
        ("(a|b)c|d*e", "(?=[abde])"),
        ("(?:容缺)|(?:后补)", None),  # every alternative starts with a character: re skips by itself
        ("(?:.好)|(?:(a)b)", None),  # any character may start a match
        ("(?:[^a]b)|(?:(a)c)", None),
        ("(?:\\w)|(?:(a)c)", None),
        ("(?:(a)?)|(?:(b)c)", None),  # the empty string matches
        ("(?i)(a)b|(b)c", None),  # flags for the whole pattern
        ("(?i:(a)b)|(b)c", None),  # a group with flags of its own
        ("(?:^a)|(?:(b)c)", "(?=[ab])"),  # an anchor only widens the set
        ("(?:(x)|)y|(b)c", "(?=[bxy])"),  # an alternative that may be empty: what follows it starts too
        ("(a)\\1|(b)c", "(?=[ab])"),
    ],
)
def test_guarded_reads_the_characters_a_match_can_start_with(source, guard):
    if guard is None:
        assert _guarded(source) == source
    else:
        assert _guarded(source) == f"{guard}(?:{source})"
