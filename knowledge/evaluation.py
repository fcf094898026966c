"""Score a matcher on a labelled question file.

Definitions (all over the whole file unless said otherwise):
- item accuracy: the predicted item (null when the matcher hands off unsure) equals the label; for a
  clarify the predicted item is the first choice offered (also reported with clarify counted wrong); an
  in-scope question handed off counts as wrong (its item was not found); an answer covering several asks
  is right when the labelled item is one of the items it answers (「环评和能评能不能一起报」 labelled with
  the `parallel` topic in one set and with 环评 in another gets one answer covering both);
- intent accuracy: the detected intent equals the label;
- wrong-auto-answer rate: questions answered automatically with an item other than the label (and, for an
  answer covering several asks, none of whose items is the label);
- out-of-scope handoff rate: among questions labelled with no item, the share the matcher
  did not answer with an item (handed off, or greeted back as smalltalk);
- replied unmentioned (the matcher's reports only): among the messages that ask (all but thanks and small talk: no
  item, intent `other`), the share the bot replies to in a help group without being mentioned — a question mark of
  the cue book, or the learned reader and an answer of the bot's own (`knowledge/question_cue.py`); the rest get no
  reply from the bot (a steward reads them). The context is the evaluation's, every turn read: in a group a turn the
  bot leaves alone keeps no context, so a later turn may read otherwise there;
- latency: wall time of one `match` call, p50 and p99, after start-up.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson

import texts
from knowledge.intents import INTENTS
from knowledge.question_cue import ASKS, MAY_ASK, answers_unasked, asks_of, reader_for, reading_of


class LabelledQuestion(NamedTuple):
    # A named tuple, not a frozen dataclass: the training file's ~25,000 rows are read at every start-up, and a
    # frozen dataclass sets each of its ten fields through object.__setattr__ (~0.08 s of a cold start). `_labelled`
    # builds it by position: tests/test_cli_understanding.py reads every field of a line back by name.
    q: str
    item: str | None
    intent: str
    style: str = ""
    asks: tuple[tuple[str | None, str], ...] = ()  # (item, intent) of each thing asked, when several
    chat: int | None = None  # a turn of a dialogue: context is applied per (chat, user) in file order
    user: int | None = None
    dialogue: int | None = None
    source: str = ""  # the set a question of the training file came from
    split: str = ""  # in the training file: "train", or "test" (never trained on)


@dataclass(frozen=True)
class Prediction:
    item: str | None
    intent: str
    action: str
    asks: tuple[tuple[str | None, str], ...] = ()


_KNOWN_INTENTS = frozenset(INTENTS)


def _labelled(data: dict) -> LabelledQuestion:  # type: ignore[type-arg]
    """One labelled line: {q, item, intent, style, asks?} or a dialogue turn {chat, user, text, item, intent, dialogue};
    a ValueError without the place, which `load_labelled` writes only for a line that is wrong."""
    try:
        turn = "text" in data and "q" not in data
        given = data.get("asks")
        asks = tuple((a.get("item"), a.get("intent") or "other") for a in given) if given else ()
        case = LabelledQuestion(  # by position, in the fields' order (keywords cost 0.02–0.04 s of a start-up)
            str(data["text"] if turn else data["q"]),  # q
            data.get("item"),
            data.get("intent") or "other",
            data.get("style", "dialogue" if turn else ""),
            asks,
            int(data["chat"]) if turn else None,
            int(data["user"]) if turn else None,
            data.get("dialogue"),
            data.get("source", ""),
            data.get("split", ""),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a labelled question ({exc!r})") from None
    for intent in (case.intent, *(i for _, i in asks)):
        if not isinstance(intent, str) or intent not in _KNOWN_INTENTS:
            raise ValueError(f"unknown intent {intent!r}")
    return case


def load_labelled(path: Path) -> list[LabelledQuestion]:
    """Read a JSON-lines file of labelled questions or dialogue turns; a bad line raises ValueError naming it."""
    cases = []
    # orjson: the training file (~42,000 lines) is read at every cold start-up, in 0.1 s rather than json's 0.2 s.
    # Bytes split only at line ends (a U+2028 inside a JSON string is not one, as str.splitlines would have it).
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except json.JSONDecodeError as exc:  # orjson's error is json's (a subclass); bad UTF-8 is one too
            raise ValueError(f"{path}:{number}: not a labelled question ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}:{number}: not a labelled question (not an object)")
        try:
            cases.append(_labelled(data))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return cases


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


@dataclass
class EvalReport:
    name: str
    total: int = 0
    item_correct: int = 0
    item_correct_by_clarify: int = 0  # right item, but as the top choice of a clarify question
    intent_correct: int = 0
    answered: int = 0
    wrong_answers: int = 0
    oos_total: int = 0
    oos_handed_off: int = 0
    asks_total: int = 0  # questions labelled with several asks
    asks_correct: int = 0  # … whose asks were all read (as a set of (item, intent))
    asking: int = 0  # messages that ask (all but thanks and small talk: `question_cue.asks_of`), when counted
    replied_unmentioned: int = 0  # … that the bot replies to in a group without being mentioned
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[tuple[LabelledQuestion, Prediction]] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "questions": self.total,
            "item_accuracy": self.rate(self.item_correct, self.total),
            "item_accuracy_without_clarify": self.rate(self.item_correct - self.item_correct_by_clarify, self.total),
            "intent_accuracy": self.rate(self.intent_correct, self.total),
            "auto_answer_rate": self.rate(self.answered, self.total),
            "wrong_auto_answer_rate": self.rate(self.wrong_answers, self.total),
            "out_of_scope_handoff_rate": self.rate(self.oos_handed_off, self.oos_total),
            "wrong_of_answered_rate": self.rate(self.wrong_answers, self.answered),
            "several_asks": self.asks_total,
            "several_asks_accuracy": self.rate(self.asks_correct, self.asks_total),
            "asking": self.asking,
            "replied_unmentioned": self.replied_unmentioned,
            "replied_unmentioned_rate": self.rate(self.replied_unmentioned, self.asking),
            "latency_p50_ms": round(statistics.median(self.latencies_ms), 3) if self.latencies_ms else 0.0,
            "latency_p99_ms": round(percentile(self.latencies_ms, 99), 3),
        }

    def render(self) -> str:
        data = self.to_dict()
        report = texts.EVAL_REPORT.format(
            **data,
            oos_handed_off=self.oos_handed_off,
            oos_total=self.oos_total,
            asks_correct=self.asks_correct,
            asks_total=self.asks_total,
        )
        return report + ("\n" + texts.EVAL_UNMENTIONED.format(**data) if self.asking else "")

    def error_lines(self) -> list[str]:
        return [
            texts.EVAL_ERROR_LINE.format(
                style=case.style,
                question=repr(case.q),
                want_item=case.item,
                want_intent=case.intent,
                got_item=pred.item,
                got_intent=pred.intent,
                action=pred.action,
            )
            for case, pred in self.errors
        ]


def item_right(pred: Prediction, item: str | None) -> bool:
    """Whether a prediction reads `item`: its item, or one of the several asks it answered."""
    return pred.item == item or (pred.action == "answer" and item is not None and item in {i for i, _ in pred.asks})


def score(
    name: str,
    predict: Callable[[str], Prediction],
    cases: Iterable[LabelledQuestion],
    *,
    predict_case: Callable[[LabelledQuestion], Prediction] | None = None,
    replies_unmentioned: Callable[[LabelledQuestion, Prediction], bool] | None = None,
) -> EvalReport:
    """Run `predict` over the cases and count; works for the matcher and the baselines alike.

    `predict_case`, when given, is called with the whole case instead (dialogue turns need chat and user);
    `replies_unmentioned`, when given, says whether the bot replies to a case in a group without being mentioned.
    """
    report = EvalReport(name)
    for case in cases:
        started = time.perf_counter()
        pred = predict_case(case) if predict_case is not None else predict(case.q)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.total += 1
        item_ok = item_right(pred, case.item)
        report.item_correct += item_ok
        report.item_correct_by_clarify += item_ok and pred.action == "clarify"
        report.intent_correct += pred.intent == case.intent
        if pred.action == "answer":
            report.answered += 1
            if not item_ok:
                report.wrong_answers += 1
        if case.item is None:
            report.oos_total += 1
            report.oos_handed_off += pred.action in ("handoff", "smalltalk") or (
                pred.action == "answer" and pred.item is None
            )
        if case.asks:
            report.asks_total += 1
            got = set(pred.asks) if pred.asks else {(pred.item, pred.intent)}
            report.asks_correct += got == set(case.asks)
        if replies_unmentioned is not None and asks_of(case):
            report.asking += 1
            report.replied_unmentioned += replies_unmentioned(case, pred)
        if not item_ok or pred.intent != case.intent:
            report.errors.append((case, pred))
    return report


def fold_of(question: str, folds: int) -> int:
    """The fold of a question in k-fold cross-validation: fixed by its text, so runs repeat."""
    return int(hashlib.sha256(question.encode("utf-8")).hexdigest(), 16) % folds


def cross_validate(kb, rows, *, folds: int = 5, build=None, only=None) -> dict[str, Prediction]:  # type: ignore[no-untyped-def]
    """Predict every labelled row with a model trained on the other folds (and the knowledge base).

    `rows` are labelled questions; `build(kb, model)` makes the matcher (default: Matcher(kb, model=model));
    `only`, a collection of question texts, predicts just those (the folds still train on every row).
    Returns the prediction of each question text.
    """
    from knowledge.matcher import Matcher
    from knowledge.model_text import train_model

    build = build or (lambda kb_, model: Matcher(kb_, model=model))
    predictions: dict[str, Prediction] = {}
    for fold in range(folds):
        held = [r for r in rows if fold_of(r.q, folds) == fold and (only is None or r.q in only)]
        model = train_model(kb, [r for r in rows if fold_of(r.q, folds) != fold])
        matcher = build(kb, model)
        for row in held:
            predictions[row.q] = prediction_of(matcher.match(row.q))
    return predictions


def leave_one_set_out(kb, rows, *, build=None) -> dict[str, dict[str, Prediction]]:  # type: ignore[no-untyped-def]
    """Predict each blind set's questions with a model trained on every other set (its own dialogue turns left
    out too): closer to a new set written apart than k-fold, where a set's wording is also in the training folds.

    Returns {source: {question: prediction}} for every source whose name starts with "blind" (dialogues excepted).
    """
    from knowledge.matcher import Matcher
    from knowledge.model_text import train_model

    build = build or (lambda kb_, model: Matcher(kb_, model=model))
    sources = sorted({r.source for r in rows if r.source.startswith("blind") and not r.source.endswith("_dialogues")})
    predictions: dict[str, dict[str, Prediction]] = {}
    for source in sources:
        held = {source, f"{source}_dialogues"}
        matcher = build(kb, train_model(kb, [r for r in rows if r.source not in held]))
        predictions[source] = {
            r.q: prediction_of(matcher.match(r.q)) for r in rows if r.source == source and r.dialogue is None
        }
    return predictions


def prediction_of(result) -> Prediction:  # type: ignore[no-untyped-def]
    return Prediction(result.item, result.intent, result.action, tuple((a.item, a.intent) for a in result.asks))


def evaluate(matcher, cases: Iterable[LabelledQuestion], name: str = "steward matcher") -> EvalReport:  # type: ignore[no-untyped-def]
    """Score the steward's matcher; dialogue turns are matched in the asker's context, in file order, the asker pressing
    the button of the item they meant when the bot offers it (`context.TurnReader`)."""
    from knowledge.context import TurnReader

    turns = TurnReader(matcher)

    def predict_case(case: LabelledQuestion) -> Prediction:
        return prediction_of(turns.read(case)[1])

    reader = reader_for()

    def replies_unmentioned(case: LabelledQuestion, pred: Prediction) -> bool:
        """As the bot in a group: a message with a question mark is replied to (answered, offered a choice or
        handed to a person); one the learned reader alone takes only with an answer of the bot's own."""
        reading = reading_of(case.q, reader)
        return reading == ASKS or (reading == MAY_ASK and answers_unasked(pred, matcher.intent_said(case.q)))

    return score(
        name,
        lambda q: prediction_of(matcher.match(q)),
        cases,
        predict_case=predict_case,
        replies_unmentioned=replies_unmentioned,
    )
