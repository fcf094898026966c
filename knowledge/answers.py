"""Compose the Chinese answer for a match: short, led by what the intent asked.

Output is Telegram HTML: knowledge text is escaped here, so the result is safe to send
with parse_mode=HTML. The first block answers the intent; one line below carries the
rest (department, time limit, materials count) so the answer stays scannable.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import texts
from knowledge.matcher import MatchResult
from knowledge.model import Department, Item, KnowledgeBase
from knowledge.regions import regional_view


def _time_text(item: Item) -> str:
    promised, statutory = item.promised_days, item.statutory_days
    if promised == 0:
        return texts.TIME_SAME_DAY_WITH_STATUTORY.format(statutory=statutory) if statutory else texts.TIME_SAME_DAY
    if promised is not None and statutory is not None:
        return texts.TIME_PROMISED_AND_STATUTORY.format(promised=promised, statutory=statutory)
    if promised is not None:
        return texts.TIME_PROMISED_ONLY.format(promised=promised)
    return texts.TIME_UNKNOWN


def _department_lines(dept: Department | None, *, full: bool) -> list[str]:
    if dept is None:
        return []
    lines = [texts.DEPARTMENT_LINE.format(department=escape(dept.name))]
    if full:
        if dept.window:
            lines.append(texts.DEPARTMENT_DETAIL_WINDOW.format(window=escape(dept.window)))
        if dept.phone:
            lines.append(texts.DEPARTMENT_DETAIL_PHONE.format(phone=escape(dept.phone)))
        if dept.hours:
            lines.append(texts.DEPARTMENT_DETAIL_HOURS.format(hours=escape(dept.hours)))
        if dept.online:
            lines.append(texts.DEPARTMENT_DETAIL_ONLINE.format(online=escape(dept.online)))
    elif dept.phone:
        lines[0] += " · " + texts.DEPARTMENT_DETAIL_PHONE.format(phone=escape(dept.phone))
    return lines


def _material_lines(item: Item, *, only_deferrable: bool = False) -> list[str]:
    lines = []
    materials = [m for m in item.materials if not only_deferrable or not m.required]
    for n, material in enumerate(materials, start=1):
        lines.append(
            texts.MATERIAL_LINE.format(
                n=n,
                name=escape(material.name),
                deferrable=texts.MATERIAL_DEFERRABLE if not material.required and not only_deferrable else "",
                note=texts.MATERIAL_NOTE.format(note=escape(material.note)) if material.note else "",
            )
        )
    return lines


def _process_lines(kb: KnowledgeBase, item: Item) -> list[str]:
    lines = []
    if item.prerequisites or item.prerequisites_note:
        names = "、".join(escape(kb.label(p)) for p in item.prerequisites)
        note = escape(item.prerequisites_note)
        lines.append(texts.PREREQUISITES_LINE.format(prerequisites="；".join(x for x in (names, note) if x)))
    elif item.kind == "item":
        lines.append(texts.PREREQUISITES_NONE)
    if item.parallel is not None:
        lines.append(texts.PARALLEL_YES if item.parallel else texts.PARALLEL_NO)
    if item.apply_at:
        lines.append(texts.APPLY_AT_LINE.format(apply_at=escape(item.apply_at)))
    if item.level:
        lines.append(texts.LEVEL_LINE.format(levels="、".join(item.level)))
    return lines


def _topic_lines(item: Item) -> list[str]:
    lines = [escape(item.summary)] if item.summary else []
    lines += [texts.TOPIC_DETAIL_LINE.format(line=escape(d)) for d in item.details]
    return lines


@dataclass(frozen=True)
class _Aspect:
    """One intent's answer about an item: the lines that answer it, the kinds of fact they give (so an answer of
    several aspects says each fact once), and the other facts shown below them, each (kind, lines)."""

    lead: list[str]
    gives: frozenset[str]
    below: list[tuple[str, list[str]]]


def _aspect(kb: KnowledgeBase, item: Item, dept: Department | None, intent: str) -> _Aspect:
    time_line = texts.TIME_LINE.format(time=_time_text(item))
    deferrable = sum(1 for m in item.materials if not m.required)
    materials_summary = texts.MATERIALS_SUMMARY.format(
        total=len(item.materials), deferrable=deferrable, short=escape(item.short or item.name)
    )
    department = ("department", _department_lines(dept, full=False))
    time = ("time", [time_line])
    summary = ("materials", [materials_summary])
    if item.kind == "topic":
        return _Aspect(
            _topic_lines(item), frozenset(), [("department", _department_lines(dept, full=intent == "department"))]
        )
    if intent == "materials":
        return _Aspect(_material_lines(item), frozenset({"materials"}), [department, time])
    if intent == "department":
        lead = _department_lines(dept, full=True)
        if item.apply_at:
            lead.append(texts.APPLY_AT_LINE.format(apply_at=escape(item.apply_at)))
        return _Aspect(lead, frozenset({"department"}), [time, summary])
    if intent == "time_limit":
        lead = [_time_text(item)]
        if item.time_note:
            lead.append(texts.TIME_NOTE.format(note=escape(item.time_note)))
        return _Aspect(lead, frozenset({"time"}), [department, summary])
    if intent == "fee":
        lead = [texts.FEE_LINE.format(fee=escape(item.fee)) if item.fee else texts.FEE_UNKNOWN]
        return _Aspect(lead, frozenset({"fee"}), [department, time])
    if intent == "tolerance":
        deferrable_lines = _material_lines(item, only_deferrable=True)
        lead = [texts.TOLERANCE_ITEMS_HEAD, *deferrable_lines] if deferrable_lines else [texts.TOLERANCE_NONE]
        return _Aspect(lead, frozenset({"tolerance"}), [department, time])
    if intent == "process":
        return _Aspect(_process_lines(kb, item), frozenset({"process"}), [department, time, summary])
    return _Aspect(
        department[1] + [time_line],
        frozenset({"department", "time"}),
        [summary, ("process", _process_lines(kb, item)[:2])],
    )


def _item_block(kb: KnowledgeBase, item: Item, intents: list[str], region: str | None) -> list[str]:
    """The answer about `item` led by each of `intents` in turn, the other facts once below them; no footer."""
    view = regional_view(kb, item, region)
    item, dept = view.item, view.department
    aspects = [_aspect(kb, item, dept, intent) for intent in intents]
    title = texts.ANSWER_TITLE.format(
        short=escape(item.short or item.name),
        name=escape(item.name),
        aspect=texts.ASPECT_JOINER.join(texts.ASPECT.get(i, texts.ASPECT["other"]) for i in intents),
    )
    lines = [title]
    if view.region:
        lines.append(texts.REGION_NOTE.format(region=escape(view.region)))
    for n, aspect in enumerate(aspects):
        lines += ([""] if n else []) + aspect.lead
    given = frozenset().union(*(a.gives for a in aspects))
    below: dict[str, list[str]] = {}
    for aspect in aspects:
        for kind, kind_lines in aspect.below:
            if kind not in given:
                below.setdefault(kind, kind_lines)
    return [*lines, "", *(line for kind_lines in below.values() for line in kind_lines)]


def _with_footer(lines: list[str], example: bool) -> str:
    return "\n".join([*lines, "", texts.EXAMPLE_FOOTER] if example else lines).strip()


def compose_item_answer(kb: KnowledgeBase, item: Item, intent: str, *, region: str | None = None) -> str:
    """Return the HTML answer about `item` led by `intent`, as `region` (the asking group's
    project's 旗县区) handles the item where the knowledge base has an override for it."""
    return _with_footer(_item_block(kb, item, [intent], region), item.example)


def compose_answer(kb: KnowledgeBase, result: MatchResult, *, region: str | None = None) -> str | None:
    """Return the HTML answer for an `answer` result, or None when there is nothing to say;
    `region` as in compose_item_answer."""
    if result.action != "answer":
        return None
    several = compose_asks_answer(kb, result, region=region)
    if several is not None:
        return several
    if result.faq is not None:
        lead = texts.LEARNED_LEAD if result.learned else texts.FAQ_LEAD
        text = lead.format(answer=escape(result.faq.a))
        item = kb.items.get(result.item) if result.item else None
        if item is None:
            return text
        view = regional_view(kb, item, region)
        tail = _department_lines(view.department, full=False) + [texts.TIME_LINE.format(time=_time_text(item))]
        if view.region:
            tail.insert(0, texts.REGION_NOTE.format(region=escape(view.region)))
        return "\n".join([text, "", *tail])
    item = kb.items.get(result.item) if result.item else None
    if item is None:
        return None
    return compose_item_answer(kb, item, result.intent, region=region)


def compose_asks_answer(kb: KnowledgeBase, result: MatchResult, *, region: str | None = None) -> str | None:
    """One answer covering every ask of a message that asks several things, or None for a single ask: each item
    once, led by each aspect asked of it (「施工许可证在哪办,要多久」), and the example note once at the end."""
    if len(result.asks) < 2:
        return None
    intents: dict[str, list[str]] = {}
    for ask in result.asks:
        if ask.item in kb.items and ask.intent not in intents.setdefault(ask.item, []):
            intents[ask.item].append(ask.intent)
    if not intents:
        return None
    blocks = [_item_block(kb, kb.items[key], wanted, region) for key, wanted in intents.items()]
    lines = [line for n, block in enumerate(blocks) for line in ([""] if n else []) + block]
    return _with_footer(lines, any(kb.items[key].example for key in intents))
