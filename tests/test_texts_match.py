"""The helper the tests use to find texts.py sentences in what the bot sent."""

from __future__ import annotations

import texts
from tests.texts_match import fragment, said, says


def test_a_sent_sentence_is_found_with_any_values() -> None:
    sent = "前言\n" + texts.DESK_BREACH_NOTICE.format(ticket_id=7, due="10:30", holder="王管家")
    assert says(texts.DESK_BREACH_NOTICE, sent)
    assert says(texts.DESK_BREACH_NOTICE, sent, ticket_id=7, holder="王管家")
    assert not says(texts.DESK_BREACH_NOTICE, sent, ticket_id=8)
    assert not says(texts.DESK_BREACH_ALERT, sent)
    assert not says(texts.DESK_BREACH_NOTICE, None)


def test_a_reworded_sentence_is_not_found() -> None:
    sent = texts.HANDOFF_ACK.format(minutes=30)
    assert says(texts.HANDOFF_ACK, sent)
    assert not says(texts.HANDOFF_ACK.replace("承诺", "保证"), sent)
    assert said(texts.HANDOFF_ACK, ["别的", sent]) and not said(texts.HANDOFF_ACK, ["别的"])


def test_fragment_is_the_longest_fixed_part() -> None:
    assert fragment("{a}短{b}更长的部分{c}") == "更长的部分"
    assert fragment(texts.HANDOFF_ACK) in texts.HANDOFF_ACK.format(minutes=30)
