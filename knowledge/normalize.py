"""Text normalisation for matching Chinese chat messages.

Steps: drop control characters, full-width → half-width (NFKC), traditional → simplified
(OpenCC's t2s, the maintained converter), lower case, remove @mentions, URLs, emoji and punctuation. The result keeps CJK, latin
letters and digits separated by single spaces.
"""

from __future__ import annotations

import re
import unicodedata
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
    text = _drop_controls(text[: MAX_CHARS * 2])
    text = unicodedata.normalize("NFKC", text)
    text = _MENTION.sub(" ", text)
    text = _URL.sub(" ", text)
    if _CJK.search(text):
        text = _to_simplified().convert(text)
    text = text.lower()
    return " ".join(_KEEP.findall(text))[:MAX_CHARS].strip()


def compact(text: str) -> str:
    """Return the normalised text without spaces (CJK phrases are written without them)."""
    return normalize(text).replace(" ", "")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
