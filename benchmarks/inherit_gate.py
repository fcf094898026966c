"""Would a learned "inherit or not" decision beat the matcher's follow-up readers? Measured on the read dialogue sets.

Runs the matcher over the dialogue sets of the regression guard (`knowledge.guard.DEFAULT_GUARDED`: the sets whose
errors have been read, and the training banks; never the unseen judges), in context as `steward eval` does, then,
5-fold by conversation:
1. trains a logistic regression on the turn's character 1-3-grams to say whether the turn means the item of the
   asker's context (the item the matcher keeps for the asker), and compares its accuracy with the matcher's, on all
   those turns and on the read sets that are not trained on (the matcher's readers were still written from them);
2. uses it as a veto on answered turns: a turn that kept the context's item is handed off when the model says
   "not that item" (p < low), one that answered another item when it says "that item" (p > high), and counts the
   wrong answers removed against the right ones lost;
3. with `--evidence`, also trains a second model on every answered turn with a context item, to say whether the
   answer is right, from the turn's n-grams and the readers' evidence: whether it kept the context's item, the
   reason, which items the turn names (and how: exactly, as a name, as done), whether the context's item is named
   or among the candidates, the confidence; and hands off the answers it finds least likely right.
It also sorts the wrong answers: those that kept an item the turn before did not mean, and those that answered
another item in a turn meaning the context's.

    .venv/bin/python -m benchmarks.inherit_gate [--evidence]
"""

from __future__ import annotations

import argparse
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.context import ASKED_WITHOUT_ITEM, TurnReader
from knowledge.evaluation import load_labelled
from knowledge.guard import DEFAULT_GUARDED
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, MatchResult
from knowledge.model_text import LABELLED_PATH

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 5


@dataclass(frozen=True)
class Turn:
    conversation: str
    trained: bool  # its set is in the training file (the intent model learned from it)
    text: str
    gold: str | None
    context_item: str | None
    item: str | None
    answered: bool
    right: bool  # the answer's item is the labelled one (as `steward eval` counts)
    evidence: str  # the readers' evidence, as words (`--evidence`; empty without it)
    before: Turn | None  # the asker's turn before, in this conversation


def turns(matcher: Matcher, *, evidence: bool) -> list[Turn]:
    """Every turn of the guarded dialogue sets, as the matcher reads it in context (with the readers' evidence, if
    asked)."""
    trained_sets = {json.loads(line).get("source") for line in LABELLED_PATH.read_text(encoding="utf-8").splitlines()}
    found: list[Turn] = []
    for path in DEFAULT_GUARDED:
        cases = load_labelled(ROOT / path)
        if not any(case.dialogue is not None for case in cases):
            continue  # single questions
        reader = TurnReader(matcher)
        last: dict[tuple[int, int], Turn] = {}
        for case in cases:
            asker = (case.chat or 0, case.user or 0)
            context, result = reader.read(case)
            asks = {a.item for a in result.asks}
            answered = result.action == "answer"
            right = result.item == case.item or (answered and case.item is not None and case.item in asks)
            kept = context.item if context is not None and context.item != ASKED_WITHOUT_ITEM else None
            text = result.normalized.replace(" ", "")
            conversation = f"{path.name}:{case.dialogue}"
            before = last.get(asker)
            turn = Turn(
                conversation,
                path.stem in trained_sets,
                text,
                case.item,
                kept,
                result.item,
                answered,
                right,
                _evidence(matcher, text, result, kept) if evidence else "",
                before if before is not None and before.conversation == conversation else None,
            )
            last[asker] = turn
            found.append(turn)
    return found


def _evidence(matcher: Matcher, text: str, result: MatchResult, kept: str | None) -> str:
    """The readers' evidence about an answer in context, as words (each also joined with whether it kept the item)."""
    hits = matcher.index.span_hits(text)  # the names and hints found in the turn
    named = {hit.item for hit in hits}
    own = [hit for hit in hits if hit.item == result.item]
    words = [
        f"reason={result.reason}",
        "context_named" if kept in named else "context_unnamed",
        "context_candidate" if kept in {c.item for c in result.candidates} else "context_no_candidate",
        "answer_named" if own else "answer_unnamed",
        "answer_exact" if any(hit.exact for hit in own) else "answer_inexact",
        "answer_alias" if any(hit.alias for hit in own) else "answer_hint",
        "answer_done" if any(hit.context for hit in own) else "answer_asked",
        f"named={min(len(named), 3)}",
        f"candidates={min(len(result.candidates), 3)}",
        f"confidence={min(int(result.confidence * 20), 19)}",
        f"length={min(len(text) // 5, 6)}",
    ]
    decision = "kept" if result.item == kept else "other"
    return " ".join([decision, *words, *(f"{decision}&{word}" for word in words)])


