"""Assert against the sentences of texts.py, not copies of them: a rewording in texts.py then
changes no test."""

from __future__ import annotations

import re
from functools import lru_cache
from string import Formatter


@lru_cache(maxsize=512)
def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(".*?")
    return re.compile("".join(parts), re.DOTALL)


def says(template: str, text: str | None) -> bool:
    """True when `text` contains the sentence `template` (a texts.py constant) with any values
    in its placeholders."""
    return text is not None and _pattern(template).search(text) is not None


def said(template: str, texts: list[str]) -> bool:
    """True when one of `texts` says `template`."""
    return any(says(template, text) for text in texts)


def fragment(template: str) -> str:
    """The longest fixed part of `template`, for APIs that look for a substring of what the
    bot sent."""
    return max((literal for literal, *_ in Formatter().parse(template)), key=len)
