"""Intent cues: phrases that point to what a question asks, read from `training/intent_cues.yaml`.

The cues are features of the learned intent model (`knowledge/model_text.py`): which cues a question
contains, and the intent of the first one (the first thing asked). `classify_intent` is the plain rule
reading of the same cues (the first specific cue wins), kept as the rule baseline of the benchmark and
as the model's fallback when no model is given.
"""

from __future__ import annotations

import re
import re._constants as _c  # type: ignore[import-not-found]  # `re`'s parser (`_guarded`): no public name, no stubs
import re._parser as _parser  # type: ignore[import-not-found]
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

INTENTS = ("materials", "department", "time_limit", "process", "fee", "tolerance", "status", "other")
CUES_PATH = Path(__file__).resolve().parent / "training" / "intent_cues.yaml"
# libyaml's parser when PyYAML was built with it (about ten times faster on the cue file, the same data).
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Cue:
    intent: str
    source: str  # the regular expression
    example: str
    strong: bool
    latin: bool = False  # matched on the text with its spaces, whole words only

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled when first used: questions are read with the joined patterns (`CueBook.joined`), so the
        single cues' patterns are compiled only by the tests (compiling all of them at start-up cost ~0.1 s)."""
        return re.compile(self.source)


_LATIN_CUE = re.compile(r"[a-z ?]+")
_HAS_LATIN = re.compile(r"[a-z]")  # a latin cue matches latin words only (the text is lower-cased)


def _regex(cue: str) -> str:
    # A latin cue matches whole latin words only: 「seminar上讲的环评」 is not a question about 'mina'.
    if _LATIN_CUE.fullmatch(cue):
        return rf"(?<![a-z]){cue}(?![a-z])"
    return cue


@dataclass(frozen=True)
class CueBook:
    cues: tuple[Cue, ...]
    go_ahead: re.Pattern[str]
    context_clause: re.Pattern[str]
    question_mark: re.Pattern[str]
    done_clause: re.Pattern[str]  # a clause stating something already done (「节能审查上个月已经批复了」)
    steward_request: re.Pattern[str]  # a clause asking the steward to act (「麻烦管家帮着催催」)
    examples: dict[str, str]  # the example question of go_ahead / context_clause / question_mark
    # The cues of one (tier, intent, kind) joined into one alternation: the first hit of any is found by one
    # search, where a search per cue costs ~0.5 ms a question. A cue with a backreference stays alone.
    joined: tuple[Cue, ...] = ()

    @cached_property
    def scan(self) -> tuple[tuple[Callable[[str], re.Match[str] | None], re.Pattern[str], str, bool, bool], ...]:
        """`joined` as `read_cues` reads it: each pattern's bound search, the pattern, its intent, tier and kind."""
        return tuple((c.pattern.search, c.pattern, c.intent, c.strong, c.latin) for c in self.joined)


def _guarded(source: str) -> str:
    """`source` behind a lookahead for the characters a match of it can start with, when `re` cannot see them itself.

    `re` skips the places a match cannot start only when every alternative starts with a plain character; a joined
    pattern has alternatives that start with a group (「(什么|啥)时候」) or a look-behind, so it tries every alternative
    at every character. The look-ahead rejects most places with one test: reading the cues of the ~13,000 training
    questions (a cold start does) took 0.38 s of CPU, 0.22 s with it. The same matches (tests/test_intent_cues.py
    compares them in every training text)."""
    try:
        tree = _parser.parse(source)
    except (re.error, AttributeError, TypeError, ValueError):  # a private parser: its shape may change
        return source
    first = tree.data[0] if tree.data else None
    if tree.state.flags & ~re.UNICODE or first is None or first[0] in (_c.LITERAL, _c.IN):
        return source  # inline flags, or a prefix `re` finds itself
    if first[0] is _c.BRANCH and all(alt.data and alt.data[0][0] is _c.LITERAL for alt in first[1][1]):
        return source
    ranges, can_be_empty = _starts(tree.data)
    if ranges is None or can_be_empty:
        return source  # a match may start with any character, or anywhere
    chars = "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "") for low, high in sorted(ranges)
    )
    return f"(?=[{chars}])(?:{source})"


def _starts(items: Sequence[tuple[Any, Any]]) -> tuple[set[tuple[int, int]] | None, bool]:
    """The characters (as code point ranges) a match of the parsed pattern `items` can start with, or None when any
    may (or the pattern is one this does not read), and whether it can match the empty string. More characters than
    can start a match is harmless (the look-ahead is only a filter); fewer is not."""
    ranges: set[tuple[int, int]] = set()
    for op, arg in items:
        if op in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
            continue  # reads no character
        if op is _c.LITERAL:
            return ranges | {(arg, arg)}, False
        if op is _c.IN:
            for kind, value in arg:
                if kind is _c.LITERAL:
                    ranges.add((value, value))
                elif kind is _c.RANGE:
                    ranges.add(value)
                else:
                    return None, False  # a negated set, a category (\d, \w): any character
            return ranges, False
        if op is _c.SUBPATTERN and not arg[1] and not arg[2]:  # a group without flags of its own
            inner, empty = _starts(arg[3].data)
        elif op is _c.BRANCH:
            inner, empty = set(), False
            for alternative in arg[1]:
                found, alternative_empty = _starts(alternative.data)
                if found is None:
                    return None, False
                inner |= found
                empty = empty or alternative_empty
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            inner, empty = _starts(arg[2].data)
            empty = empty or arg[0] == 0
        else:
            return None, False  # any character (.), a backreference, a conditional: not read
        if inner is None:
            return None, False
        ranges |= inner
        if not empty:
            return ranges, False
    return ranges, True


