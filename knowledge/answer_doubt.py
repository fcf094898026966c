"""Whether an answer a later turn takes from the conversation's item may not be what its writer meant: a model
learned from the read dialogues, not one more rule.

The follow-up readers answer an elliptical later turn with the earlier item (「那得多长时间」「去哪儿交」). On the read
dialogue sets about 3.5% of these answers are wrong — the writer had moved on to an item the readers do not see, or
asked nothing of an item at all — and no single feature told them apart (the twenty-second pass tried the follow-up
gate's probability: AUC 0.66). What does is the pair: the words of the turn *given* the earlier item (「抽查」 after
消防验收 is the item's own step, after 备案 another procedure's). The model is a logistic regression over the turn's
character 1–3-grams, its character bigrams crossed with the earlier item, the earlier item, the intent asked and
(since the twenty-eighth pass) how the matcher's item model reads the turn alone (`_alone_columns`); it is trained
on exactly the answers it reads (`replayed_kept_answers`: a later turn answered with the earlier item
taken from the conversation by the follow-up readers — not a message naming the item itself, not by the gate), each
labelled with whether the answer was wrong, from `training/kept_answers.jsonl` (`steward kb doubts --write`; only
the texts of the training file's `train` split). A failed training is logged, and kept answers stand.

A second model of the same shape (since the twenty-fifth pass) reads the answers that *switched* to another item the
turn names (`is_switched_answer`: 「消防验收得先做完才能备案吧」 after 竣工验收备案, answered with 消防验收 where its
writer asked of 竣工验收备案's order), its bigrams crossed with the item answered too; from p(wrong) ≥
`SWITCH_DOUBT_OFFER` such an answer is offered as a choice of the item named and the earlier one.

When p(wrong) ≥ `DOUBT_OFFER` the answer is offered as a choice of one instead (in groups beside 「都不是，转人工」):
a choice costs the asker a tap, a wrong answer is the worst outcome. From p(wrong) ≥ `DOUBT_HANDOFF` a kept answer is
more likely wrong than right, so the earlier item is not offered either: the turn goes to a person (reason
`doubted_kept`, no item; the asker most often moved on to a matter the knowledge base lacks: 「物业维修基金在哪交」
after 竣工验收备案), and the conversation stays where it was before the turn. Training takes about half a second on an idle
machine and is deterministic (liblinear, a fixed seed); the bot reads the file as it starts (a broken line stops the
start-up) and trains the model when the first answer taken from a conversation needs it, on a daemon thread that
answer waits for (`Matcher.kept_doubt`, `doubt_in_background`): a bot that never meets such an answer never trains
it, and one stopping while it trains does not wait for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge import turns_model
from knowledge.collector import collector_paused
from knowledge.context import ASKED_WITHOUT_ITEM, replayed
from knowledge.followup import starts_new_matter
from knowledge.model_text import NO_ITEM, TextModel
from knowledge.normalize import compact
from knowledge.turns_model import NotATurn, PerFileVersion, conversation_fold, read_turns, write_lines

KEPT_ANSWERS_PATH = Path(__file__).resolve().parent / "training" / "kept_answers.jsonl"
# p(wrong) from which a kept answer is offered as a choice. Chosen on the read sets, 5-fold by conversation
# (`steward kb doubts`; the twenty-fourth pass: 163 of 5,744 kept answers taken, 61 of them wrong, of 199; the current
# file's figures are in README).
DOUBT_OFFER = 0.1
# p(wrong) from which a kept answer goes to a person instead of being offered: on the read sets, 5-fold by conversation
# (the twenty-sixth pass), of the 51 kept answers at 0.5 or more 12 were right, 22 meant no item and 17 another item;
# from 0.3 to 0.5, 17 of 46 were right. (A switched answer stays a choice: the earlier item is the likely other.)
DOUBT_HANDOFF = 0.5
# p(wrong) from which an answer that switched to another item the turn names is offered as a choice of that item and
# the earlier one: the lowest whose choices are wrong answers at least as often as the kept answers' at 0.1 (5-fold by
# conversation: 36 taken, 17 of them wrong, against 241 and 102), and where plain questions naming their item
# (「施工图审查要什么材料」 after each other item, four wordings) are answered (4 of 4,760 doubted; 15 at 0.1; at 0.075
# a dialogue test's 「环评批复一般多久能下来」 after 工程规划许可 was doubted). 0.17 since the twenty-eighth pass: the
# rules read three of the file's wrong switches another way now (73 of 1,414 wrong, was 76 of 1,425), and at 0.15 the
# model, retrained, doubted 「施工图审查要什么材料」 after 用地预审 (0.161) and 不动产权证 (0.151); at 0.17 a sweep of
# 「<name>要什么材料/去哪办/要多久/收费吗」 after every other item doubts 7 of 4,760 (6 before the pass). 0.19 since the
# thirty-sixth pass: retrained without two names that were never matched, the model doubted 「施工图审查要什么材料」
# after 用地预审 (0.182); at 0.19 only answers after 拿地即开工 are doubted in that sweep (5 of 3,944 names of items
# after every other key), and the switches taken, 5-fold by conversation, are wrong 16 of 31 (at 0.17: 19 of 35),
# still more often than the kept answers' at 0.1 (172 of 376).
SWITCH_DOUBT_OFFER = 0.19
DOUBT_C = 10.0  # inverse regularisation (4 gave about the same ranking, 5-fold)
FOLDS = 5


@dataclass(frozen=True)
class KeptAnswer:
    """A later turn answered in a conversation: its text, the conversation's item, the intent answered, whether the
    answer was wrong (its writer meant another item, or none), where from, and the item answered — the earlier one
    when taken from it (a kept answer), another named in the turn when it switched (a switched answer)."""

    q: str
    earlier: str
    intent: str
    wrong: bool
    source: str = ""
    dialogue: int | None = None
    answered: str = ""  # "": the earlier item

    @property
    def item(self) -> str:
        """The item the turn was answered with."""
        return self.answered or self.earlier

    @property
    def switched(self) -> bool:
        return self.item != self.earlier

    def to_json(self) -> str:
        data = {
            "q": self.q,
            "earlier": self.earlier,
            "intent": self.intent,
            "wrong": self.wrong,
            "source": self.source,
            "dialogue": self.dialogue,
        }
        if self.switched:
            data["answered"] = self.answered
        return json.dumps(data, ensure_ascii=False)


def read_kept_answers(path: Path = KEPT_ANSWERS_PATH) -> list[KeptAnswer]:
    """The model's answers; a line that is not one names the file and line (TurnsFileError)."""
    return read_turns(path, _kept_answer, "a kept answer")


