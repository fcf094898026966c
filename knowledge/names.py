"""Where a message names the knowledge base's items: the phrase index (names, hints, combinations, latin
spellings, departments, material names) and the hits it finds, also typed by sound or with a stray character; with
the knowledge base's other phrases (out of scope, small talk), which the matcher reads against the same message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from knowledge.model import KnowledgeBase
from knowledge.normalize import compact as compact_text
from knowledge.normalize import has_cjk
from knowledge.pinyin import is_word, key_of, latin_pinyin, syllable
from knowledge.scoring import EVIDENCE
from knowledge.wording import ISSUED_DOCUMENT, LATIN_TOKEN, PARTICLES, background_spans, clause_starts, occurrences

DOCUMENT_GRAM = 4  # characters a message shares with a material's name to name that document

# Question words begin no name of the knowledge base: a sound-alike starting with one is what it says.
_INTERROGATIVES = frozenset("谁哪啥咋怎")
# A short name written across two words, none of it meant: 「开工可以吗」 holds 工可 (可研's trade name) as the end
# of 开工 and the start of 可以, 「施工规范」 holds 工规, 「土地利用规划」 用规. The characters before such a name that
# make its first one the end of a word.
_ACROSS_WORDS_AFTER = {"工可": frozenset("开施动完复停竣"), "工规": frozenset("施竣"), "用规": frozenset("利使")}
# A point in time after a name (「竣工以后」): `_CONTEXT_AFTER`'s, and inside a name put together (`discount_context`).
_POINT_IN_TIME = re.compile(r"之后|以后|后|之前|以前|前")
# After an item's name: it is already done or only a point in time, not what is asked.
_CONTEXT_AFTER = re.compile(
    r"((?:(?!报告|方案|材料|资料|意见|文件).){0,6}?(已经|已|也|都|早就|早)|批复|批文|意见书|合格书|合格证)?(批|办|拿|做|审|搞定|完成|签|交|缴|付|过|弄|编)(完|好|了|下来了|过|到|清)(?!了?[没吗么呢哪])"
    rf"|({_POINT_IN_TIME.pattern})(?!置)|阶段|完了|完(?=是不是|就|以后|之后|后|再|才|那个(?!意见|合格|批复|批文|证|报告|结果))|批复后|批了(?![没吗么])|了(?=之后|以后)|(已经)?有了(?=$|还|就|接下来|下一步|那|然后)|(证|批复|批文|意见书|意见)?(已经)?下来了(?![没吗么呢])|批?下来(?=后|以后|之后|就|想|再)|都卡着|卡着|卡住"
    r"|(批复|报告|意见|材料)?(后补|再补|后面再补|回头再?补)(?![办签发领录缴交])"  # 「建议书批复后补」: handed in later,
    # missing now — not 补办/补签, a paper issued again
)

PUT_TOGETHER_GAP = 10  # characters between two words of a name put together (「出让金后登记中心发的那个证」)

# After an item's name: it is not obtained yet (「人防意见还没拿到，工规证能先受理吗」): the missing precondition of
# what is asked, when the message asks about another item or follows one.
_NOT_YET_AFTER = re.compile(
    r"(意见|批复|批文|手续|证|报告|方案)?(还没有|还没|没有|没|尚未|还未|未)(拿到|取得|下来|出来|批下来|批复|批|办下来|办好|办完|定稿)"
)

# Before an item's name: it is excluded, already under way or handed in later (「能先核准后补林地的吗」), not what is
# asked.
CONTEXT_BEFORE = re.compile(
    r"(不涉及|不需要|不用|不属于|不是|无需|不做|没有涉及|正在做|在做|正在办|在办|已取得|已经取得|取得了|拿到了|已经拿到|已拿到"
    r"|等着(办|拿|要|用|开|领)|后补|再补)$"  # 「多久能审完 我们等着办施工证」: what the asker waits to do next, not what is asked
)
# Around an item's name: what another procedure waits for until it is done (「初设是不是得等可研批了才能报」「得等消防验收完
# 吧」) — not how long the asker waits for it (「还要等施工许可证多久」「得等消防验收多少天」).
_WAITED_FOR_BEFORE = re.compile(r"(?<![不用必需])(?:得|要|需要|必须|还得|先)等到?$")
_DONE_BY_THEN_AFTER = re.compile(r"[^ ，。？?]{0,4}?(?:完|批|下来|出来|办好|过了|拿到)")
# Before an item's name: what the asker would rather not wait for (「这两个是不是可以一起跑 不用等图审完」) — unless
# what they ask is to start works before it (「不用等环评批复 可以先开工吗」 is that item's question).
_NOT_WAITED_FOR = re.compile(r"(?:不用|不必|无需|不)等$")
_WORKS_AHEAD = re.compile(r"先(?:开工|施工|动工|干|建|动土)")
# Between another item and this one: what the other is measured against (「概算超了可研估算10%咋办」), not what is asked.
_EXCEEDS = re.compile(r"(?:超了|超过了?|超出了?|超)$")
_NAME_FILLER = re.compile(r"那个|这个")  # said between the parts of a name (`PhraseIndex.split_hits`)
# The asker takes back what they said (「工程规划 不对 是用地的规划证」「压覆矿产 不对 我问错了 是地质灾害那个」「施工许可 哦不是
# 施工图审查」), often when dictating: a name before it is withdrawn when another follows. Not 「对不对」 or 「品名不对」
# (nothing is said instead).
_TAKEN_BACK = re.compile(
    r"(?<![对得])(?:不对|说错了|问错了|打错了|写错了|搞错了|口误)(?:了|不对|我?问错了|我?说错了)*(?:应该)?是(?!不是|否)"
    r"|哦不是|啊不是"
)
_ASKING_PARTICLE = re.compile(r"[吗嘛么]$")  # 「要得吗」「中中嘛」: asked, no small talk
# One character that is a word asking something on its own (「钱」 after a question: what it costs), not a stray one
_ONE_CHARACTER_ASKS = frozenset("钱")
_FILLER = re.compile(
    r"请问|麻烦|问一下|问下|打扰|您好|你好|老师|管家|小助手|机器人|各位|大家|一下|的|了|吗|呢|啊|呀|吧|哈|嘛|哦|噢|嗯|额|呃|么"
)


@lru_cache(maxsize=4096)  # bounded: a knowledge base reloaded with other names leaves its old phrases behind
def _gapped(text: str) -> re.Pattern[str]:
    """A pattern of the phrase with at most one stray character between any two of its characters."""
    return re.compile(".?".join(re.escape(ch) for ch in text))


def _written_at(name: str, text: str) -> int:
    """Where `text` first holds `name` as a name, not across two words (`_ACROSS_WORDS_AFTER`); -1 if nowhere."""
    start = text.find(name)
    before = _ACROSS_WORDS_AFTER.get(name)
    while before and start > 0 and text[start - 1] in before:
        start = text.find(name, start + 1)
    return start


@dataclass(frozen=True)
class Phrase:
    text: str
    item: str
    base: float
    pinyin: str | None
    kind: str = "alias"  # "alias" (a name of the item) or "hint" (points to it without naming it)
    # with one stray character allowed between its characters (phrases of 4+ characters): compiled when first
    # read (`_gapped`): compiling all ~600 at start-up cost ~0.07 s, and a question reads only the few phrases
    # whose first character it holds
    gapped: bool = False


@dataclass
class Hit:
    item: str
    score: float
    start: int = -1
    end: int = -1
    exact: bool = False  # the phrase itself is in the text (its span can hide intent cues)
    named: bool = False  # the item is named outright, possibly with a typo or in latin letters
    context: bool = False  # named as done, excluded or under way (「可研批完后」): not what is asked
    covers: tuple[tuple[int, int], ...] = ()  # combo hits: the spans of their parts
    alias: bool = False  # a name of the item, also typed by sound or with a stray character


def waited_for(compact: str, start: int, end: int) -> bool:
    """Whether the name at `start`–`end` is what another procedure waits for until it is done (「初设得等可研批了才能报」
    「得等消防验收完吧」), not what is asked."""
    return (
        _WAITED_FOR_BEFORE.search(compact, 0, start) is not None and _DONE_BY_THEN_AFTER.match(compact, end) is not None
    )


def name_span(hits: list[Hit]) -> tuple[int, int]:
    """Where the first of these names is written: its start, and the end of the longest one starting there
    (「用地预审」 over 「预审」)."""
    start = min(h.start for h in hits)
    return start, max(h.end for h in hits if h.start == start)


def _alias_score(length: int) -> float:
    e = EVIDENCE
    return e.alias_base + e.alias_per_char * min(length, e.alias_max_chars)


def _hint_score(length: int) -> float:
    e = EVIDENCE
    return e.hint_base + e.hint_per_char * min(length, e.hint_max_chars)


@dataclass
class PhraseIndex:
    """The knowledge base's phrases, indexed to find in a message; `build` makes it."""

    kb: KnowledgeBase
    offer_from: float  # a hit this strong names an item strongly enough to offer it (the clarify threshold)
    phrases: list[Phrase] = field(default_factory=list)
    # Every way a phrase matches (the text, its pinyin key, the gapped pattern) starts with its
    # first character or that character's syllable: a message is checked against only the
    # phrases starting with one of its own (709 phrases, a handful of them), in index order.
    by_first_char: dict[str, list[int]] = field(default_factory=dict)
    by_first_syllable: dict[str, list[int]] = field(default_factory=dict)
    fuzzy_texts: list[str] = field(default_factory=list)
    fuzzy_items: list[str] = field(default_factory=list)
    # A fuzzy text sharing no character with the message scores 0 (below any cut-off): only the
    # others are scored.
    fuzzy_by_char: dict[str, list[int]] = field(default_factory=dict)
    combos: list[tuple[tuple[str, ...], str, float]] = field(default_factory=list)
    departments: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    latin_short: dict[str, str] = field(default_factory=dict)
    latin_long: list[tuple[str, str]] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    # per phrase out of scope, the longer names of items that hold it (「原产地签证」 holds 签证): written there, it is
    # part of the name, not the matter out of scope
    out_of_scope_within: dict[str, tuple[str, ...]] = field(default_factory=dict)
    always_out_of_scope: list[str] = field(default_factory=list)
    smalltalk: list[str] = field(default_factory=list)
    smalltalk_alone: tuple[str, ...] = ()  # compact, fillers removed: small talk as the whole message only
    # Per item, the four-character runs of its material names: a message sharing one names a document
    # the item asks for (「营业执照副本要原件吗」, 「契税完税证明必须带吗」).
    material_grams: dict[str, frozenset[str]] = field(default_factory=dict)
    department_words: frozenset[str] = frozenset()  # every name and alias of a department (发改, 自然资源局)
    # the last message `names_read` read, and its hits (one tuple, swapped whole: safe across threads)
    _last_read: tuple[str, tuple[Hit, ...]] = field(default=("", ()), repr=False, compare=False)

    @classmethod
    def build(cls, kb: KnowledgeBase, offer_from: float) -> PhraseIndex:
        """Index every name, hint, combination, latin spelling, department name and material name of `kb`."""
        index = cls(kb, offer_from)
        seen: set[tuple[str, str]] = set()

        def add(text: str, item: str, base: float, *, alias: bool) -> None:
            text_c = compact_text(text)
            if not text_c or (text_c, item) in seen:
                return
            seen.add((text_c, item))
            cjk = has_cjk(text_c)
            # Homophone matching for names of 2+ characters and hints of 3+ (a 2-character hint typed
            # by sound matches too much: 有煤 sounds like 有没).
            pinyin = key_of(text_c)[0] if cjk and len(text_c) >= (2 if alias else 3) else None
            gapped = cjk and len(text_c) >= 4
            index.by_first_char.setdefault(text_c[0], []).append(len(index.phrases))
            if pinyin is not None:
                index.by_first_syllable.setdefault(syllable(text_c[0]), []).append(len(index.phrases))
            index.phrases.append(Phrase(text_c, item, base, pinyin, "alias" if alias else "hint", gapped))
            if cjk and alias and len(text_c) >= 4:
                for char in set(text_c):
                    index.fuzzy_by_char.setdefault(char, []).append(len(index.fuzzy_texts))
                index.fuzzy_texts.append(text_c)
                index.fuzzy_items.append(item)
            if cjk and alias:
                spelled = latin_pinyin(text_c)
                if len(spelled) >= 5:
                    index.latin_long.append((spelled, item))

        item_names: set[str] = set()  # every item's names, compact (for the phrases out of scope within them, below)
        for item in kb.items.values():
            for name in (item.name, item.short, *item.aliases):
                if name:
                    item_names.add(compact_text(name))
                    add(name, item.key, _alias_score(len(compact_text(name))), alias=True)
            for hint in item.hints:
                if "+" in hint:  # every part somewhere in the message: 消防+验收
                    parts = tuple(p for p in (compact_text(x) for x in hint.split("+")) if p)
                    index.combos.append((parts, item.key, _alias_score(sum(map(len, parts)))))
                else:
                    add(hint, item.key, _hint_score(len(compact_text(hint))), alias=False)
            for latin in item.latin:
                spelled = compact_text(latin)
                if not spelled or has_cjk(spelled):
                    continue
                if len(spelled) <= 4:
                    index.latin_short[spelled] = item.key
                else:
                    index.latin_long.append((spelled, item.key))
        by_department: dict[str, list[str]] = {}
        for item in kb.items.values():
            if item.kind == "item" and item.department:
                by_department.setdefault(item.department, []).append(item.key)
        for dept in kb.departments.values():
            names = {compact_text(n) for n in (dept.name, *dept.aliases)}
            for name in names:
                if len(name) >= 3:
                    index.departments.append((name, tuple(by_department.get(dept.key, ()))))
        index.out_of_scope = [p for p in (compact_text(t) for t in kb.out_of_scope) if p]
        for phrase in index.out_of_scope:
            within = tuple(sorted(n for n in item_names if phrase in n and n != phrase))
            if within:
                index.out_of_scope_within[phrase] = within
        index.always_out_of_scope = [p for p in (compact_text(t) for t in kb.always_out_of_scope) if p]
        # longest first, then in code-point order: phrases that overlap are removed in one order whatever the hash
        # seed (a set iterates in the seed's order: 「明白了 感谢解答」 was small talk under one seed only)
        index.smalltalk = sorted({p for p in (compact_text(t) for t in kb.smalltalk) if p}, key=lambda p: (-len(p), p))
        index.smalltalk_alone = tuple(
            sorted(
                {p for p in (_FILLER.sub("", compact_text(t)) for t in kb.smalltalk_alone) if p},
                key=lambda p: (-len(p), p),
            )
        )
        for item in kb.items.values():
            documents = [compact_text(m.name) for m in item.materials]
            index.material_grams[item.key] = frozenset(
                d[i : i + DOCUMENT_GRAM] for d in documents for i in range(len(d) - DOCUMENT_GRAM + 1)
            )
        index.department_words = frozenset(
            word
            for dept in kb.departments.values()
            for word in (compact_text(n) for n in (dept.name, *dept.aliases))
            if len(word) >= 2
        )
        return index

    def out_of_scope_named(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Each phrase listed out of scope that `text` (compact) holds, with the span of each occurrence, but where
        it is part of an item's longer name written there (「原产地签证」 is no 签证)."""
        return [
            (p, span)
            for p in self.out_of_scope
            if p in text
            for span in occurrences(p, text)
            if not self._inside_a_name(p, span, text)
        ]

    def _inside_a_name(self, phrase: str, span: tuple[int, int], text: str) -> bool:
        """Whether this occurrence of a phrase out of scope lies inside a longer item name written in `text`."""
        a, b = span
        return any(
            start <= a and b <= end
            for name in self.out_of_scope_within.get(phrase, ())
            for start, end in occurrences(name, text)
        )

    def out_of_scope_spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` (compact) holds a phrase listed out of scope."""
        return [span for _, span in self.out_of_scope_named(text)]

    def material_runs(self, text: str, item: str) -> list[int]:
        """Where `text` shares a run of DOCUMENT_GRAM characters with a material name of `item`."""
        grams = self.material_grams.get(item, frozenset())
        return [i for i in range(len(text) - DOCUMENT_GRAM + 1) if text[i : i + DOCUMENT_GRAM] in grams]

    def material_cover(self, text: str, item: str) -> set[int]:
        """The positions of `text` within a run it shares with a material name of `item` (`material_runs`)."""
        return {j for i in self.material_runs(text, item) for j in range(i, i + DOCUMENT_GRAM)}

    def named_items(self, text: str) -> list[str]:
        """The approval items a piece of text names outright, in the order written."""
        hits = sorted(self.span_hits(compact_text(text)), key=lambda h: h.start)
        return list(dict.fromkeys(h.item for h in hits if self.outright(h)))

    def outright(self, hit: Hit) -> bool:
        """Whether a hit names an approval item outright: written as one of its names, where the message has it,
        strong enough to be offered."""
        return hit.exact and hit.start >= 0 and hit.score >= self.offer_from and self.kb.items[hit.item].kind == "item"

    def span_hits(self, compact: str) -> list[Hit]:
        hits: list[Hit] = []
        key, owners = key_of(compact) if has_cjk(compact) else ("", [])
        chars = set(compact)
        candidates = {i for char in chars for i in self.by_first_char.get(char, ())}
        if key:
            for syl in {syllable(char) for char in chars}:
                candidates.update(self.by_first_syllable.get(syl, ()))
        for phrase in [self.phrases[i] for i in sorted(candidates)]:
            start = _written_at(phrase.text, compact)
            if start >= 0:
                is_alias = phrase.kind == "alias" and len(phrase.text) >= 2
                hits.append(
                    Hit(
                        phrase.item,
                        phrase.base,
                        start,
                        start + len(phrase.text),
                        exact=True,
                        named=is_alias,
                        alias=is_alias,
                    )
                )
                continue
            if phrase.pinyin and key:
                at = key.find(phrase.pinyin)
                if at >= 0:
                    begin = owners[at + 1]
                    end = owners[at + len(phrase.pinyin) - 1] + 1
                    if is_word(compact[begin:end]):
                        continue  # 「工地」 is the word for a building site, not 供地 typed by sound
                    if compact[begin] in _INTERROGATIVES:
                        continue  # 「找谁报」 asks who, it is no 水保 typed by sound
                    if compact[end - 1] in PARTICLES and end == len(compact):
                        continue  # 「能先出批复吗」 ends a question, it is no 赋码 typed by sound
                    named = phrase.kind == "alias" and len(phrase.text) >= 3 and end - begin >= 3
                    hits.append(
                        Hit(
                            phrase.item,
                            phrase.base * EVIDENCE.sound,
                            begin,
                            end,
                            named=named,
                            alias=phrase.kind == "alias",
                        )
                    )
                    continue
            if phrase.gapped:
                found = _gapped(phrase.text).search(compact)
                if found:
                    alias = phrase.kind == "alias"
                    hits.append(
                        Hit(phrase.item, phrase.base * EVIDENCE.gapped, found.start(), found.end(), alias=alias)
                    )
        return hits

    def combo_hits(self, compact: str) -> list[Hit]:
        hits = []
        for parts, item, base in self.combos:
            positions = [compact.find(part) for part in parts]
            if all(pos >= 0 for pos in positions):
                covers = tuple((pos, pos + len(part)) for pos, part in zip(positions, parts, strict=True))
                start, end = min(covers)
                hits.append(Hit(item, base, start, end, named=True, covers=covers))
        return hits

    def latin_hits(self, normalized: str) -> list[Hit]:
        tokens = LATIN_TOKEN.findall(normalized)
        if not tokens:
            return []
        compact = normalized.replace(" ", "")
        hits = [
            Hit(
                self.latin_short[t],
                EVIDENCE.latin,
                compact.find(t),
                compact.find(t) + len(t),
                named=True,
                alias=True,
            )
            for t in tokens
            if t in self.latin_short
        ]
        joined = "".join(tokens)
        for spelled, item in self.latin_long:
            if spelled in joined:
                at = compact.find(spelled[:3])
                hits.append(Hit(item, EVIDENCE.latin, at, at + len(spelled) if at >= 0 else -1, named=True, alias=True))
        return hits

    def department_hits(self, compact: str, already: set[str]) -> list[Hit]:
        """A department named with no item: its only item is likely, several items are a guess."""
        hits = []
        for name, items in self.departments:
            at = compact.find(name)
            if at < 0 or not items or any(i in already for i in items):
                continue
            e = EVIDENCE
            score = (
                e.department_one
                if len(items) == 1
                else (e.department_few if len(items) <= e.department_few_max else 0.0)
            )
            hits += [Hit(i, score, at, at + len(name)) for i in items if score]
        return hits

    def discount_context(
        self, compact: str, hits: list[Hit], normalized: str, probs: dict[str, float] | None = None
    ) -> None:
        """Lower an item the message mentions as done or as a point in time (「可研批完后」), or names only in
        a clause that states it done while a clause that asks names another item (「核准批复拿到了，接下来安全
        条件审查是去市应急局还是旗应急局」: the background, not the subject). `probs` given: the model reads too."""
        background = background_spans(normalized, done=True) if probs else []

        def behind(hit: Hit) -> bool:
            # a phrase (or every part of a combination: 「消防…设计」) inside a background clause
            spans = hit.covers or (((hit.start, hit.end),) if hit.exact else ())
            return bool(spans) and all(any(a <= x and y <= b for a, b in background) for x, y in spans)

        def in_other_name(hit: Hit) -> bool:
            # a word of a name put together that another item's name holds (证 of 「五证联发」)
            return any(
                o.item != hit.item
                and o.exact
                and o.start >= 0
                and any(o.start <= a and b <= o.end for a, b in hit.covers)
                for o in hits
            )

        # an item asked: by a name written (or one put together from its words, 「竣工以后那个备案」) outside the background
        asked = {
            h.item
            for h in hits
            if (h.exact and h.alias or h.covers and h.named and self._written_in_order(h) and not in_other_name(h))
            and self.kb.items[h.item].kind == "item"
            and not behind(h)
        }
        starts = clause_starts(normalized)
        for hit in hits:
            found_after = _CONTEXT_AFTER.match(compact, hit.end) if hit.end > 0 else None
            # a point in time between the words of a name put together, written in order, is inside it (「竣工以后那个
            # 备案」); what is done is not (「出让金缴清的证明」)
            inside = (
                found_after is not None
                and _POINT_IN_TIME.fullmatch(found_after.group()) is not None
                and self._written_in_order(hit)
                and any(a >= found_after.end() for a, _ in hit.covers)
            )
            after = hit.end > 0 and (
                (found_after is not None and not inside)
                or (_NOT_YET_AFTER.match(compact, hit.end) and bool(asked - {hit.item}))
            )
            # 「拿到了」 ending the clause before (「可研批复拿到了，初设几天」) is no 「拿到了初设」
            before = hit.start > 0 and (
                (hit.start not in starts and CONTEXT_BEFORE.search(compact, 0, hit.start) is not None)
                or (
                    _NOT_WAITED_FOR.search(compact, 0, hit.start) is not None
                    and not _WORKS_AHEAD.search(compact, hit.end)
                )
                or waited_for(compact, hit.start, hit.end)
            )
            aside = probs is not None and hit.item not in asked and behind(hit) and bool(asked)
            if (
                after
                or before
                or aside
                or self._measured_against(compact, hit, hits)
                or self._attached_paper(compact, hit)
                or self._taken_back(compact, hit, hits)
            ):
                hit.score *= EVIDENCE.context
                hit.context = True

    @staticmethod
    def _written_in_order(hit: Hit) -> bool:
        """Whether a name put together from its words has them in the name's order, each a few characters after the
        one before (「竣工以后那个备案」) — not words strewn about in another order (设计 of 「设计院还在改消防的东西」)."""
        spans = hit.covers
        return len(spans) > 1 and all(b <= a2 <= b + PUT_TOGETHER_GAP for (_, b), (a2, _) in zip(spans, spans[1:]))

    @staticmethod
    def _measured_against(compact: str, hit: Hit, hits: list[Hit]) -> bool:
        """「概算超了可研估算10%咋办」: an item named right after 超/超过 with another item named before it is what the
        other is measured against — unless the message names it again (「…要调可研吗」) or nothing comes before
        (「超概算了怎么办」: the 概算 exceeded is the subject)."""
        found = _EXCEEDS.search(compact, 0, hit.start) if hit.start > 0 and hit.exact else None
        if found is None or compact.find(compact[hit.start : hit.end], hit.end) >= 0:
            return False
        return any(h.item != hit.item and h.exact and 0 <= h.start and h.end <= found.start() for h in hits)

    @staticmethod
    def _taken_back(compact: str, hit: Hit, hits: list[Hit]) -> bool:
        """「环评 不对 是水保 要多久」: a name written before the asker takes it back (`_TAKEN_BACK`), when another item
        is named after — what they meant."""
        if not hit.exact or hit.start < 0:
            return False
        found = _TAKEN_BACK.search(compact, hit.end)
        if found is None:
            return False
        return any(h.item != hit.item and h.exact and h.start >= found.end() for h in hits)

    @staticmethod
    def _attached_paper(compact: str, hit: Hit) -> bool:
        """「竣工备案要附消防验收的意见书吧」: an item named right after 附 as the issuer of a paper (its 意见书,
        批复 …) names the paper attached, not what is asked about."""
        if hit.start <= 0 or not compact.endswith(("附", "附上"), 0, hit.start):
            return False
        named_to = max((b for _, b in hit.covers), default=hit.end)  # a combination (消防+验收): its last part
        end = named_to + 1 if compact.startswith("的", named_to) else named_to
        # the paper is in the name (「消防验收意见书」, one of its names) or right after it
        return bool(ISSUED_DOCUMENT.search(compact, hit.start, named_to) or ISSUED_DOCUMENT.match(compact, end))

    def name_spans(self, hits: list[Hit]) -> list[tuple[int, int]]:
        """Spans of item names, whose words (条件 in 安全条件审查) are not intent cues.

        A topic's name is an intent cue when an item is named too: in 「水保能容缺吗」 容缺 asks
        about the item's tolerance, while in 「容缺受理在哪个窗口」 the topic is the subject.
        """
        named = {h.item for h in hits if h.named}
        return [
            (h.start, h.end)
            for h in hits
            if h.exact and h.start >= 0 and not (self.kb.items[h.item].kind == "topic" and named - {h.item})
        ]

    def names_written(self, compact: str, normalized: str) -> list[Hit]:
        """The names and hints written in a message (exact, by sound, latin, combinations, a name split by
        那个/这个: `split_hits`), each kept once where another item's longer name holds it."""
        hits = self.span_hits(compact) + self.latin_hits(normalized) + self.combo_hits(compact)
        return self.drop_contained(hits + self.split_hits(compact))

    def names_read(self, normalized: str) -> tuple[Hit, ...]:
        """`names_written` with what is done or background discounted (`discount_context`, the rules alone): what
        the follow-up reader asks of one message several times, read once (the last message's kept)."""
        last = self._last_read
        if last[0] == normalized:
            return last[1]
        compact = normalized.replace(" ", "")
        hits = self.names_written(compact, normalized)
        self.discount_context(compact, hits, normalized)
        read = tuple(hits)
        self._last_read = (normalized, read)
        return read

    def split_hits(self, compact: str) -> list[Hit]:
        """A name said in two parts with 那个/这个 between them, as people say it aloud (「土地那个证」 is 土地证,
        「消防那个验收」 消防验收): named, its parts' spans as a combination's; a name the joined text holds only
        across the place the filler was."""
        hits = []
        for filler in _NAME_FILLER.finditer(compact, 2):
            at, after = filler.span()
            joined = compact[:at] + compact[after:]
            offset = max(0, at - 8)  # the parts of a split name are read up to 8 characters either side
            for hit in self.span_hits(joined[offset : at + 8]):
                start, end = hit.start + offset, hit.end + offset
                if hit.alias and hit.exact and start < at < end:
                    covers = ((start, at), (after, end + after - at))
                    hits.append(Hit(hit.item, hit.score, start, at, named=True, covers=covers))
        return hits

    @staticmethod
    def drop_contained(hits: list[Hit]) -> list[Hit]:
        spans = [h for h in hits if h.start >= 0]
        combos = [h for h in hits if h.covers]
        kept = []
        for hit in hits:
            inside = hit.start >= 0 and any(
                other.item != hit.item
                and other.start <= hit.start
                and hit.end <= other.end
                and (other.end - other.start) > (hit.end - hit.start)
                and other.score >= hit.score * EVIDENCE.contained
                for other in spans
            )
            inside = inside or any(
                combo.item != hit.item and any(a <= hit.start and hit.end <= b for a, b in combo.covers)
                for combo in combos
            )
            # A name read by sound or with a stray character (「备案怎」 as 备案证) that overlaps a longer name of
            # another item written exactly (「竣工验收备案怎么弄」) is that name's tail, not a name of its own.
            inside = inside or (
                hit.alias
                and not hit.exact
                and hit.start >= 0
                and any(
                    other.item != hit.item
                    and other.exact
                    and other.alias
                    and other.start < hit.end
                    and hit.start < other.end
                    and (other.end - other.start) > (hit.end - hit.start)
                    for other in spans
                )
            )
            if not inside:
                kept.append(hit)
        return kept

    def fuzzy_hits(self, compact: str, already: set[str]) -> list[Hit]:
        if not has_cjk(compact) or not self.fuzzy_texts:
            return []
        query = compact[:200]
        sharing = sorted({i for char in set(query) for i in self.fuzzy_by_char.get(char, ())})
        found = process.extract(
            query,
            [self.fuzzy_texts[i] for i in sharing],
            scorer=fuzz.partial_ratio,
            score_cutoff=EVIDENCE.fuzzy_cutoff,
            limit=8,
        )
        hits = []
        for text, score, position in found:
            item = self.fuzzy_items[sharing[position]]
            if item in already or (len(text) >= 5 and score < EVIDENCE.fuzzy_long_cutoff):
                continue
            hits.append(Hit(item, score / 100 * EVIDENCE.fuzzy))
            already = already | {item}
        return hits

    def is_smalltalk(self, compact: str, *, asked: bool = False) -> bool:
        """Whether a message is only greetings and acknowledgements: the small-talk phrases and fillers taken out,
        at most one character is left, or only phrases that are small talk as the whole message (「要得 谢谢哈」
        「要得要得」; not 「要得钱吗」, nor one asked: 「要得吗」, `asked` — a question mark, which the compact text has lost)."""
        if len(compact) > 20:
            return False
        rest = compact
        for phrase in self.smalltalk:
            rest = rest.replace(phrase, "")
        rest = _FILLER.sub("", rest)
        if len(rest) <= 1:
            return rest not in _ONE_CHARACTER_ASKS
        if asked or _ASKING_PARTICLE.search(compact):
            return False
        for phrase in self.smalltalk_alone:
            rest = rest.replace(phrase, "")
        return not rest
