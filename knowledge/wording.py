"""How chat messages word what they ask: the patterns and text helpers that reading a single message
(`knowledge.matcher`) and reading a follow-up (`knowledge.followup`) share."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from knowledge.intents import cue_book, read_cues

if TYPE_CHECKING:
    from knowledge.model_text import TextModel

PARTICLES = frozenset("吗呢吧啊呀嘛")  # sentence-final particles: no name typed by sound ends a message with one
# 「…那个呢」「…的呢」: the same question again, about something else
ELLIPSIS = re.compile(r"(那个|这个|的)?呢$|那个呢|那呢|呢[?？]?$")
# 「网上办还是窗口办」「是自治区批还是市里批」: a choice offered is asked, where a message asks several things.
# 还是 meaning "still" (「我还是第一次办」「还是得先做环评」) offers no choice.
ALTERNATIVE = re.compile(r"[^我你他她它们也都就]还是(?!要|得|想|会|不|没|第一次|先|在)(?=.)")


def asks_something(clause: str) -> bool:
    """Whether one clause of a message asks something (for reading several asks)."""
    return bool(cue_book().question_mark.search(clause) or ALTERNATIVE.search(clause))


def clause_intent(clause: str, model: TextModel | None, sure: float) -> str | None:
    """What one clause asks: the model's intent when its probability reaches `sure`, else the first strong cue's."""
    if model is not None:
        probs = model.intent_probabilities(clause)
        best = max(probs, key=probs.__getitem__)
        if probs[best] >= sure:
            return best
    found = read_cues(clause).first_strong
    return min(found, key=found.__getitem__) if found else None


# Asking whether several procedures can run together: the parallel topic.
TOGETHER_WORDS = (
    "一起|同时|并联|并连|同步|并行|一块|合并|(?<=[能以否])联合"  # 「可以联合验收吗」, not the name 联合验收
)
TOGETHER = re.compile(TOGETHER_WORDS)

# A clause asking the same of every item named before it: 「…分别找谁」「各需要多长时间」「都归水利吗」.
EACH = re.compile(r"分别|各自|各(?!位|种|类)|都(?!不|没|是)")

LATIN_TOKEN = re.compile(r"[a-z]+")

# Right after a procedure's name: what that procedure issues (「消防验收意见书」「可研批复」), a document another
# procedure asks for.
ISSUED_DOCUMENT = re.compile(r"(审批|审查)?(合格)?(意见书|意见|批复|批文|合格书|合格证|证明|凭证|合同|协议)")

# Procedures going ahead: 「能一起报不」「能同时弄不」「并着走」 (not 「纸质和电子版同时交」: a document question).
TOGETHER_IF = re.compile(f"({TOGETHER_WORDS}).{{0,3}}的话")  # 「一起审的话」「同时报的话」: if they run together
# 一并 and 并着 only before such a verb: 「材料一并提交吗」 is about documents
TOGETHER_GOES = re.compile(
    f"({TOGETHER_WORDS}|一并|并着)(报|办|走|弄|做|审|批|申请|推进|进行|跑|搞|整|约|验)|(合|放)(在|到)?一起"
)

SEVERAL_PROJECTS = re.compile(r"(两|几|多|俩|这些|那些)个?项目|一期|二期|三期|分期")

# Whether they may (「能一起报不」「可以同时办吗」「一起走行不」), not whether they are (「是不是跟着一起审」: how the item
# is handled, the item's process).
MAY = re.compile(r"能|可以|可不可以|行不|行吗|行不行|成不")


def occurrences(phrase: str, text: str) -> list[tuple[int, int]]:
    """The spans of every occurrence of `phrase` in `text`."""
    spans, at = [], text.find(phrase)
    while at >= 0:
        spans.append((at, at + len(phrase)))
        at = text.find(phrase, at + 1)
    return spans


def clause_starts(normalized: str) -> set[int]:
    """Where each clause begins in the text without spaces."""
    starts, at = set(), 0
    for clause in normalized.split(" "):
        if clause:
            starts.add(at)
            at += len(clause)
    return starts


def background_spans(normalized: str, *, done: bool = False) -> list[tuple[int, int]]:
    """The spans (in the text without spaces) of the clauses that ask nothing, when another clause asks;
    with `done`, only those that state something already done (「核准批复拿到了」)."""
    book = cue_book()
    spans, asking, at = [], False, 0
    for clause in normalized.split(" "):
        if not clause:
            continue
        if book.question_mark.search(clause):
            asking = True
        elif not done or book.done_clause.search(clause):
            spans.append((at, at + len(clause)))
        at += len(clause)
    return spans if asking else []


ASKING_END = re.compile(r"[嘛吗吧]$")  # 「要弄好久嘛」: a question by its last particle
PARTNER_MARKS = "和跟与同"  # 「A和B」「跟B」: B goes with A


def asks_by_form(clause: str) -> bool:
    """Whether a clause asks by its form: a question cue or a choice offered (`asks_something`), 「…呢」, or a question
    particle at the end (「要弄好久嘛」)."""
    return bool(asks_something(clause) or ELLIPSIS.search(clause) or ASKING_END.search(clause))
