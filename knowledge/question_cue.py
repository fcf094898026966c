"""Does a chat message ask something? In groups people also just talk: the bot answers what asks and leaves the rest.

Three readings (`reading_of`). A message with a question mark of the cue book (「？」「吗」「多久」「哪」…,
`question_mark` in `training/intent_cues.yaml`) asks. A message with none may ask when a model learned from data
(`QuestionReader`) says so, and then the bot speaks up only with an answer of its own (`answers_unasked`); the rest is
talk. The model is a
logistic regression over the character 1–3-grams of the message, its start and end marked, trained on exactly the
messages it reads — the labelled messages with no question mark: the questions of the read sets (「网上报还是去窗口」
「环评批下来没有」「多会儿能下来」, a turn labelled with an item or an intent other than `other`) and the messages of
the chatter banks (`CHATTER_BANKS`, written apart: 「材料今天上午已经交到窗口了」「小王你下午跟我去趟
自然资源局」, and questions with no mark). Thanks and small talk (no item, intent `other`) are neither.

The turns are in `training/question_turns.jsonl`, written by `steward kb questions --write` (only texts of the
training file's `train` split: the `test` split measures the reader too); the bot trains the reader in a thread as
it connects (`reader_in_background`). Before the reader, the cue book's marks alone missed 326 of the 4,229 asking
turns of the unseen dialogue judges blind34–48: in a group, unless the bot was mentioned or replied to, those got no
reply; now 232 of them are answered.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import turns_model
from knowledge.collector import collector_paused
from knowledge.intents import cue_book
from knowledge.normalize import compact, normalize
from knowledge.turns_model import NotATurn, PerFileVersion, TextModel, read_turns, train_text_model, write_lines

QUESTION_TURNS_PATH = Path(__file__).resolve().parent / "training" / "question_turns.jsonl"
# The chatter banks (read, written apart from the code: group messages that ask and that do not), relative to the
# repository; the judges beside them (`judge*.jsonl`) are never trained on.
CHATTER_BANKS = (Path("tests/data/questions/bank1.jsonl"), Path("tests/data/questions/bank2.jsonl"))
# P(a message with no question mark asks) from which it is taken as a question: the lowest at which, 5-fold on the
# read turns (`steward kb questions`), at most 1% of the chatter is taken — a help group's traffic is mostly people
# talking, and a steward reads every message there, so a word to a colleague answered by the bot (or made a ticket)
# costs more than a question left to the steward. At 0.8: 88.8% of the unmarked questions, 1.0% of the chatter; at 0.6,
# 95.8% and 4.6%.
QUESTION_P = 0.8
QUESTION_C = 10.0
QUESTION_NGRAMS = (1, 3)
FOLDS = 5


def has_question_mark(text: str) -> bool:
    """Whether the message has a question mark of the cue book (a question word, 吗, a question mark…)."""
    marks = cue_book().question_mark
    return bool(marks.search(text) or marks.search(normalize(text)))


@dataclass(frozen=True)
class QuestionTurn:
    """A message with no question mark: its text, whether it asks, and the set it came from."""

    q: str
    question: bool
    source: str = ""

    def to_json(self) -> str:
        return json.dumps({"q": self.q, "question": self.question, "source": self.source}, ensure_ascii=False)


def read_question_turns(path: Path = QUESTION_TURNS_PATH) -> list[QuestionTurn]:
    """The reader's turns; a line that is not one names the file and line (ValueError)."""
    return read_turns(path, _question_turn, "a message turn")


def _question_turn(data: Any) -> QuestionTurn:
    turn = QuestionTurn(q=str(data["q"]), question=data["question"], source=str(data.get("source") or ""))
    if not isinstance(turn.question, bool) or not turn.q.strip():
        raise NotATurn("a message turn needs a text and question true or false")
    return turn


def write_question_turns(path: Path, turns: Iterable[QuestionTurn]) -> int:
    """Write the reader's turns whole or not at all; returns how many."""
    return write_lines(path, (turn.to_json() for turn in turns))


def _marked(text: str) -> str:
    # 「…吧」「…没」「…不」 end a question, 「小王你…」 starts a word to a person: the ends are features of their own
    return f"^{compact(text)}$"


class QuestionReader:
    """P(a message with no question mark asks something), from its words."""

    def __init__(self, model: TextModel) -> None:
        self._model = model
        self.turns = model.samples  # how many it was trained on

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.probabilities(texts)

    def asks(self, text: str) -> float:
        return self._model.probability(text)


def train_reader(turns: Sequence[QuestionTurn]) -> QuestionReader | None:
    """Fit the reader; None when the turns do not hold both answers."""
    model = train_text_model(
        [turn.q for turn in turns],
        [turn.question for turn in turns],
        prepare=_marked,
        c=QUESTION_C,
        ngrams=QUESTION_NGRAMS,
        balanced=True,  # the read sets hold about twice as many questions with no mark as the banks hold chatter
    )
    return QuestionReader(model) if model is not None else None


_readers = PerFileVersion(lambda path: train_reader(read_question_turns(path)))


def reader_for(path: Path | None = QUESTION_TURNS_PATH) -> QuestionReader | None:
    """The reader of the turns in `path`, trained once per process and file version; None without the file."""
    return _readers(path)


_in_background: dict[tuple[QuestionTurn, ...], Future[QuestionReader | None]] = {}
_in_background_lock = threading.Lock()


