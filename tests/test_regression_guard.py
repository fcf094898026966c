"""The regression guard: no labelled question flips right→wrong unless tests/data/guard.jsonl accepts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import knowledge
from knowledge.evaluation import load_labelled
from knowledge.guard import DEFAULT_GUARDED, diff_guard, guard_entries, read_guard, write_guard
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
GUARD = ROOT / "tests" / "data" / "guard.jsonl"


@pytest.fixture(scope="module")
def matcher():
    return Matcher.trained(load_knowledge(Path(knowledge.__file__).resolve().parent / "data"))


def test_no_question_flips_right_to_wrong_unaccepted(matcher):
    sets = [(str(p), load_labelled(ROOT / p)) for p in DEFAULT_GUARDED]
    flips = diff_guard(read_guard(GUARD), guard_entries(matcher, sets))
    broken = [f.render() for f in flips if f.kind == "right→wrong" and not f.accepted]
    assert not broken, "right→wrong flips (accept them in the guard file, or fix):\n" + "\n".join(broken)


def test_the_guard_lists_every_labelled_question():
    entries = read_guard(GUARD)
    assert len(entries) == sum(len(load_labelled(ROOT / p)) for p in DEFAULT_GUARDED)


def _entry(q, right, accept=False):
    entry = {"set": "s", "n": 1, "q": q, "item": "eia", "intent": "materials", "action": "answer", "right": right}
    return {**entry, "accept": True} if accept else entry


def test_diff_names_both_directions_and_honours_accept(tmp_path):
    path = tmp_path / "guard.jsonl"
    write_guard(path, {"a": _entry("环评要什么材料", True), "b": {**_entry("能评多久", False), "n": 2}})
    expected = read_guard(path)
    now_wrong = {k: {**e, "right": not e["right"], "item": "filing"} for k, e in expected.items()}
    flips = {f.kind: f for f in diff_guard(expected, now_wrong)}
    assert set(flips) == {"right→wrong", "wrong→right"}
    assert not flips["right→wrong"].accepted
    assert "环评要什么材料" in flips["right→wrong"].render()

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[0]["accept"] = True
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    accepted = [f for f in diff_guard(read_guard(path), now_wrong) if f.kind == "right→wrong"]
    assert accepted and accepted[0].accepted
    assert not diff_guard(expected, expected)
