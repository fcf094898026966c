"""Assert against the sentences of texts.py, not copies of them: a rewording in texts.py then
changes no test."""

from __future__ import annotations

import re
from functools import lru_cache
from string import Formatter


@lru_cache(maxsize=512)
def _pattern(template: str, values: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    given = dict(values)
    parts: list[str] = []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(re.escape(given[field]) if field in given else ".*?")
    return re.compile("".join(parts), re.DOTALL)


def says(template: str, sent: str | None, /, **values: object) -> bool:
    """True when `sent` contains the sentence `template` (a texts.py constant): the
    placeholders named in `values` hold those values, the others anything."""
    if sent is None:
        return False
    key = tuple(sorted((name, str(value)) for name, value in values.items()))
    return _pattern(template, key).search(sent) is not None


def said(template: str, sent: list[str], /, **values: object) -> bool:
    """True when one of the `sent` texts says `template`."""
    return any(says(template, one, **values) for one in sent)


def fragment(template: str) -> str:
    """The longest fixed part of `template`, for APIs that look for a substring of what the
    bot sent."""
    return max((literal for literal, *_ in Formatter().parse(template)), key=len)
