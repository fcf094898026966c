"""What the matcher says of one message: its item, intent, action and candidates, and each ask of a message
that asks several things."""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.context import ASKED_WITHOUT_ITEM, Context
from knowledge.model import Faq

ACTIONS = ("answer", "clarify", "handoff", "smalltalk")

MAX_ASKS = 3


@dataclass(frozen=True)
class Ask:
    item: str
    intent: str


# Whether procedures run together: the parallel topic, asked how it goes.
RUN_TOGETHER = Ask("parallel", "process")


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
    asks: tuple[Ask, ...] = ()  # when the message asks several things: each (item, intent), in order
    context: bool = False  # a part (item or intent) came from the asker's previous question
    # The asker moved on to a matter of its own the knowledge base lacks (set by `FollowUpReader.in_context`): a follow-up
    # next continues that matter, so the earlier context is not borrowed.
    leaves_context: bool = False
    # Asked with its item missing and no earlier item to take (set by `FollowUpReader.in_context`): 「这个要多久」 with
    # nothing before it — a next message naming only an item (「环评」) completes it.
    wants_item: bool = False
    # The item was picked among those spoken of by its place (「第一个」「后面那个」, set by `FollowUpReader._by_ordinal`): the
    # conversation's items keep their order, so 「第二个呢」 next counts as 「第一个」 did.
    by_place: bool = False
    # A choice of two or more items (reason `ambiguous`) whose first item is written before its second (「环评和水保这俩
    # 现在到哪了」): the choice keeps its items by score, so this says which was written first — 「前面那个」 next is
    # the item written first, whichever was offered first.
    first_written_first: bool = False
    # The item model's probability that the message, read alone, is about no item (None: no model, or no text); the
    # follow-up readers weigh it without reading the model again.
    no_item: float | None = None
    # The item of the knowledge base the item model finds likeliest for the message read alone, whatever it thinks of
    # no item at all (None: no model); the follow-up readers weigh it without reading the model again.
    leans: str | None = None

    @property
    def keeps_context(self) -> bool:
        """Whether the conversation stays as it was before this message, kept anew (not left to expire sooner): a kept
        answer the doubt handed to a person (`Matcher._doubted`, reason `doubted_kept`)."""
        return self.reason == "doubted_kept"

    def shown_as_choice(self, *, private: bool) -> bool:
        """Whether the bot shows this result as a choice of items: a clarify, and in a private chat, where no person
        takes questions, also a follow-up the doubt handed off (its one candidate, the conversation's item)."""
        return self.action == "clarify" or (private and self.keeps_context and bool(self.candidates))

    def context_after(self) -> Context | None:
        """What a follow-up may borrow from this result: the item and intent answered (the last ask; of several
        items, the first), if any;
        after a message that asks only whether procedures run together (「环评和水保能同时报吗」), the parallel
        topic (「具体怎么操作」 next is about running them together)."""
        if self.wants_item:
            return Context(ASKED_WITHOUT_ITEM, self.intent)  # 「这个要多久」: its item may come next (「环评」)
        if self.action == "clarify" and self.item is not None and not self.asks and len(self.candidates) > 1:
            others = tuple(c.item for c in self.candidates[1:2] if c.item != self.item)
            # the second asked at once with the first, after it: the items in the order written (`Context.at_once`)
            # (said of `_match`'s choice between the items a message names, and of a choice offered again; a choice
            # made of another result — a switch doubted, 「人防是不是得先拿到图审」 after 环评 — keeps no such order)
            at_once = 1 if others and self.first_written_first and self.reason == "ambiguous" else 0
            return Context(self.item, self.intent, others, offered=bool(others), at_once=at_once)
        # a doubted answer (a choice of the earlier item, `Matcher._doubted`) keeps the conversation where it was
        if self.item is None or not (self.action == "answer" or self.reason in ("status", "request", "doubted")):
            return None
        if self.reason == "order":
            # 「图审过了才能报吗」 after 消防设计审查: the item named is asked, the earlier one answered beside it (its
            # order), not asked at once: the conversation goes on about the one named, the earlier one before it
            return Context(self.item, self.intent, tuple(a.item for a in self.asks[1:] if a.item != self.item))
        last = self.asks[-1] if self.asks else Ask(self.item, self.intent)
        at_once = len({a.item for a in self.asks}) > 1 and RUN_TOGETHER not in self.asks
        if at_once:
            # 「洪评和取水许可分别要多久」 then 「都是水利局办吗」「需要多少天」: the writers' follow-ups take the first
            # item asked about (the guard: 5 turns right that took the last, none wrong)
            last = self.asks[0]
        together = (
            self.reason == "several" and self.asks[0] == RUN_TOGETHER and all(a.intent == "process" for a in self.asks)
        )
        if together:
            last = RUN_TOGETHER
        # the other items asked about at once are the conversation's too (「这两个能一起报吗」 next names them), in the
        # order written (「第一个」 is the first; of a together question the first is the procedure a follow-up asks
        # of, 「多久」); asked otherwise (a clause asking something else beside the together one), the last first
        asked = self.asks if at_once or together else tuple(reversed(self.asks))
        # the mechanisms (running together, 容缺) are no procedure a later 「这俩」 points back to
        others = tuple(dict.fromkeys(a.item for a in asked if a.item not in (last.item, "parallel", "tolerance", None)))
        return Context(
            last.item,
            last.intent,
            others,
            together=together and bool(others),
            at_once=len(others) if at_once or together else 0,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "item": self.item,
            "intent": self.intent,
            "action": self.action,
            "confidence": round(self.confidence, 3),
            "candidates": [{"item": c.item, "score": round(c.score, 3)} for c in self.candidates],
            "reason": self.reason,
            "asks": [{"item": a.item, "intent": a.intent} for a in self.asks],
            "context": self.context,
        }


def taken_as(
    result: MatchResult,
    item: str,
    intent: str,
    *,
    action: str = "answer",
    reason: str = "context",
    asks: tuple[Ask, ...] = (),
) -> MatchResult:
    """`result` read in its conversation: `item` and `intent` decided by the earlier turn, not by the message's
    own evidence, so sure of them. (A FAQ or learned answer the message matched belongs to its own item: it goes
    when the item changes.)"""
    same = item == result.item
    return replace(
        result,
        item=item,
        intent=intent,
        action=action,
        reason=reason,
        context=True,
        asks=asks,
        candidates=(Candidate(item, 1.0),),
        confidence=1.0,
        faq=result.faq if same else None,
        learned=result.learned and same,
    )


def asked_of(result: MatchResult, item: str) -> MatchResult:
    """`taken_as` with what the message itself asks: a status question goes to the ledger or a steward."""
    if result.intent == "status":
        return taken_as(result, item, "status", action="handoff", reason="status")
    return taken_as(result, item, result.intent)
