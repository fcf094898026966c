"""The training file (`knowledge/training/labelled.jsonl`): joining a labelled set to it.

A set joins once it has been read (a judge is scored before it is read, and never joined while it is one). Each
row keeps the fields the model reads — q, item, intent, style, asks, dialogue — and says where it came from
(`source`, the set's file name without `.jsonl`) and its split: a fixed fifth of the texts, by a hash of the
text (`fold_of(q, 5) == 0`), is `test` and never trained on, as for every row already there. A text already in
the file, or earlier in the sets joined, is not joined again: the first label stays (a single question whose text
is already there as a dialogue turn is left out too, and so teaches the item model nothing). The file is written
whole (`knowledge.atomic_file`), and only when every set reads and something is new: a bad line names its file
and line and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.atomic_file import replaced
from knowledge.evaluation import LabelledQuestion, fold_of, load_labelled

TEST_FOLDS = 5  # one fifth of the texts is the never-trained test split


class AlreadyJoined(ValueError):
    """A set whose name is already a source of the training file (joined before), or given twice."""

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(f"{path}: {source} is in the training file already")
        self.path = path
        self.source = source


@dataclass(frozen=True)
class Joined:
    source: str
    rows: int  # rows written
    known: int  # texts already in the file or earlier in the sets joined, left out


def training_row(case: LabelledQuestion, source: str) -> dict[str, object]:
    """One line of the training file for a labelled question or dialogue turn of `source`."""
    row: dict[str, object] = {"q": case.q, "item": case.item, "intent": case.intent, "style": case.style}
    if case.asks:
        row["asks"] = [{"item": item, "intent": intent} for item, intent in case.asks]
    if case.chat is not None or case.dialogue is not None:
        # a turn takes its item from the conversation, not from its words: it trains the intent model only
        row["dialogue"] = case.dialogue if case.dialogue is not None else 0
    row["source"] = source
    row["split"] = "test" if fold_of(case.q, TEST_FOLDS) == 0 else "train"
    return row


def join_sets(training: Path, sets: Sequence[Path]) -> list[Joined]:
    """Append the questions of `sets` to the training file; returns what each set added."""
    rows = load_labelled(training)
    present = {case.q for case in rows}
    sources = {case.source for case in rows}
    added: list[dict[str, object]] = []
    joined: list[Joined] = []
    for path in sets:
        source = path.name.removesuffix(".jsonl")
        if source in sources:
            raise AlreadyJoined(path, source)
        cases = load_labelled(path)
        fresh = 0
        for case in cases:
            if case.q in present:
                continue
            present.add(case.q)
            added.append(training_row(case, source))
            fresh += 1
        joined.append(Joined(source, fresh, len(cases) - fresh))
        sources.add(source)
    if added:
        text = training.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        with replaced(training) as file:
            file.write(text + "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in added))
    return joined
