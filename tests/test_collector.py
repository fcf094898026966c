"""The cyclic collector is paused while start-up builds long-lived objects, and always given back."""

from __future__ import annotations

import gc

import pytest

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.collector import collector_paused
from knowledge.loader import load_knowledge


@collector_paused
def _build(fail: bool = False) -> bool:
    if fail:
        raise ValueError("a broken knowledge file")
    return gc.isenabled()


def test_the_collector_is_paused_while_building_and_enabled_after():
    assert gc.isenabled()
    assert _build() is False
    assert gc.isenabled()


def test_a_failed_build_gives_the_collector_back():
    with pytest.raises(ValueError):
        _build(fail=True)
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused():
    gc.disable()
    try:
        assert _build() is False
        assert not gc.isenabled()  # the caller's to restore, not the build's
    finally:
        gc.enable()


def test_loading_the_knowledge_leaves_the_collector_on():
    assert load_knowledge(BUNDLED_KNOWLEDGE_PATH).items
    assert gc.isenabled()
