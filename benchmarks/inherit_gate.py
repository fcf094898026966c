"""Would a learned "inherit or not" decision beat the matcher's follow-up readers? Measured on the read dialogue sets.

Runs the matcher over every dialogue file in tests/data except the judges (in context, as `steward eval` does),
then, 5-fold by conversation:
1. trains a logistic regression on the turn's character 1-3-grams to say whether the turn means the item of the
   asker's context (the item the matcher keeps for the asker), and compares its accuracy with the matcher's;
2. uses it as a veto on answered turns: a turn that kept the context's item is handed off when the model says
   "not that item" (p < low), one that answered another item when it says "that item" (p > high), and counts the
   wrong answers removed against the right ones lost;
3. with `--evidence`, also trains a second model on every answered turn with a context item, to say whether the
   answer is right, from the turn's n-grams and the readers' evidence: whether it kept the context's item, the
   reason, which items the turn names (and how: exactly, as a name, as done), whether the context's item is named
   or among the candidates, the confidence; and hands off the answers it doubts most.

    .venv/bin/python -m benchmarks.inherit_gate [--evidence]
"""

from __future__ import annotations

import argparse
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.context import ASKED_WITHOUT_ITEM, MemoryContexts
from knowledge.evaluation import load_labelled
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, MatchResult

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
JUDGES = tuple(f"blind{n}_dialogues.jsonl" for n in range(30, 36))  # unseen judges: never read here
FOLDS = 5


@dataclass(frozen=True)
class Turn:
    conversation: str
    text: str
    gold: str | None
    context_item: str | None
    item: str | None
    answered: bool
    right: bool  # the answer's item is the labelled one (as `steward eval` counts)
    evidence: str  # the readers' evidence, as words (`--evidence`)


def turns(matcher: Matcher) -> list[Turn]:
    found = []
    for path in sorted(DATA.glob("*_dialogues.jsonl")):
        if path.name in JUDGES:
            continue
        contexts = MemoryContexts()
        for case in load_labelled(path):
            asker = (case.chat or 0, case.user or 0)
            context = contexts.recall(*asker)
            result = matcher.match(case.q, context)
            contexts.follow(*asker, result)
            asks = {a.item for a in result.asks}
            answered = result.action == "answer"
            right = result.item == case.item or (answered and case.item is not None and case.item in asks)
            kept = context.item if context is not None and context.item != ASKED_WITHOUT_ITEM else None
            found.append(
                Turn(
                    f"{path.name}:{case.dialogue}",
                    result.normalized.replace(" ", ""),
                    case.item,
                    kept,
                    result.item,
                    answered,
                    right,
                    _evidence(matcher, result.normalized.replace(" ", ""), result, kept),
                )
            )
    return found


def _evidence(matcher: Matcher, text: str, result: MatchResult, kept: str | None) -> str:
    """The readers' evidence about an answer in context, as words (each also joined with whether it kept the item)."""
    hits = matcher._span_hits(text)  # the names and hints found in the turn
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


def _doubted(followed: list[Turn], folds: np.ndarray) -> np.ndarray:
    """P(the answer is right), 5-fold by conversation, from the n-grams and the readers' evidence."""
    right = np.array([t.right for t in followed])
    probability = np.zeros(len(followed))
    texts = [t.text for t in followed]
    evidence = [t.evidence for t in followed]
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        grams = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        words = TfidfVectorizer(analyzer=str.split, use_idf=False, norm=None)
        fitted = hstack(
            [grams.fit_transform([texts[i] for i in train]), words.fit_transform([evidence[i] for i in train])]
        ).tocsr()
        tested = hstack(
            [grams.transform([texts[i] for i in test]), words.transform([evidence[i] for i in test])]
        ).tocsr()
        model = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
        model.fit(fitted, right[train])
        probability[test] = model.predict_proba(tested)[:, 1]
    return probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=float, default=0.2, help="veto a kept item below this probability")
    parser.add_argument("--high", type=float, default=0.8, help="veto another item above this probability")
    parser.add_argument("--evidence", action="store_true", help="also a model of right answers from the evidence")
    args = parser.parse_args()
    matcher = Matcher.trained(load_knowledge(BUNDLED_KNOWLEDGE_PATH))
    every = turns(matcher)
    followed = [t for t in every if t.context_item is not None]
    means_kept = np.array([t.gold == t.context_item for t in followed])
    folds = np.array([zlib.crc32(t.conversation.encode()) % FOLDS for t in followed])
    probability = np.zeros(len(followed))
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        model = LogisticRegression(C=4.0, max_iter=3000)
        model.fit(vectorizer.fit_transform([followed[i].text for i in train]), means_kept[train])
        probability[test] = model.predict_proba(vectorizer.transform([followed[i].text for i in test]))[:, 1]
    matcher_kept = np.array([t.item == t.context_item for t in followed])
    answered = [t for t in every if t.answered]
    wrong = sum(not t.right for t in answered)
    removed = lost = 0
    for turn, p in zip(followed, probability, strict=True):
        if turn.answered and (
            (turn.item == turn.context_item and p < args.low) or (turn.item != turn.context_item and p > args.high)
        ):
            removed += not turn.right
            lost += turn.right
    print(
        f"{len(every):,} turns of the read dialogue sets ({len(followed):,} with a context item; {means_kept.mean():.1%} "
        f"mean it)\n"
        f"inherit or not: the matcher {np.mean(matcher_kept == means_kept):.1%}, the learned model "
        f"{np.mean((probability > 0.5) == means_kept):.1%} ({FOLDS}-fold by conversation)\n"
        f"wrong answers {wrong} of {len(answered):,} answered ({wrong / len(answered):.2%}); as a veto (p < {args.low} "
        f"or > {args.high}): {removed} wrong removed, {lost} right lost -> "
        f"{(wrong - removed) / (len(answered) - removed - lost):.2%}"
    )
    if args.evidence:
        with_context = [t for t in followed if t.answered]
        folds = np.array([zlib.crc32(t.conversation.encode()) % FOLDS for t in with_context])
        probability = _doubted(with_context, folds)
        right = np.array([t.right for t in with_context])
        for below in (0.05, 0.1, 0.2, 0.3, 0.5):
            doubted = probability < below
            removed, lost = int((doubted & ~right).sum()), int((doubted & right).sum())
            print(
                f"with the evidence, handing off answers with p(right) < {below}: {removed} wrong removed, {lost} right "
                f"lost -> {(wrong - removed) / (len(answered) - removed - lost):.2%}"
            )


if __name__ == "__main__":
    main()
