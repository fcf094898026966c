"""knowledge.normalize: `normalize_many` (one OpenCC call for many texts, used by training) gives exactly what
`normalize` gives text by text."""

from __future__ import annotations

import pytest

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge import normalize as normalization
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher
from knowledge.model_text import load_training
from knowledge.normalize import compact, normalize, normalize_many

# What the separator and the steps must get right besides the training texts: empty texts, control characters
# (a line break among them), full-width forms, traditional characters, mentions, URLs, latin letters.
EDGES = [
    "",
    " ",
    "\n",
    "環評\n多久",
    "a\u0000b\r\n辦理",
    "\u2028臺灣\u2029",
    "ＡＢＣ１２３ 環境影響評價",
    "@some_user 請問 https://example.com/x?y=1 www.Example.org 進度",
    "e\u0301 ﬁ ① 〇 𠀀",
    "Σ環評ΣΣ",
    "环评" * 700,
]


def _texts() -> list[str]:
    return list(dict.fromkeys([row.q for row in load_training()] + EDGES))


def test_normalize_many_gives_what_normalize_gives_for_every_training_text():
    texts = _texts()
    assert len(texts) > 10_000
    assert normalize_many(texts) == [normalize(text) for text in texts]


def test_normalize_many_falls_back_to_one_call_a_text_when_the_separator_is_in_a_text(monkeypatch):
    monkeypatch.setattr(normalization, "_SEPARATOR", "的")  # a character OpenCC keeps, in many texts
    texts = _texts()
    assert normalize_many(texts) == [normalize(text) for text in texts]


@pytest.mark.parametrize("texts", [[], [""], ["abc"], ["環評"]])
def test_normalize_many_of_few_texts(texts):
    assert normalize_many(texts) == [normalize(text) for text in texts]


def test_the_matchers_faq_table_holds_each_question_compacted():
    """The matcher normalises its FAQ questions in one call; each entry is still the question's `compact` form."""
    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    entries, questions = Matcher(kb)._faq_table
    faqs = [faq for item in kb.items.values() for faq in item.faq]
    assert len(entries) == len(faqs) > 50
    assert [entry.normalized for entry in entries] == [compact(faq.q) for faq in faqs] == questions