def _kept_answer(data: Any) -> KeptAnswer:
    answer = KeptAnswer(
        q=str(data["q"]),
        earlier=str(data["earlier"]),
        intent=str(data["intent"]),
        wrong=data["wrong"],
        source=str(data.get("source") or ""),
        dialogue=data.get("dialogue"),
        answered=str(data.get("answered") or ""),
    )
    if not isinstance(answer.wrong, bool) or not answer.q.strip() or not answer.earlier:
        raise NotATurn("a kept answer needs a text, the earlier item and wrong true or false")
    return answer


def write_kept_answers(path: Path, answers: Iterable[KeptAnswer]) -> int:
    """Write the answers (one JSON line each), whole or not at all; returns how many."""
    return write_lines(path, (answer.to_json() for answer in answers))


class _PairModel:
    """P(wrong) of one kind of answer from the turn's words given the earlier item (and, of a switch, the item
    answered): [1–3-grams | bigrams × earlier item | (bigrams × item answered) | earlier item | intent | (the item
    model's reading of the turn alone)]; an item or intent never seen counts as none. The item answered has no weight
    of its own: with one, the model learned a prior against a few items (6 of the file's 52 switches to 施工图审查 were
    wrong) and doubted plain new questions naming them (「施工图审查要什么材料」 after 10 of the 34 other items; 39 of
    4,760 such questions in all, 15 without it).

    With `items` (the matcher's text model), a kept answer's row also holds how the item model reads the turn alone
    (`_alone_columns`): the doubt's own n-grams know only the words of the few hundred wrong answers it has seen, the
    item model those of every labelled question (「承诺书签完交到哪」 reads as 容缺受理 whatever the earlier item)."""

    def __init__(self, answers: Sequence[KeptAnswer], *, by_answered: bool, items: TextModel | None = None) -> None:
        self.by_answered = by_answered
        # the item model's reading counts for kept answers only: for switches it moved the ranking little (5-fold
        # AUC 0.807 -> 0.831, the same answers taken at the threshold)
        self.reading = items if not by_answered else None
        self.items = sorted({a.earlier for a in answers} | {a.item for a in answers})
        self.intents = sorted({a.intent for a in answers})
        self._item_index = {item: i for i, item in enumerate(self.items)}
        self._intent_index = {intent: i for i, intent in enumerate(self.intents)}
        texts = [compact(a.q) for a in answers]
        self._grams = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False)
        self._pairs = TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True, lowercase=False)
        grams, pairs = self._grams.fit_transform(texts), self._pairs.fit_transform(texts)
        matrix = self._features(grams, pairs, answers)
        classifier = LogisticRegression(C=DOUBT_C, solver="liblinear", random_state=0)
        self._classifier = classifier.fit(matrix, [a.wrong for a in answers])
        self._wrong = list(self._classifier.classes_).index(True)

    def _features(self, grams: Any, pairs: Any, answers: Sequence[KeptAnswer]) -> Any:
        rows, unknown = len(answers), len(self.items)
        ones = np.ones(rows)
        blocks = [grams]
        keyed = [[a.earlier for a in answers]] + ([[a.item for a in answers]] if self.by_answered else [])
        indexes = [np.array([self._item_index.get(k, unknown) for k in keys]) for keys in keyed]
        width = pairs.shape[1]
        for item in indexes:
            # each bigram column moved to the block of the row's item: a sparse matrix built from its parts
            per_entry = np.repeat(item, np.diff(pairs.indptr))
            blocks.append(
                sp.csr_matrix(
                    (pairs.data, pairs.indices + width * per_entry, pairs.indptr), shape=(rows, width * (unknown + 1))
                )
            )
        blocks.append(sp.csr_matrix((ones, (np.arange(rows), indexes[0])), shape=(rows, unknown + 1)))
        intent = np.array([self._intent_index.get(a.intent, -1) for a in answers])
        known = intent >= 0
        blocks.append(
            sp.csr_matrix(
                (ones[known], (np.arange(rows)[known], intent[known])), shape=(rows, max(len(self.intents), 1))
            )
        )
        if self.reading is not None:
            blocks.append(sp.csr_matrix(_alone_columns(self.reading, answers)))
        return sp.hstack(blocks, format="csr")

    def probabilities(self, answers: Sequence[KeptAnswer]) -> np.ndarray:
        texts = [compact(a.q) for a in answers]
        matrix = self._features(self._grams.transform(texts), self._pairs.transform(texts), answers)
        return self._classifier.predict_proba(matrix)[:, self._wrong]


