"""Whether a follow-up the readers of `knowledge/followup.py` could not place still means the earlier item: a
model learned from the read dialogues, not one more rule.

The follow-up readers hand off a later turn they cannot read as the earlier item's: 「要收登记费吗」 after 不动产权证
(登记 could be a procedure of its own), 「签证费多少」 after 原产地证 (签证 is out of scope elsewhere), 「要好多天批得
下来哦」 (no question form a rule knows). Their writers mostly mean the earlier item. The gate is a logistic regression
over the turn's character 1-3-grams, trained on exactly the turns it reads (`FollowUpReader.reaches_gate`: handed off
with no item, not as a status, a request, small talk or a whole-project question, and not where the rules decided
otherwise — a choice offered, a together question, 「换个问题」, a matter out of scope that is no paper of the earlier
item), each labelled with whether its writer meant the earlier item. The turns are in `training/follow_ups.jsonl`,
written by replaying the read dialogue sets of the regression guard (`steward kb follow-ups --write`, with the gate
off and the default thresholds); only the texts of the training file's `train` split are kept (a fixed fifth of the
texts, by their hash, is its `test` split), so the `test` split measures the gate too.

The matcher answers the earlier item's question when the gate is sure (`GATE_ANSWER`), offers the earlier item as
a choice when it is fairly sure (`GATE_OFFER`; in groups the choice has a button for a person), and hands off as
before otherwise. Training takes about 0.07 s and is deterministic (liblinear, a fixed seed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import turns_model
from knowledge.context import replayed
from knowledge.normalize import compact
from knowledge.turns_model import (
    NotATurn,
    PerFileVersion,
    TextModel,
    conversation_fold,
    read_turns,
    train_text_model,
    write_lines,
)

FOLLOW_UPS_PATH = Path(__file__).resolve().parent / "training" / "follow_ups.jsonl"
# The readings a follow-up may be handed off with that the gate reads again: not a status, a request, a message
# that tells or greets, nor a question of the whole project (those go to the ledger or a person as they are).
GATED_REASONS = frozenset({"no_match", "low_confidence", "doubt", "model_no_item", "out_of_scope"})
# P(the earlier item is meant) from which the earlier item's question is answered. On the read sets, 5-fold by
# conversation (`steward kb follow-ups`), of the 740 turns (291 meaning the earlier item) the gate takes 186 at 0.8,
# 183 of them right (98%), and 122 at 0.9 (all right); at 0.7, 234 (220 right).
GATE_ANSWER = 0.8
# From here to GATE_ANSWER the earlier item is offered as a choice, beside 「都不是，转人工」 (a press opens the ticket
# the handoff would have): 5-fold on the read sets, 98 turns fall between 0.5 and 0.8, 74 of them meaning the earlier
# item; between 0.4 and 0.5, 15 of 26.
GATE_OFFER = 0.5
GATE_C = 10.0  # inverse regularisation: the 5-fold figures were flat from 10 to 30, and fell at 3
GATE_NGRAMS = (1, 3)
FOLDS = 5


@dataclass(frozen=True)
class FollowUpTurn:
    """A later turn that reached the gate: its text, whether its writer meant the earlier item, and where from."""

    q: str
    earlier: bool
    source: str = ""
    dialogue: int | None = None

    def to_json(self) -> str:
        data = {"q": self.q, "earlier": self.earlier, "source": self.source, "dialogue": self.dialogue}
        return json.dumps(data, ensure_ascii=False)


def read_follow_ups(path: Path = FOLLOW_UPS_PATH) -> list[FollowUpTurn]:
    """The gate's turns; a line that is not one names the file and line (ValueError)."""
    return read_turns(path, _follow_up_turn, "a follow-up turn")


def _follow_up_turn(data: Any) -> FollowUpTurn:
    turn = FollowUpTurn(
        q=str(data["q"]), earlier=data["earlier"], source=str(data.get("source") or ""), dialogue=data.get("dialogue")
    )
    if not isinstance(turn.earlier, bool) or not turn.q.strip():
        raise NotATurn("a follow-up turn needs a text and earlier true or false")
    return turn


def write_follow_ups(path: Path, turns: Iterable[FollowUpTurn]) -> int:
    """Write the gate's turns (one JSON line each), whole or not at all (a start-up never reads half a file);
    returns how many."""
    return write_lines(path, (turn.to_json() for turn in turns))


class FollowUpGate:
    """P(a handed-off follow-up means the earlier item), from its words."""

    def __init__(self, model: TextModel) -> None:
        self._model = model
        self.turns = model.samples  # how many it was trained on

    def earlier_meant(self, question: str) -> float:
        """The probability that `question`, a follow-up handed off, asks of the earlier item."""
        return self._model.probability(question)

    def probabilities(self, questions: Sequence[str]) -> np.ndarray:
        return self._model.probabilities(questions)


def train_gate(turns: Sequence[FollowUpTurn]) -> FollowUpGate | None:
    """Fit the gate; None when the turns do not hold both answers (nothing to learn)."""
    model = train_text_model(
        [turn.q for turn in turns], [turn.earlier for turn in turns], prepare=compact, c=GATE_C, ngrams=GATE_NGRAMS
    )
    return FollowUpGate(model) if model is not None else None


_gates = PerFileVersion(lambda path: train_gate(read_follow_ups(path)))


def gate_for(path: Path | None = FOLLOW_UPS_PATH) -> FollowUpGate | None:
    """The gate of the turns in `path`, trained once per process and file version; None without the file."""
    return _gates(path)


def replayed_follow_ups(matcher: Any, sets: Iterable[tuple[str, Sequence[Any]]]) -> list[FollowUpTurn]:
    """The later turns of labelled dialogue sets that reach the gate, read in context by `matcher` (one without a
    gate, as `steward eval` reads them), each with whether its writer meant the item of the asker's context."""
    return [
        FollowUpTurn(case.q, case.item == context.item, name, case.dialogue)
        for name, case, context, result in replayed(matcher, sets)
        if matcher.reaches_gate(result, context)
    ]


def cross_validated(turns: Sequence[FollowUpTurn], folds: int = FOLDS) -> np.ndarray:
    """Each turn's probability from a gate trained on the other folds' conversations."""
    return turns_model.cross_validated(
        turns,
        lambda turn: conversation_fold(turn.source, turn.dialogue, folds),
        folds,
        train_gate,
        lambda gate, held: gate.probabilities([t.q for t in held]),
    )


__all__ = [
    "FOLDS",
    "FOLLOW_UPS_PATH",
    "GATED_REASONS",
    "GATE_ANSWER",
    "GATE_OFFER",
    "FollowUpGate",
    "FollowUpTurn",
    "cross_validated",
    "gate_for",
    "read_follow_ups",
    "replayed_follow_ups",
    "train_gate",
    "write_follow_ups",
]
