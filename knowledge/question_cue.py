"""Does a chat message read as a question? Used in groups, where people also just talk."""

from __future__ import annotations

from knowledge.intents import cue_book
from knowledge.normalize import normalize


def reads_as_question(text: str) -> bool:
    """Return True when the message asks something (question words or a question mark)."""
    if not text or not text.strip():
        return False
    marks = cue_book().question_mark
    return bool(marks.search(text) or marks.search(normalize(text)))