def _folds(rows: list[Turn]) -> np.ndarray:
    return np.array([zlib.crc32(t.conversation.encode()) % FOLDS for t in rows])


def _out_of_fold(rows: list[Turn], labels: np.ndarray, evidence: bool) -> np.ndarray:
    """P(label), each turn predicted by a model trained on the other folds (n-grams, and the evidence if asked)."""
    folds = _folds(rows)
    texts = [t.text for t in rows]
    words = [t.evidence for t in rows]
    probability = np.zeros(len(rows))
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        grams = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        fitted = grams.fit_transform([texts[i] for i in train])
        tested = grams.transform([texts[i] for i in test])
        if evidence:
            kinds = TfidfVectorizer(analyzer=str.split, use_idf=False, norm=None)
            fitted = hstack([fitted, kinds.fit_transform([words[i] for i in train])]).tocsr()
            tested = hstack([tested, kinds.transform([words[i] for i in test])]).tocsr()
        model = LogisticRegression(C=1.0 if evidence else 4.0, max_iter=3000).fit(fitted, labels[train])
        probability[test] = model.predict_proba(tested)[:, 1]
    return probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=float, default=0.2, help="veto a kept item below this probability")
    parser.add_argument("--high", type=float, default=0.8, help="veto another item above this probability")
    parser.add_argument("--evidence", action="store_true", help="also a model of right answers from the evidence")
    args = parser.parse_args()
    matcher = Matcher.trained(load_knowledge(BUNDLED_KNOWLEDGE_PATH))
    every = turns(matcher, evidence=args.evidence)
    followed = [t for t in every if t.context_item is not None]
    means_kept = np.array([t.gold == t.context_item for t in followed])
    probability = _out_of_fold(followed, means_kept, evidence=False)
    matcher_kept = np.array([t.item == t.context_item for t in followed])
    untrained = np.array([not t.trained for t in followed])
    answered = [t for t in every if t.answered]
    wrong = [t for t in answered if not t.right]
    removed = lost = 0
    for turn, p in zip(followed, probability, strict=True):
        kept = turn.item == turn.context_item
        if turn.answered and ((kept and p < args.low) or (not kept and p > args.high)):
            removed += not turn.right
            lost += turn.right
    stale = [t for t in wrong if t.context_item is not None and t.item == t.context_item]
    stale = [t for t in stale if t.before is None or t.before.gold != t.context_item]
    misread_before = [t for t in stale if t.before is not None and not t.before.right]
    missed = [t for t in wrong if t.context_item is not None and t.item != t.context_item and t.gold == t.context_item]

    def agree(which: np.ndarray, decided: np.ndarray) -> str:
        return f"{np.mean(decided[which] == means_kept[which]):.1%}"

    everywhere = np.ones(len(followed), dtype=bool)
    print(
        f"{len(every):,} turns of the read dialogue sets ({len(followed):,} with a context item; {means_kept.mean():.1%} "
        f"mean it)\n"
        f"inherit or not ({FOLDS}-fold by conversation): the matcher {agree(everywhere, matcher_kept)}, the learned "
        f"model {agree(everywhere, probability > 0.5)}; on the {untrained.sum():,} of sets never trained on: the "
        f"matcher {agree(untrained, matcher_kept)}, the learned model {agree(untrained, probability > 0.5)}\n"
        f"wrong answers {len(wrong)} of {len(answered):,} answered ({len(wrong) / len(answered):.2%}): "
        f"{len(stale)} kept an item the turn before did not mean ({len(misread_before)} after a turn before read "
        f"wrong), {len(missed)} answered another item where the turn meant the context's\n"
        f"as a veto (p < {args.low} or > {args.high}): {removed} wrong removed, {lost} right lost -> "
        f"{(len(wrong) - removed) / (len(answered) - removed - lost):.2%}"
    )
    if args.evidence:
        with_context = [t for t in followed if t.answered]
        right = np.array([t.right for t in with_context])
        probability = _out_of_fold(with_context, right, evidence=True)
        for below in (0.3, 0.5, 0.7, 0.8):
            doubted = probability < below
            removed, lost = int((doubted & ~right).sum()), int((doubted & right).sum())
            print(
                f"with the evidence, handing off answers with p(right) < {below}: {removed} wrong removed, {lost} right "
                f"lost -> {(len(wrong) - removed) / (len(answered) - removed - lost):.2%}"
            )


if __name__ == "__main__":
    main()
