"""Bad input and property-based tests (hypothesis) of the normaliser and the matcher."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import knowledge
from knowledge.answers import compose_answer
from knowledge.intents import INTENTS, detect_intent
from knowledge.loader import load_knowledge
from knowledge.matcher import ACTIONS, Matcher
from knowledge.normalize import MAX_CHARS, normalize
from knowledge.normalize import compact as compact_text

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"
KB = load_knowledge(BUNDLED)
MATCHER = Matcher(KB)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRADITIONAL = "環評審證許辦發規劃關續請問實門號碼會議變當準備時間資"  # none of these is simplified
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
EMOJI = "😀🙏👍⏰🏗️📄❓⁉️🔥✅❤️🇨🇳"
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\u200b\u200e\u202e\ufeff\r\n\t"
MIXED = "абвгдеこんにちはカタカナ한국어ไทยعربيΑΒΓéüñ"

# Fragments that chat messages are made of: item names and typos, cues, noise of every kind.
FRAGMENTS = [
    "环评",
    "環評",
    "环平",
    "能评",
    "施工许可正",
    "备按",
    "和准",
    "shigong xuke",
    "EIA",
    "ＥＩＡ",
    "可研",
    "水保",
    "不动产证",
    "人防",
    "消防",
    "规划许可证",
    "容缺",
    "一网通办",
    "项目代码",
    "营业执照",
    "退税",
    "食堂",
    "要啥材料",
    "在哪个窗口办",
    "要多久",
    "多少钱",
    "怎么办",
    "批下来了没",
    "能容缺吗",
    "在吗",
    "你好",
    "@steward_bot ",
    "@李四 ",
    "https://example.com/x?y=1 ",
    "！",
    "？？",
    "，",
    "。",
    "…",
    " ",
    "\n",
    "😀",
    "🙏",
    "\x00",
    "\u200b",
    "Ａ",
    "ａｂｃ",
    "１２３",
    "ЖЖ",
    "カ",
    "#",
    "<b>",
    "&amp;",
    "'",
    '"',
]
chat_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.text(
        alphabet=st.sampled_from(TRADITIONAL + FULL_WIDTH + EMOJI + CONTROL + MIXED + "环评能施工许可证"), max_size=60
    ),
)


# -- bad input --------------------------------------------------------------------------------------

BAD_INPUT = [
    "",
    " ",
    "   \t\n  ",
    "\u3000\u3000",  # ideographic spaces
    "环" * 10_000,
    "环评要什么材料" * 1500,
    "我们公司" * 2500,
    "a" * 10_000,
    "😀" * 20,
    "🙏🙏🙏",
    "👍",
    "\x00\x01\x02\x1b[31m",
    "环评\x00要啥\x1b材料",
    "\ud800\udfff",  # lone surrogates
    "Привет! 环评 materials こんにちは 多久?",
    "عربي 施工许可证 עברית",
    "<script>alert(1)</script>",
    "&lt;&gt;&amp;",
    "@@@@@@",
    "？？？！！！。。。",
    "\u202e评环\u202c",
    "1234567890",
    "ＡＢＣＤ　１２３",
]


@pytest.mark.parametrize("text", BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_bad_input_gets_a_valid_action_never_an_exception(text):
    r = MATCHER.match(text)
    assert r.action in ACTIONS
    assert r.intent in INTENTS
    assert 0.0 <= r.confidence <= 1.0
    assert r.item is None or r.item in KB.items
    answer = compose_answer(KB, r)
    assert (answer is not None) == (r.action == "answer")


@pytest.mark.parametrize("text", ["", " ", "\n\t", "😀😀", "\x00\x1b", "\u200b"])
def test_nothing_to_read_is_never_answered_with_an_item(text):
    r = MATCHER.match(text)
    assert r.item is None and r.action in ("smalltalk", "handoff")


def test_none_is_tolerated():
    r = MATCHER.match(None)
    assert r.action in ACTIONS and r.item is None


def test_long_message_is_read_from_its_start_only():
    text = "请问环评要准备什么材料？" + "我们的项目情况是这样的，" * 800
    assert len(text) > 9000
    r = MATCHER.match(text)
    assert len(r.normalized) <= MAX_CHARS  # the work is bounded; its speed is the benchmark's
    assert (r.item, r.intent, r.action) == ("eia", "materials", "answer")


# -- the normaliser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＥＩＡ", "eia"),
        ("環評審批", "环评审批"),
        ("@steward_bot 环评要啥材料？？", "环评要啥材料"),
        ("施工许可证😀在哪办!!!", "施工许可证 在哪办"),
        ("Shigong  XUKE", "shigong xuke"),
        ("看 https://zwfw.example.gov.cn/a?b=1 这个", "看 这个"),
        ("", ""),
    ],
)
def test_normalize_examples(raw, expected):
    assert normalize(raw) == expected


@FAST
@given(chat_text)
def test_normalize_is_idempotent_and_clean(text):
    once = normalize(text)
    assert normalize(once) == once
    assert not any("A" <= ch <= "Z" for ch in once)
    assert not any("\uff01" <= ch <= "\uff5e" for ch in once)
    assert not any(ch in TRADITIONAL for ch in once)
    assert not any(ord(ch) < 32 or ch == "\x7f" for ch in once)
    assert once == once.strip() and "  " not in once


@FAST
@given(st.text(max_size=300))
def test_normalize_never_raises_on_any_unicode(text):
    assert isinstance(normalize(text), str)


@FAST
@given(
    st.sampled_from(["环评", "施工许可证", "能评", "项目备案"]),
    st.sampled_from(["", " ", "！", "😀", "\u200b", "@abc_bot "]),
)
def test_noise_around_an_item_does_not_change_its_normal_form(name, noise):
    assert normalize(noise + name + noise) == normalize(name)


# -- the matcher ------------------------------------------------------------------------------------


@FAST
@given(chat_text)
@example("工:可环评要啥:能评要啥")  # several asks whose first item is not the top candidate (found by hypothesis)
def test_match_is_always_well_formed(text):
    r = MATCHER.match(text)
    assert r.action in ACTIONS
    assert r.intent in INTENTS
    assert 0.0 <= r.confidence <= 1.0
    assert r.item is None or r.item in KB.items
    scores = [c.score for c in r.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    items = [c.item for c in r.candidates]
    assert len(items) == len(set(items)) and all(i in KB.items for i in items)
    if r.asks:  # several asks: the item is the first thing asked, wherever its evidence ranks
        assert r.item == r.asks[0].item and all(a.item is None or a.item in KB.items for a in r.asks)
        assert r.item in items
    elif r.action in ("answer", "clarify") and not r.learned:
        assert r.item is not None and r.item == items[0]
    if r.action == "clarify":
        assert len(r.candidates) >= 2
    if r.action == "smalltalk":
        assert r.item is None
    if r.reason == "out_of_scope":
        assert r.item is None and r.action == "handoff"
    assert (compose_answer(KB, r) is not None) == (r.action == "answer")


FILLER = [
    "请问",
    "老师",
    "我们公司",
    "这个",
    "急",
    "今天",
    "去哪交",
    "要多久",
    "多少钱",
    "怎么办",
    "谢谢",
    "在哪",
    "，",
    "？",
    " ",
    "😀",
    "有人知道吗",
]
OUT_OF_SCOPE = ["退税", "食堂", "招聘", "违章", "罚款", "营业执照", "社保", "公积金", "发票", "驾照"]


@FAST
@given(
    st.lists(st.sampled_from(FILLER), max_size=4),
    st.sampled_from(OUT_OF_SCOPE),
    st.lists(st.sampled_from(FILLER), max_size=4),
)
def test_out_of_scope_is_never_answered_with_an_item(before, phrase, after):
    r = MATCHER.match("".join(before) + phrase + "".join(after))
    assert r.item is None, r
    assert r.action in ("handoff", "smalltalk"), r


@FAST
@given(
    st.sampled_from(sorted(KB.items)),
    st.sampled_from(["", "请问", "老师，", "@steward_bot "]),
    st.sampled_from(["要什么材料", "在哪个窗口办", "要多久"]),
)
def test_every_short_name_is_answered_with_its_item(key, prefix, ask):
    item = KB.items[key]
    r = MATCHER.match(prefix + (item.short or item.name) + ask)
    assert r.item == key, r
    assert r.action == "answer", r


@FAST
@given(chat_text)
def test_detect_intent_never_raises(text):
    assert detect_intent(normalize(text)) in INTENTS


def test_match_is_thread_safe_while_learning():
    m = Matcher(KB)
    errors: list[BaseException] = []

    def ask():
        try:
            for _ in range(150):
                r = m.match("园区污水管网接驳要找谁签字")
                assert r.action in ACTIONS
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def learn():
        try:
            for n in range(150):
                m.add_learned(f"第{n}个学到的问题是什么", f"答案{n}", None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)] + [threading.Thread(target=learn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert m.match("第149个学到的问题是什么").faq.a == "答案149"


# -- the phrase index -------------------------------------------------------------------------------


class _Everything(dict):
    """An index offering every entry for every character: the full scan the index replaces."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.every = list(range(size))

    def get(self, _key, _default=None):
        return self.every


FULL_SCAN = replace(
    MATCHER.index,
    by_first_char=_Everything(len(MATCHER.index.phrases)),
    by_first_syllable=_Everything(len(MATCHER.index.phrases)),
    fuzzy_by_char=_Everything(len(MATCHER.index.fuzzy_texts)),
)
PHRASES = sorted({p.text for p in MATCHER.index.phrases})
with_a_stray_character = st.tuples(st.sampled_from(PHRASES), st.integers(0, 20), st.sampled_from("的了吗呢和")).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
)


@FAST
@given(
    st.one_of(
        chat_text,
        st.lists(
            st.one_of(st.sampled_from(PHRASES), st.sampled_from(FRAGMENTS), with_a_stray_character), max_size=4
        ).map("".join),
    )
)
def test_the_phrase_index_finds_what_a_scan_of_every_phrase_finds(text):
    """Each message is checked only against the phrases starting with one of its characters (or
    their syllables) and fuzzy-scored only against the names sharing a character with it."""
    compact = compact_text(text)
    assert MATCHER.index.span_hits(compact) == FULL_SCAN.span_hits(compact)
    assert MATCHER.index.fuzzy_hits(compact, set()) == FULL_SCAN.fuzzy_hits(compact, set())
