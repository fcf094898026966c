"""Splitting for Telegram's 4,096 limit: counted as Telegram counts (the text after entity
parsing, in UTF-16 code units), never cutting inside a tag, an entity or a character, and
every part valid HTML on its own. Property-tested with hypothesis."""

from __future__ import annotations

import html
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram_io import rendered_text, split_message, telegram_length

TAGS = ("b", "i", "u", "s", "code", 'a href="https://example.com/?a=1&amp;b=2"')


class _Shown(HTMLParser):
    """Each character Telegram shows with the formatting around it; fails on a part whose
    tags do not balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.chars: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.chars += [(ch, tuple(self.stack)) for ch in data]


def shown(text: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = _Shown()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], f"unclosed {parser.stack}"
    return parser.chars


segments = st.lists(st.tuples(st.text(min_size=0, max_size=80), st.sampled_from((None, *TAGS))), max_size=30)


def build(parts: list[tuple[str, str | None]]) -> str:
    out = []
    for text, tag in parts:
        escaped = html.escape(text, quote=False)
        out.append(escaped if tag is None else f"<{tag}>{escaped}</{tag.split()[0]}>")
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(segments, st.integers(min_value=2, max_value=120))
def test_any_html_splits_into_parts_within_the_limit_that_render_the_original(parts, limit) -> None:
    original = build(parts)
    pieces = split_message(original, limit)
    for piece in pieces:
        assert telegram_length(piece) <= limit
        shown(piece)  # balanced on its own
    assert [c for piece in pieces for c in shown(piece)] == shown(original)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600), st.integers(min_value=2, max_value=90))
def test_any_plain_text_splits_into_parts_within_the_limit(text, limit) -> None:
    pieces = split_message(text, limit, as_html=False)
    assert all(len(p.encode("utf-16-le")) // 2 <= limit for p in pieces)
    assert "".join(pieces) == text


def test_the_limit_is_what_telegram_counts() -> None:
    ampersands = "&amp;" * 4096
    assert split_message(ampersands) == [ampersands]  # 4,096 characters once parsed
    assert len(split_message(ampersands + "x")) == 2
    emoji = "😀" * 2048  # two UTF-16 code units each
    assert split_message(emoji, as_html=False) == [emoji]
    assert split_message(emoji + "a", as_html=False) == [emoji, "a"]


def test_cuts_fall_after_a_line_break_and_tags_are_reopened() -> None:
    assert split_message("ab\ncd ef", 4) == ["ab\n", "cd ", "ef"]
    assert split_message("<b>abcdef</b>", 4) == ["<b>abcd</b>", "<b>ef</b>"]
    assert split_message("ab<b>cd</b>", 2) == ["ab", "<b>cd</b>"]  # no empty <b></b>
    assert rendered_text("<i>A&amp;B</i>") == "A&B"