_ONE_BY_ONE = 16  # up to this many answers are read one by one (`_alone_columns`)


def _alone_columns(items: TextModel, answers: Sequence[KeptAnswer]) -> np.ndarray:
    """How the item model reads each turn alone: p(the earlier item), p(the likeliest other item), p(no item), and
    whether that other item is likelier than the earlier one. (A dialogue turn never trains the item model, so these
    are what the bot reads of a turn it has not seen.)"""
    classes = {c: n for n, c in enumerate(items.item_classes)}
    texts = [compact(a.q) for a in answers]
    if not texts:
        return np.zeros((0, 4))
    if len(texts) <= _ONE_BY_ONE:
        # the bot's one answer: the model's own fast path (sklearn's per-call checks cost ~1 ms a text)
        probs = np.array([[p[c] for c in items.item_classes] for p in map(items.item_probabilities, texts)])
    else:
        probs = items.item_probabilities_of(texts)
    rows = np.arange(len(answers))
    earlier = np.array([classes.get(a.earlier, -1) for a in answers])
    p_earlier = np.where(earlier >= 0, probs[rows, np.maximum(earlier, 0)], 0.0)
    others = probs.copy()
    others[rows[earlier >= 0], earlier[earlier >= 0]] = 0.0
    if NO_ITEM in classes:
        others[:, classes[NO_ITEM]] = 0.0
    p_other = others.max(axis=1)
    p_none = probs[:, classes[NO_ITEM]] if NO_ITEM in classes else np.zeros(len(answers))
    return np.column_stack([p_earlier, p_other, p_none, (p_other > p_earlier).astype(float)])


