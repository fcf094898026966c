"""The two baselines the matcher is measured against.

- rapidfuzz `process.extractOne` over every item name, alias and FAQ question;
- BM25 (rank-bm25) over jieba tokens of the same texts.
Both take the best-scoring item when its score clears a cut-off and hand off otherwise;
intent comes from the steward's own intent detector so that only item matching differs.
"""

from __future__ import annotations

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

from knowledge.evaluation import Prediction
from knowledge.intents import detect_intent
from knowledge.model import KnowledgeBase
from knowledge.normalize import normalize


def _documents(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    texts, owners = [], []
    for item in kb.items.values():
        for text in (item.name, item.short, *item.aliases, *(f.q for f in item.faq)):
            norm = normalize(text)
            if norm:
                texts.append(norm)
                owners.append(item.key)
    return texts, owners


class FuzzBaseline:
    name = "rapidfuzz extractOne"

    def __init__(self, kb: KnowledgeBase, cutoff: float = 60) -> None:
        self.texts, self.owners = _documents(kb)
        self.cutoff = cutoff

    def predict(self, question: str) -> Prediction:
        norm = normalize(question)
        best = process.extractOne(norm, self.texts, scorer=fuzz.WRatio) if norm else None
        intent = detect_intent(norm)
        if best is None or best[1] < self.cutoff:
            return Prediction(None, intent, "handoff")
        return Prediction(self.owners[best[2]], intent, "answer")


class Bm25Baseline:
    name = "BM25 over jieba tokens"

    def __init__(self, kb: KnowledgeBase, cutoff: float = 3.0) -> None:
        jieba.setLogLevel(60)
        texts, self.owners = _documents(kb)
        self.bm25 = BM25Okapi([self._tokens(t) for t in texts])
        self.cutoff = cutoff

    @staticmethod
    def _tokens(text: str) -> list[str]:
        return [t for t in jieba.lcut(text) if t.strip()]

    def predict(self, question: str) -> Prediction:
        norm = normalize(question)
        intent = detect_intent(norm)
        tokens = self._tokens(norm)
        if not tokens:
            return Prediction(None, intent, "handoff")
        scores = self.bm25.get_scores(tokens)
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] < self.cutoff:
            return Prediction(None, intent, "handoff")
        return Prediction(self.owners[best], intent, "answer")
