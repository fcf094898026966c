"""Text normalisation for matching Chinese chat messages.

Steps: drop control characters, full-width → half-width (NFKC), traditional → simplified
(OpenCC's t2s, the maintained converter), lower case, remove @mentions, URLs, emoji and punctuation. The result keeps CJK, latin
letters and digits separated by single spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import opencc

MAX_CHARS = 600  # longer messages are matched on their first MAX_CHARS characters

_MENTION = re.compile(r"@[A-Za-z0-9_]{2,64}")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_KEEP = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    """OpenCC's traditional → simplified converter, loaded on first use (not at import)."""
    return opencc.OpenCC("t2s")


def _drop_controls(text: str) -> str:
    # Every character of category C ("Other") is unprintable, so a printable text has none: the
    # common case skips the walk over its characters.
    if text.isprintable():
        return text
    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return the canonical form of `text` used by the matcher (never raises)."""
    if not text:
        return ""
    text = _unconverted(text)
    if _CJK.search(text):
        text = _to_simplified().convert(text)
    return _kept(text)


def _unconverted(text: str) -> str:
    """The steps of `normalize` before the conversion to simplified characters."""
    text = _drop_controls(text[: MAX_CHARS * 2])
    text = unicodedata.normalize("NFKC", text)
    text = _MENTION.sub(" ", text)
    return _URL.sub(" ", text)


def _kept(converted: str) -> str:
    """The steps of `normalize` after the conversion: lower case, the kept characters' runs joined by spaces."""
    return " ".join(_KEEP.findall(converted.lower()))[:MAX_CHARS].strip()


# Joins the texts of one OpenCC call in `normalize_many`: a control character, so `_drop_controls` has turned any
# in a text into a space (and NFKC makes none); OpenCC converts phrase by phrase, and no phrase holds it.
_SEPARATOR = "\n"


def normalize_many(texts: Sequence[str]) -> list[str]:
    """`[normalize(t) for t in texts]`, the same strings (tests/test_normalize.py compares every training text), with
    one OpenCC call for all texts: a call per text cost ~0.03 s of a cold start (~13,000 texts). Not cached."""
    prepared = [_unconverted(text) for text in texts]
    cjk = [i for i, text in enumerate(prepared) if _CJK.search(text)]
    joined = _SEPARATOR.join(prepared[i] for i in cjk)
    converted = _to_simplified().convert(joined).split(_SEPARATOR) if cjk else []
    if len(converted) != len(cjk):  # a separator in a text after all: one call per text
        converted = [_to_simplified().convert(prepared[i]) for i in cjk]
    for i, text in zip(cjk, converted, strict=True):
        prepared[i] = text
    return [_kept(text) if original else "" for original, text in zip(texts, prepared, strict=True)]


def compact(text: str) -> str:
    """Return the normalised text without spaces (CJK phrases are written without them)."""
    return normalize(text).replace(" ", "")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
