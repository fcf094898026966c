"""Pinyin keys that make homophone typos of pinyin input match (环平 → 环评, 备按 → 备案).

Each CJK character maps to its toneless syllable, folded for the confusions of
pinyin input (zh/z, ch/c, sh/s, front and back nasals), so a typo typed with the same
keys produces the same key string as the intended word.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.phrases_dict import phrases_dict

from knowledge.normalize import has_cjk


@lru_cache(maxsize=20000)
def syllable(char: str) -> str:
    """Return the folded toneless syllable of one character (the character itself if none)."""
    if not has_cjk(char):
        return char
    syl = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    if not syl:
        return char
    return fold(syl[0])


def fold(syl: str) -> str:
    """Fold the initials and finals that pinyin input confuses."""
    syl = syl.lower().replace("ü", "v")
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syl.startswith(retroflex):
            syl = flat + syl[2:]
            break
    for back, front in (("ang", "an"), ("eng", "en"), ("ing", "in")):
        if syl.endswith(back):
            syl = syl[: -len(back)] + front
            break
    return syl


def key_of(compact_text: str) -> tuple[str, list[int]]:
    """Return ' syl syl … ' for a spaceless text and the char index of each key offset.

    The second value maps a position in the key string to the index of the character
    it came from, so a match in the key can be turned back into a span of the text.
    """
    parts = [" "]
    owners = [0]
    for index, char in enumerate(compact_text):
        syl = syllable(char)
        parts.append(syl + " ")
        owners.extend([index] * (len(syl) + 1))
    return "".join(parts), owners


def latin_pinyin(text: str) -> str:
    """Return the unfolded toneless pinyin of a CJK phrase, without spaces (环评 → huanping)."""
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).lower().replace("ü", "v")


def is_word(text: str) -> bool:
    """Whether `text` is a word of pypinyin's phrase dictionary (工地, 节能): a word the writer meant, so a
    name it sounds like (供地) is not read into it as a homophone typo. The dictionary holds the words whose
    reading is not their characters' usual one, so it catches many such words, not all."""
    return len(text) >= 2 and text in phrases_dict
