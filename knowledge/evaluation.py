"""Score a matcher on a labelled question file.

Definitions (all over the whole file unless said otherwise):
- item accuracy: the predicted item (null when the matcher hands off unsure) equals the label; for a
  clarify the predicted item is the first choice offered (also reported with clarify counted wrong);
- intent accuracy: the detected intent equals the label;
- wrong-auto-answer rate: questions answered automatically with an item other than the label;
- out-of-scope handoff rate: among questions labelled with no item, the share the matcher
  did not answer with an item (handed off, or greeted back as smalltalk);
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

from knowledge.intents import INTENTS


@dataclass(frozen=True)
class LabelledQuestion:
    q: str
    item: str | None
    intent: str
    style: str = ""


@dataclass(frozen=True)
class Prediction:
    item: str | None
    intent: str
    action: str


def load_labelled(path: Path) -> list[LabelledQuestion]:
    """Read a JSON-lines file of {q, item, intent}; a bad line raises ValueError naming it."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            case = LabelledQuestion(q=str(data["q"]), item=data.get("item"), intent=data.get("intent") or "other",
                                    style=data.get("style", ""))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled question ({exc})") from None
        if case.intent not in INTENTS:
            raise ValueError(f"{path}:{number}: unknown intent {case.intent!r}")
        cases.append(case)
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
            "latency_p50_ms": round(statistics.median(self.latencies_ms), 3) if self.latencies_ms else 0.0,
            "latency_p99_ms": round(percentile(self.latencies_ms, 99), 3),
        }

    def render(self) -> str:
        d = self.to_dict()
        return "\n".join(
            [
                f"questions:                 {d['questions']}",
                f"item accuracy:             {d['item_accuracy']}%",
                f"  (clarify counted wrong:  {d['item_accuracy_without_clarify']}%)",
                f"intent accuracy:           {d['intent_accuracy']}%",
                f"auto-answer rate:          {d['auto_answer_rate']}%",
                f"wrong-auto-answer rate:    {d['wrong_auto_answer_rate']}%",
                f"out-of-scope handoff rate: {d['out_of_scope_handoff_rate']}%  ({self.oos_handed_off}/{self.oos_total})",
                f"latency p50 / p99:         {d['latency_p50_ms']} ms / {d['latency_p99_ms']} ms",
            ]
        )

    def error_lines(self) -> list[str]:
        return [
            f"[{case.style}] {case.q!r}: want {case.item}/{case.intent}, got {pred.item}/{pred.intent} ({pred.action})"
            for case, pred in self.errors
        ]


def score(name: str, predict: Callable[[str], Prediction], cases: Iterable[LabelledQuestion]) -> EvalReport:
    """Run `predict` over the cases and count; works for the matcher and the baselines alike."""
    report = EvalReport(name)
    for case in cases:
        started = time.perf_counter()
        pred = predict(case.q)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.total += 1
        item_ok = pred.item == case.item
        report.item_correct += item_ok
        report.item_correct_by_clarify += item_ok and pred.action == "clarify"
        report.intent_correct += pred.intent == case.intent
        if pred.action == "answer":
            report.answered += 1
            if pred.item != case.item:
                report.wrong_answers += 1
        if case.item is None:
            report.oos_total += 1
            report.oos_handed_off += pred.action in ("handoff", "smalltalk") or (pred.action == "answer" and pred.item is None)
        if not item_ok or pred.intent != case.intent:
            report.errors.append((case, pred))
    return report


def fold_of(question: str, folds: int) -> int:
    """The fold of a question in k-fold cross-validation: fixed by its text, so runs repeat."""
    return int(hashlib.sha256(question.encode("utf-8")).hexdigest(), 16) % folds


def cross_validate(kb, rows, *, folds: int = 5, build=None) -> dict[str, Prediction]:  # type: ignore[no-untyped-def]
    """Predict every labelled row with a model trained on the other folds (and the knowledge base).

    `rows` are `model_text.Labelled`; `build(kb, model)` makes the matcher (default: Matcher(kb, model=model)).
    Returns the prediction of each question text.
    """
    from knowledge.matcher import Matcher
    from knowledge.model_text import train_model

    build = build or (lambda kb_, model: Matcher(kb_, model=model))
    predictions: dict[str, Prediction] = {}
    for fold in range(folds):
        held = [r for r in rows if fold_of(r.q, folds) == fold]
        model = train_model(kb, [r for r in rows if fold_of(r.q, folds) != fold])
        matcher = build(kb, model)
        for row in held:
            result = matcher.match(row.q)
            predictions[row.q] = Prediction(result.item, result.intent, result.action)
    return predictions


def evaluate(matcher, cases: Iterable[LabelledQuestion]) -> EvalReport:  # type: ignore[no-untyped-def]
    """Score the steward's matcher."""

    def predict(question: str) -> Prediction:
        result = matcher.match(question)
        return Prediction(result.item, result.intent, result.action)

    return score("steward matcher", predict, cases)
