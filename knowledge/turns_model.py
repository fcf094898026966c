"""A yes/no model of short texts, trained at start-up from a file of labelled turns: what the follow-up gate
(`follow_up_gate.py`) and the question reader (`question_cue.py`) share.

Each is a logistic regression (liblinear, seeded, so training repeats exactly) over the character n-grams of a text
prepared by its owner, trained on a JSON-lines file that a command rebuilds from the read sets. Training takes about
a tenth of a second, once per process and version of the file (`PerFileVersion`); the file is written whole or not at
all (`write_lines`), so a start-up never reads half of one.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.atomic_file import replaced
from knowledge.collector import collector_paused
from knowledge.errors import KnowledgeError, Problem


class TurnsFileError(ValueError):
    """A line of a turns file that is not a turn: its file and line."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


@contextmanager
def turns_files_checked() -> Iterator[None]:
    """A broken turns file read at start-up is the knowledge base's error: the bot refuses to start with one clear
    line naming the file and line (bot.py), not a traceback."""
    try:
        yield
    except TurnsFileError as exc:
        raise KnowledgeError([Problem(str(exc.path), exc.line, "turns", exc.message)]) from exc


@dataclass(frozen=True)
class TextModel:
    """P(yes) of a text, from the character n-grams of `prepare(text)`."""

    vectorizer: TfidfVectorizer
    classifier: LogisticRegression
    prepare: Callable[[str], str]
    samples: int  # how many texts it was trained on

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        matrix = self.vectorizer.transform([self.prepare(t) for t in texts])
        yes = list(self.classifier.classes_).index(True)
        return self.classifier.predict_proba(matrix)[:, yes]

    def probability(self, text: str) -> float:
        return float(self.probabilities([text])[0])


def train_text_model(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    prepare: Callable[[str], str],
    c: float,
    ngrams: tuple[int, int],
    balanced: bool = False,
) -> TextModel | None:
    """Fit the model; None when the labels do not hold both answers (nothing to learn)."""
    if len(set(labels)) < 2:
        return None
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngrams, sublinear_tf=True, lowercase=False)
    matrix = vectorizer.fit_transform([prepare(t) for t in texts])
    weights = "balanced" if balanced else None
    classifier = LogisticRegression(C=c, solver="liblinear", random_state=0, class_weight=weights)
    return TextModel(vectorizer, classifier.fit(matrix, list(labels)), prepare, len(texts))


Turn = TypeVar("Turn")
Model = TypeVar("Model")


def conversation_fold(source: str, dialogue: int | None, folds: int) -> int:
    """The fold of a turn's conversation (its set and dialogue): all turns of one dialogue fall in one fold."""
    return zlib.crc32(f"{source}/{dialogue}".encode()) % folds


def cross_validated(
    turns: Sequence[Turn],
    fold_of: Callable[[Turn], int],
    folds: int,
    train: Callable[[Sequence[Turn]], Model | None],
    probabilities: Callable[[Model, list[Turn]], np.ndarray],
) -> np.ndarray:
    """Each turn's probability from a model trained on the other folds' turns (0 where a fold's model is None)."""
    out = np.zeros(len(turns))
    fold = np.array([fold_of(t) for t in turns])
    for held_fold in range(folds):
        held = np.where(fold == held_fold)[0]
        model = train([turns[i] for i in np.where(fold != held_fold)[0]])
        if model is not None and len(held):
            out[held] = probabilities(model, [turns[i] for i in held])
    return out


class PerFileVersion(Generic[Model]):
    """The model of a file, trained once per process and version of the file (its path, time and size); None
    without the file. Thread-safe: the bot's threads may ask at once."""

    def __init__(self, train_from: Callable[[Path], Model | None]) -> None:
        self._train_from = collector_paused(train_from)  # start-up allocates long-lived objects (collector.py)
        self._trained: dict[tuple[str, int, int], Model | None] = {}
        self._lock = threading.Lock()

    def __call__(self, path: Path | None) -> Model | None:
        if path is None or not path.exists():
            return None
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key not in self._trained:
                self._trained[key] = self._train_from(path)
            return self._trained[key]


class NotATurn(ValueError):
    """Raised by a turn's parser (`read_turns`) for a line that parses but is no turn: the reason."""


def read_turns(path: Path, parse: Callable[[Any], Turn], what: str) -> list[Turn]:
    """The turns of a JSON-lines file, one made by `parse` of each line's object (blank lines skipped); a line that
    is not one names the file and line (`TurnsFileError`): `parse` raises `NotATurn` with the reason, or fails on a
    missing key or a wrong type (then it is "not `what`")."""
    turns = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                turns.append(parse(orjson.loads(line)))  # json's error on a bad line (a subclass), twice as fast
            except NotATurn as exc:
                raise TurnsFileError(path, number, str(exc)) from exc
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise TurnsFileError(path, number, f"not {what} ({exc})") from exc
    return turns


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write the lines (JSON, one a line) whole or not at all; returns how many."""
    written = list(lines)
    with replaced(path) as file:
        file.write("".join(f"{line}\n" for line in written))
    return len(written)


__all__ = [
    "NotATurn",
    "PerFileVersion",
    "TextModel",
    "TurnsFileError",
    "conversation_fold",
    "cross_validated",
    "train_text_model",
    "read_turns",
    "turns_files_checked",
    "write_lines",
]
