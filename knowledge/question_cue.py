"""Does a chat message read as a question? Used in groups, where people also just talk."""

from __future__ import annotations

import re

from knowledge.normalize import normalize

_MARKERS = re.compile(
    r"[?？]|吗|么|呢|什么|啥|哪|多少|几天|几个|怎么|咋|如何|是否|能否|可否|谁|多久|多长|有没有|能不能|可不可以|要不要"
    r"|是不是|请问|问下|问一下|想问|咨询|麻烦|求助|急"
)


def reads_as_question(text: str) -> bool:
    """Return True when the message asks something (question words or a question mark)."""
    if not text or not text.strip():
        return False
    return bool(_MARKERS.search(text) or _MARKERS.search(normalize(text)))