def _pair_model(
    answers: Sequence[KeptAnswer], *, by_answered: bool, items: TextModel | None = None
) -> _PairModel | None:
    """The model of `answers`; None when they do not hold both outcomes (nothing to learn)."""
    if len({a.wrong for a in answers}) < 2:
        return None
    return _PairModel(answers, by_answered=by_answered, items=items)


class AnswerDoubt:
    """P(an answer of a later turn is wrong), from the turn's words given the conversation's item: one model of the
    answers taken from that item (kept), one of those that switched to another item the turn names."""

    def __init__(self, answers: Sequence[KeptAnswer], items: TextModel | None = None) -> None:
        self._kept = _pair_model([a for a in answers if not a.switched], by_answered=False, items=items)
        self._switched = _pair_model([a for a in answers if a.switched], by_answered=True)
        self.answers = len(answers)  # how many it was trained on

    @property
    def reads_switches(self) -> bool:
        return self._switched is not None

    def of(self, answers: Sequence[KeptAnswer]) -> np.ndarray:
        """P(wrong) of each answer, by the model of its kind; a kind the training held no wrong (or no right) answer
        of reads 0."""
        wrong = np.zeros(len(answers))
        for model, switched in ((self._kept, False), (self._switched, True)):
            rows = [n for n, a in enumerate(answers) if a.switched == switched]
            if model is not None and rows:
                wrong[rows] = model.probabilities([answers[n] for n in rows])
        return wrong

    def probabilities(
        self,
        questions: Sequence[str],
        earlier: Sequence[str],
        intents: Sequence[str],
        answered: Sequence[str] | None = None,
    ) -> np.ndarray:
        """P(wrong) of each answer given by its parts; `answered` (default: the earlier items) is the item each was
        answered with."""
        given = list(answered) if answered is not None else list(earlier)
        return self.of(
            [
                KeptAnswer(q, e, i, False, answered="" if a == e else a)
                for q, e, i, a in zip(questions, earlier, intents, given, strict=True)
            ]
        )

    def wrong(self, question: str, earlier: str, intent: str, answered: str | None = None) -> float:
        """The probability that answering `question` with `answered` (default: `earlier`, the conversation's item;
        asked `intent`) is wrong."""
        return float(self.probabilities([question], [earlier], [intent], [answered or earlier])[0])


def train_doubt(answers: Sequence[KeptAnswer], items: TextModel | None = None) -> AnswerDoubt | None:
    """Fit the models (the kept one reading the turns with `items`, the matcher's text model, when given); None when
    neither kind of answer holds both outcomes (nothing to learn)."""
    doubt = AnswerDoubt(answers, items)
    return doubt if doubt._kept is not None or doubt._switched is not None else None


_doubts = PerFileVersion(lambda path: train_doubt(read_kept_answers(path)))


def doubt_for(path: Path | None = KEPT_ANSWERS_PATH) -> AnswerDoubt | None:
    """The model of the answers in `path`, trained once per process and file version; None without the file."""
    return _doubts(path)


_in_background: dict[tuple[str, int, int, str], Future[AnswerDoubt | None]] = {}
_in_background_lock = threading.Lock()


def doubt_in_background(
    path: Path | None = KEPT_ANSWERS_PATH, items: TextModel | None = None
) -> Future[AnswerDoubt | None] | None:
    """The model of `path` (reading the turns with `items`, the matcher's text model, when given) trained on a thread
    of its own (about half a second on an idle machine, which a start-up does not wait for); None without the file.
    The file is read here, so a broken one fails the start-up with its file and line (`TurnsFileError`), not the first
    message; once per process, file version and text model."""
    if path is None or not path.exists():
        return None
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, items.fingerprint if items is not None else "")
    with _in_background_lock:
        trained = _in_background.get(key)
        if trained is None:
            answers = read_kept_answers(path)
            trained = _in_background[key] = Future()
            # a daemon thread, not an executor's: a bot stopping while it trains does not wait for it (the training
            # leaves nothing behind)
            threading.Thread(
                target=_train_into, args=(trained, answers, items), name="answer-doubt", daemon=True
            ).start()
        return trained