def reader_in_background(turns: Sequence[QuestionTurn]) -> Future[QuestionReader | None]:
    """The reader of `turns`, trained in a thread (about 0.1–0.2 s, most of it vectorising, which holds the GIL: the
    bot starts it once the intent and item models are trained, while it connects to Telegram). Trained once per
    process for the same turns (every application a process builds shares it); a training that failed is tried
    again by the next caller."""
    key = tuple(turns)
    with _in_background_lock:
        trained = _in_background.get(key)
        if trained is None or (trained.done() and trained.exception() is not None):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="question-reader")
            trained = pool.submit(collector_paused(train_reader), key)
            pool.shutdown(wait=False)  # the thread ends with the training; nothing else runs on it
            _in_background[key] = trained
        return trained


# How a group message not addressed to the bot reads (`reading_of`)
ASKS = "asks"  # a question mark of the cue book: answered, offered a choice or handed to a person
MAY_ASK = "may_ask"  # no mark, but the reader says it asks: answered only when the bot answers it itself
TALK = "talk"  # people talking: left alone


def reading_of(text: str, reader: QuestionReader | None) -> str:
    """`ASKS`, `MAY_ASK` or `TALK` (`reader`: the learned reader, None for the marks alone)."""
    if not text or not text.strip():
        return TALK
    if has_question_mark(text):
        return ASKS
    return MAY_ASK if reader is not None and reader.asks(text) >= QUESTION_P else TALK


def reads_as_question(text: str, reader: QuestionReader | None = None) -> bool:
    """Whether the message reads as asking: a question mark of the cue book, or else the learned reader's
    P ≥ `QUESTION_P` (`reader`: the bundled turns' when not given)."""
    return reading_of(text, reader if reader is not None else reader_for()) != TALK


def answers_unasked(result: Any, said: str | None) -> bool:
    """Whether the bot speaks up on a message that may ask (`MAY_ASK`): only with an answer or a choice of its own
    (`result`, the MatchResult in the asker's conversation) about an item and an aspect the message's own words ask
    (`said`, `Matcher.intent_said`: an aspect taken from the conversation, or a status, does not count). Never a
    ticket, a follow-up of a waiting ticket or a greeting: 「是的」「我也是」「还没批下来」 and a bare 「环评」 said to a
    colleague stay with the people (a steward reads every message there); 「网上报还是去窗口」「那时限」 get their answer. Five-fold on the read sets, at
    `QUESTION_P` the bot would speak up on 0.3% of the chatter banks' messages read alone (3 of 862) and answer 982 of
    the 1,488 unmarked questions of the read dialogues (941 with the right item); the rest stay with the steward. The
    item may come from the asker's conversation (「那时限」): chatter after the asker's own question that names an
    aspect (「要交钱的」 after 环评) gets that item's answer — no ticket, but a reply the banks did not measure."""
    return result.action in ("answer", "clarify") and result.item is not None and said not in (None, "other", "status")


def asks_of(case: Any) -> bool | None:
    """Whether a labelled message asks: a question of a labelled set asks unless it is thanks or small talk (no item,
    intent `other`: left out, it may be either); a chatter bank's line says so itself."""
    if getattr(case, "question", None) is not None:
        return bool(case.question)
    if case.item is None and case.intent == "other":
        return None
    return True


def unmarked_turns(sets: Iterable[tuple[str, Sequence[Any]]]) -> list[QuestionTurn]:
    """The labelled messages with no question mark, each with whether it asks, in order; a text once."""
    turns, seen = [], set()
    for name, cases in sets:
        for case in cases:
            asks = asks_of(case)
            key = compact(case.q)
            if asks is None or key in seen or not key or has_question_mark(case.q):
                continue
            seen.add(key)
            turns.append(QuestionTurn(case.q, asks, name))
    return turns


@dataclass(frozen=True)
class ChatterLine:
    """A line of a chatter bank or judge: {"text", "question", "kind"}."""

    q: str
    question: bool
    kind: str = ""


def load_chatter(path: Path) -> list[ChatterLine]:
    """A chatter bank's lines; a line that is not one names the file and line (ValueError)."""
    return read_turns(path, _chatter_line, "a chatter line")


def _chatter_line(data: Any) -> ChatterLine:
    line = ChatterLine(str(data["text"]), data["question"], str(data.get("kind") or ""))
    if not isinstance(line.question, bool):
        raise NotATurn("question must be true or false")
    return line


def source_fold(turn: QuestionTurn, folds: int = FOLDS) -> int:
    """A turn's fold by its text: one text, one fold."""
    return zlib.crc32(compact(turn.q).encode()) % folds


def cross_validated(turns: Sequence[QuestionTurn], folds: int = FOLDS) -> np.ndarray:
    """Each turn's probability from a reader trained on the other folds."""
    return turns_model.cross_validated(
        turns,
        lambda turn: source_fold(turn, folds),
        folds,
        train_reader,
        lambda reader, held: reader.probabilities([t.q for t in held]),
    )


__all__ = [
    "ASKS",
    "MAY_ASK",
    "QUESTION_P",
    "QUESTION_TURNS_PATH",
    "CHATTER_BANKS",
    "ChatterLine",
    "QuestionReader",
    "TALK",
    "QuestionTurn",
    "answers_unasked",
    "asks_of",
    "cross_validated",
    "has_question_mark",
    "load_chatter",
    "read_question_turns",
    "reader_for",
    "reader_in_background",
    "reading_of",
    "reads_as_question",
    "train_reader",
    "unmarked_turns",
    "write_question_turns",
]