@cache
def cue_book(path: Path = CUES_PATH) -> CueBook:
    """Read the cue file once."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # a safe loader (YAML_LOADER)
    cues = [
        Cue(intent, _regex(entry["cue"]), entry["example"], tier == "strong", bool(_LATIN_CUE.fullmatch(entry["cue"])))
        for tier in ("strong", "weak")
        for intent, entries in (data.get(tier) or {}).items()
        for entry in entries
    ]
    groups: dict[tuple[str, bool, bool], list[str]] = {}
    joined = [c for c in cues if re.search(r"\\\d", c.source)]
    for cue in cues:
        if cue not in joined:
            groups.setdefault((cue.intent, cue.strong, cue.latin), []).append(cue.source)
    joined += [
        Cue(intent, _guarded("|".join(f"(?:{p})" for p in patterns)), "", strong, latin)
        for (intent, strong, latin), patterns in groups.items()
    ]
    return CueBook(
        joined=tuple(joined),
        cues=tuple(cues),
        go_ahead=re.compile(data["go_ahead"]["cue"]),
        context_clause=re.compile(data["context_clause"]["cue"]),
        question_mark=re.compile(data["question_mark"]["cue"]),
        done_clause=re.compile(data["done_clause"]["cue"]),
        steward_request=re.compile(data["steward_request"]["cue"]),
        examples={
            k: data[k]["example"]
            for k in ("go_ahead", "context_clause", "question_mark", "done_clause", "steward_request")
        },
    )


def _first_outside(pattern: re.Pattern[str], text: str, ignore: Sequence[tuple[int, int]]) -> int:
    """Return where the pattern first matches outside the ignored spans (item names), or -1."""
    if not ignore:
        first = pattern.search(text)
        return first.start() if first else -1
    for found in pattern.finditer(text):
        if not any(a <= found.start() and found.end() <= b for a, b in ignore):
            return found.start()
    return -1


def _focus(normalized: str) -> str:
    """Blank out context clauses (「我们是…新材料企业」) so their words are not read as cues.

    Works on the spaceless text so spans stay aligned with the matcher's.
    """
    if " " not in normalized:
        return normalized  # one clause, kept whether it reads as context or not (half of the training questions)
    book = cue_book()
    clauses = normalized.split(" ")
    context = [bool(book.context_clause.search(c)) and not book.question_mark.search(c) for c in clauses]
    if all(context):
        return normalized.replace(" ", "")
    return "".join("#" * len(c) if ctx else c for c, ctx in zip(clauses, context, strict=True))


@dataclass(frozen=True)
class CueReading:
    """The cues found in one question: each cue's position (first hit), by intent and tier."""

    first_strong: dict[str, int]
    first_weak: dict[str, int]
    go_ahead: bool

    def rule_intent(self) -> tuple[str, bool]:
        """The first specific cue wins; generic ones count only when there is none."""
        for strong, found in ((True, self.first_strong), (False, self.first_weak)):
            if found:
                intent = min(found, key=lambda i: (found[i], _TIE_ORDER.index(i)))
                if intent in ("status", "materials") and self.go_ahead:
                    return "tolerance", strong
                return intent, strong
        return "other", False

    def features(self) -> list[str]:
        """Feature names for the model: cues present, the first cue's intent, go-ahead."""
        names = [f"cue:{i}" for i in self.first_strong] + [f"weak:{i}" for i in self.first_weak]
        intent, strong = self.rule_intent()
        names.append(f"first:{intent}:{'strong' if strong else 'weak'}")
        if self.go_ahead:
            names.append("go_ahead")
        return names


# Two cues at one position: the more specific intent wins.
_TIE_ORDER = ("status", "tolerance", "materials", "fee", "time_limit", "department", "process", "other")


def read_cues(normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> CueReading:
    """Find the cues of a normalised question outside the item-name spans in `ignore`."""
    if not normalized.strip():
        return CueReading({}, {}, False)
    book = cue_book()
    text = _focus(normalized)
    strong: dict[str, int] = {}
    weak: dict[str, int] = {}
    latin = _HAS_LATIN.search(normalized) is not None
    # The loop a cold start-up runs for each of ~33,000 training questions: searches bound once (`CueBook.scan`),
    # the common case (no item names to skip) searched inline.
    for search, pattern, intent, is_strong, is_latin in book.scan:
        if is_latin:
            if not latin:
                continue  # most questions have no latin letter, and these patterns are slow to scan
            found = search(normalized)
            if found is None:
                continue
            at = found.start() - normalized.count(" ", 0, found.start())
        elif ignore:
            at = _first_outside(pattern, text, ignore)
            if at < 0:
                continue
        else:
            found = search(text)
            if found is None:
                continue
            at = found.start()
        target = strong if is_strong else weak
        if at < target.get(intent, 10**6):
            target[intent] = at
    return CueReading(strong, weak, _first_outside(book.go_ahead, text, ignore) >= 0)


def classify_intent(normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> tuple[str, bool]:
    """Return the rule intent and whether a specific (not merely generic) cue decided it."""
    return read_cues(normalized, ignore).rule_intent()


def detect_intent(normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> str:
    """Return the rule intent of a normalised question (one of INTENTS)."""
    return classify_intent(normalized, ignore)[0]
