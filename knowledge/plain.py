"""Turn the answers' Telegram HTML into plain text for the terminal."""

from __future__ import annotations

import re
from html import unescape

_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def html_to_plain(text: str) -> str:
    return unescape(_TAG.sub("", text))