def _train_into(trained: Future[AnswerDoubt | None], answers: list[KeptAnswer], items: TextModel | None) -> None:
    """Train the model into `trained`; an error is the future's (the first answer that needs the model raises it)."""
    try:
        trained.set_result(collector_paused(train_doubt)(answers, items))
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future, not swallowed
        trained.set_exception(exc)


def _answers_later_turn(result: Any, context: Any) -> bool:
    """Whether `result` answers a turn that has a conversation (`context`) with one ask, by the rules (not the gate,
    whose own model decided)."""
    return context is not None and result.action == "answer" and result.reason != "gate" and not result.asks


def is_kept_answer(result: Any, context: Any) -> bool:
    """Whether `result` answers a later turn with the conversation's item taken from it (`context`: not a message
    naming the item itself, where the doubt was right once in ten, nor one pointing at it by its place in a list
    asked about, 「第一个要多久」), by the rules (not the gate, whose own model decided; not several asks)."""
    return (
        _answers_later_turn(result, context) and result.context and result.item == context.item and not result.by_place
    )


def is_switched_answer(result: Any, context: Any) -> bool:
    """Whether `result` answers a later turn with another item than the conversation's, one the turn names itself
    (「消防验收得先做完才能备案吧」 after 竣工验收备案: on the read sets about 5% of these answers are wrong, most
    of them a document or step of the earlier item named by another item's name); not several asks, not a turn after
    a question that waited for its item (「这个要多久」 then 「环评」), not a question of the knowledge base's FAQ
    (answered with its own answer, which a choice would lose), not a turn that says it moves on (「换个问题」「另外问一下」:
    on the read sets none of those was wrong)."""
    return (
        _answers_later_turn(result, context)
        and context.item != ASKED_WITHOUT_ITEM
        and not result.context
        and result.item is not None
        and result.item != context.item
        and result.faq is None
        and not starts_new_matter(result.question)
    )


def doubt_offer(answer: KeptAnswer) -> float:
    """The p(wrong) from which `answer` is offered as a choice instead."""
    return SWITCH_DOUBT_OFFER if answer.switched else DOUBT_OFFER


def replayed_kept_answers(matcher: Any, sets: Iterable[tuple[str, Sequence[Any]]]) -> list[KeptAnswer]:
    """The later turns of labelled dialogue sets answered with the earlier item or switched to another, read in
    context by `matcher` (one without this model, as `steward eval` reads them), each with whether the answer was
    wrong."""
    return [
        KeptAnswer(
            case.q,
            context.item,
            result.intent,
            case.item != result.item,
            name,
            case.dialogue,
            answered="" if result.item == context.item else result.item,
        )
        for name, case, context, result in replayed(matcher, sets)
        if is_kept_answer(result, context) or is_switched_answer(result, context)
    ]


def cross_validated(answers: Sequence[KeptAnswer], folds: int = FOLDS, items: TextModel | None = None) -> np.ndarray:
    """Each answer's p(wrong) from a model trained on the other folds' conversations (reading the turns with `items`,
    the matcher's text model, when given)."""
    return turns_model.cross_validated(
        answers,
        lambda answer: conversation_fold(answer.source, answer.dialogue, folds),
        folds,
        lambda held_out: train_doubt(held_out, items),
        lambda model, held: model.of(held),
    )


__all__ = [
    "DOUBT_HANDOFF",
    "DOUBT_OFFER",
    "FOLDS",
    "KEPT_ANSWERS_PATH",
    "AnswerDoubt",
    "SWITCH_DOUBT_OFFER",
    "KeptAnswer",
    "cross_validated",
    "doubt_offer",
    "doubt_for",
    "doubt_in_background",
    "is_kept_answer",
    "is_switched_answer",
    "read_kept_answers",
    "replayed_kept_answers",
    "train_doubt",
    "write_kept_answers",
]
