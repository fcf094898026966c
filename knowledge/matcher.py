"""Find the approval item a chat message asks about, what it asks, and what to do.

Signals, strongest first, each giving an item a score in 0-1:
- an alias or name of the item written in the message (longer aliases score higher);
- the same alias typed with homophone typos (same folded pinyin: 环平 → 环评);
- the item written in latin letters (EIA, shigong xuke, huanping);
- a hint phrase that points to the item without naming it (开工前最后一个证);
- a near-miss of a long alias (rapidfuzz partial ratio) and a close FAQ question.
A hit inside a longer hit of another item is dropped (「竣工验收备案」 is not 「备案」).
The action uses both the best score and its gap to the runner-up: answer when confident,
clarify between close candidates, hand off when unsure or out of scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from threading import Lock

from rapidfuzz import fuzz, process

from knowledge.intents import detect_intent
from knowledge.model import Faq, KnowledgeBase
from knowledge.normalize import has_cjk, normalize
from knowledge.pinyin import key_of, latin_pinyin

ACTIONS = ("answer", "clarify", "handoff", "smalltalk")

_LATIN_TOKEN = re.compile(r"[a-z]+")
_FILLER = re.compile(
    r"请问|麻烦|问一下|问下|打扰|您好|你好|老师|管家|小助手|机器人|各位|大家|一下|的|了|吗|呢|啊|呀|吧|哈|嘛|哦|噢|嗯|额|呃|么"
)


@dataclass(frozen=True)
class Thresholds:
    answer: float = 0.62
    clarify: float = 0.45
    min_gap: float = 0.12


@dataclass(frozen=True)
class Candidate:
    item: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    question: str
    normalized: str
    item: str | None
    intent: str
    action: str
    confidence: float
    candidates: tuple[Candidate, ...]
    reason: str
    faq: Faq | None = None
    learned: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "item": self.item,
            "intent": self.intent,
            "action": self.action,
            "confidence": round(self.confidence, 3),
            "candidates": [{"item": c.item, "score": round(c.score, 3)} for c in self.candidates],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _Phrase:
    text: str
    item: str
    base: float
    pinyin: str | None


@dataclass
class _Hit:
    item: str
    score: float
    start: int = -1
    end: int = -1
    exact: bool = False


@dataclass
class _FaqEntry:
    normalized: str
    item: str | None
    faq: Faq
    learned: bool = False


def _alias_score(length: int) -> float:
    return 0.80 + 0.04 * min(length, 5)


def _hint_score(length: int) -> float:
    return 0.64 + 0.02 * min(length, 7)


@dataclass
class _Index:
    phrases: list[_Phrase] = field(default_factory=list)
    fuzzy_texts: list[str] = field(default_factory=list)
    fuzzy_items: list[str] = field(default_factory=list)
    latin_short: dict[str, str] = field(default_factory=dict)
    latin_long: list[tuple[str, str]] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    smalltalk: list[str] = field(default_factory=list)


class Matcher:
    """Match questions against one knowledge base; safe to call from several threads."""

    def __init__(self, kb: KnowledgeBase, thresholds: Thresholds | None = None) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self._index = self._build(kb)
        self._faqs: list[_FaqEntry] = []
        self._faq_texts: list[str] = []
        self._lock = Lock()
        for item in kb.items.values():
            for faq in item.faq:
                self._add_faq(_FaqEntry(normalize(faq.q).replace(" ", ""), item.key, faq))
        for faq in kb.learned:
            self.add_learned(faq.q, faq.a, None)

    # -- index ----------------------------------------------------------------------
    @staticmethod
    def _build(kb: KnowledgeBase) -> _Index:
        index = _Index()
        seen: set[tuple[str, str]] = set()

        def add(text: str, item: str, base: float) -> None:
            compact = normalize(text).replace(" ", "")
            if not compact or (compact, item) in seen:
                return
            seen.add((compact, item))
            pinyin = None
            if has_cjk(compact) and len(compact) >= 2:
                pinyin = key_of(compact)[0]
            index.phrases.append(_Phrase(compact, item, base, pinyin))
            if has_cjk(compact) and len(compact) >= 5:
                index.fuzzy_texts.append(compact)
                index.fuzzy_items.append(item)
            if has_cjk(compact) and len(compact) >= 2 and base >= _alias_score(2):
                spelled = latin_pinyin(compact)
                if len(spelled) >= 6:
                    index.latin_long.append((spelled, item))

        for item in kb.items.values():
            for name in (item.name, item.short, *item.aliases):
                if name:
                    add(name, item.key, _alias_score(len(normalize(name).replace(" ", ""))))
            for hint in item.hints:
                add(hint, item.key, _hint_score(len(normalize(hint).replace(" ", ""))))
            for latin in item.latin:
                spelled = normalize(latin).replace(" ", "")
                if not spelled or has_cjk(spelled):
                    continue
                if len(spelled) <= 4:
                    index.latin_short[spelled] = item.key
                else:
                    index.latin_long.append((spelled, item.key))
        index.out_of_scope = [p for p in (normalize(t).replace(" ", "") for t in kb.out_of_scope) if p]
        index.smalltalk = sorted(
            {p for p in (normalize(t).replace(" ", "") for t in kb.smalltalk) if p}, key=len, reverse=True
        )
        return index

    def _add_faq(self, entry: _FaqEntry) -> None:
        if entry.normalized:
            self._faqs.append(entry)
            self._faq_texts.append(entry.normalized)

    def add_learned(self, question: str, answer: str, item: str | None) -> None:
        """Make a learned question/answer pair matchable at once, without a restart."""
        entry = _FaqEntry(normalize(question).replace(" ", ""), item, Faq(q=question, a=answer), learned=True)
        with self._lock:
            faqs = [*self._faqs, entry]
            texts = [*self._faq_texts, entry.normalized]
            self._faqs, self._faq_texts = faqs, texts  # swap whole lists: readers never see a half update

    # -- matching -------------------------------------------------------------------
    def match(self, question: str) -> MatchResult:
        """Return the item, intent, action and candidates for one question."""
        normalized = normalize(question or "")
        compact = normalized.replace(" ", "")
        intent = detect_intent(normalized)
        if not compact:
            return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "empty")

        hits = self._span_hits(compact) + self._latin_hits(normalized)
        hits = self._drop_contained(hits)
        has_exact = any(h.exact and h.score >= _alias_score(2) for h in hits)
        hits += self._fuzzy_hits(compact, {h.item for h in hits})
        faq_entry, faq_hit = self._faq_hit(compact)
        if faq_hit:
            hits.append(faq_hit)

        if any(p in compact for p in self._index.out_of_scope):
            hits = [h for h in hits if h.exact and h.score >= _alias_score(2)] if has_exact else []
            if not hits:
                return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")

        scores: dict[str, float] = {}
        first_seen: dict[str, int] = {}
        for hit in hits:
            if hit.score > scores.get(hit.item, 0.0):
                scores[hit.item] = hit.score
            if hit.start >= 0:
                first_seen[hit.item] = min(first_seen.get(hit.item, hit.start), hit.start)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], first_seen.get(kv[0], 10**6)))
        candidates = [Candidate(item, min(score, 1.0)) for item, score in ranked[:5]]

        if not candidates:
            if self._is_smalltalk(compact):
                return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "smalltalk")
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "no_match")

        top = candidates[0]
        gap = top.score - (candidates[1].score if len(candidates) > 1 else 0.0)
        faq = None
        learned = False
        if faq_entry is not None and (faq_entry.item in (None, top.item)) and faq_hit and faq_hit.score >= 0.85:
            faq, learned = faq_entry.faq, faq_entry.learned
        t = self.thresholds
        if top.score >= t.answer and gap >= t.min_gap:
            if intent == "status":
                return self._result(question, normalized, top.item, intent, "handoff", top.score, candidates, "status")
            return self._result(question, normalized, top.item, intent, "answer", top.score, candidates, "confident", faq, learned)
        if top.score >= t.clarify:
            close = [c for c in candidates if top.score - c.score < t.min_gap or c.score >= t.answer][:3]
            if len(close) >= 2:
                return self._result(question, normalized, top.item, intent, "clarify", top.score, close, "ambiguous")
        return self._result(question, normalized, None, intent, "handoff", top.score, candidates, "low_confidence")

    def _span_hits(self, compact: str) -> list[_Hit]:
        hits: list[_Hit] = []
        key, owners = key_of(compact) if has_cjk(compact) else ("", [])
        for phrase in self._index.phrases:
            start = compact.find(phrase.text)
            if start >= 0:
                hits.append(_Hit(phrase.item, phrase.base, start, start + len(phrase.text), exact=True))
                continue
            if phrase.pinyin and key:
                at = key.find(phrase.pinyin)
                if at >= 0:
                    begin = owners[at + 1]
                    end = owners[at + len(phrase.pinyin) - 1] + 1
                    hits.append(_Hit(phrase.item, phrase.base * 0.92, begin, end))
        return hits

    def _latin_hits(self, normalized: str) -> list[_Hit]:
        tokens = _LATIN_TOKEN.findall(normalized)
        if not tokens:
            return []
        hits = [_Hit(self._index.latin_short[t], 0.9) for t in tokens if t in self._index.latin_short]
        joined = "".join(tokens)
        hits += [_Hit(item, 0.9) for spelled, item in self._index.latin_long if spelled in joined]
        return hits

    @staticmethod
    def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
        spans = [h for h in hits if h.start >= 0]
        kept = []
        for hit in hits:
            inside = hit.start >= 0 and any(
                other.item != hit.item
                and other.start <= hit.start
                and hit.end <= other.end
                and (other.end - other.start) > (hit.end - hit.start)
                and other.score >= hit.score * 0.9
                for other in spans
            )
            if not inside:
                kept.append(hit)
        return kept

    def _fuzzy_hits(self, compact: str, already: set[str]) -> list[_Hit]:
        if not has_cjk(compact) or not self._index.fuzzy_texts:
            return []
        found = process.extract(
            compact[:200], self._index.fuzzy_texts, scorer=fuzz.partial_ratio, score_cutoff=84, limit=8
        )
        hits = []
        for _text, score, position in found:
            item = self._index.fuzzy_items[position]
            if item not in already:
                hits.append(_Hit(item, 0.55 + (score - 84) / 16 * 0.25))
        return hits

    def _faq_hit(self, compact: str) -> tuple[_FaqEntry | None, _Hit | None]:
        texts, faqs = self._faq_texts, self._faqs
        if not texts or len(compact) < 4:
            return None, None
        best = process.extractOne(compact[:200], texts, scorer=fuzz.ratio, score_cutoff=72)
        if best is None:
            return None, None
        entry = faqs[best[2]]
        if entry.item is None:
            return entry, None
        return entry, _Hit(entry.item, 0.45 + (best[1] - 72) / 28 * 0.5)

    def _is_smalltalk(self, compact: str) -> bool:
        rest = compact
        for phrase in self._index.smalltalk:
            rest = rest.replace(phrase, "")
        rest = _FILLER.sub("", rest)
        return len(rest) <= 1 and len(compact) <= 20

    @staticmethod
    def _result(
        question: str,
        normalized: str,
        item: str | None,
        intent: str,
        action: str,
        confidence: float,
        candidates: list[Candidate],
        reason: str,
        faq: Faq | None = None,
        learned: bool = False,
    ) -> MatchResult:
        return MatchResult(
            question=question,
            normalized=normalized,
            item=item,
            intent=intent,
            action=action,
            confidence=round(min(confidence, 1.0), 4),
            candidates=tuple(candidates),
            reason=reason,
            faq=faq,
            learned=learned,
        )
