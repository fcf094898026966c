"""The cyclic collector is paused while start-up builds long-lived objects, and always given back."""

from __future__ import annotations

import gc
import threading

import pytest

import knowledge.loader
import knowledge.matcher
import knowledge.model_file
from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.collector import collector_paused
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher
from knowledge.model_file import model_for


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


def test_a_collector_the_application_turned_off_stays_off():
    gc.disable()
    try:
        assert _build() is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_builds_share_one_pause_the_last_one_out_restores():
    inside, leave = threading.Event(), threading.Event()

    @collector_paused
    def slow() -> None:
        inside.set()
        leave.wait(10)

    worker = threading.Thread(target=slow)
    worker.start()
    assert inside.wait(10)
    assert _build() is False  # begun and ended while the other build runs
    assert not gc.isenabled()  # still the other build's pause
    leave.set()
    worker.join(10)
    assert gc.isenabled()


def test_loading_training_and_indexing_run_with_the_collector_paused(monkeypatch):
    seen: dict[str, bool] = {}

    def recording(name, real):
        def record(*args, **kwargs):
            seen[name] = gc.isenabled()
            return real(*args, **kwargs)

        return record

    monkeypatch.setattr(knowledge.loader, "_read_phrases", recording("load", knowledge.loader._read_phrases))
    monkeypatch.setattr(knowledge.model_file, "training_data", recording("model", knowledge.model_file.training_data))
    monkeypatch.setattr(knowledge.matcher.PhraseIndex, "build", recording("index", knowledge.matcher.PhraseIndex.build))
    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    Matcher(kb, model=model_for(kb, None).model)
    assert seen == {"load": False, "model": False, "index": False}
    assert gc.isenabled()
