"""Compose the Chinese answer for a match: short, led by what the intent asked.

Output is Telegram HTML: knowledge text is escaped here, so the result is safe to send
with parse_mode=HTML. The first block answers the intent; the lines below carry the
rest (department, time limit, materials count) so the answer stays scannable. A message
asking several things of one item gets one block per aspect asked, each fact said once.
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


# A fact of an answer (its kind) and the lines that say it. An answer of several aspects of one item says each
# fact once: a fact said in full says its short form too (`_SAYS_TOO`).
_Part = tuple[str, list[str]]


def _apply_at_parts(item: Item) -> list[_Part]:
    return [("apply_at", [texts.APPLY_AT_LINE.format(apply_at=escape(item.apply_at))])] if item.apply_at else []


def _process_parts(kb: KnowledgeBase, item: Item) -> list[_Part]:
    """The process answer's lines, each with the fact it gives: what comes first, running together, where to
    apply, at which level."""
    parts: list[_Part] = []
    if item.prerequisites or item.prerequisites_note:
        names = "、".join(escape(kb.label(p)) for p in item.prerequisites)
        note = escape(item.prerequisites_note)
        parts.append(
            ("prerequisites", [texts.PREREQUISITES_LINE.format(prerequisites="；".join(x for x in (names, note) if x))])
        )
    elif item.kind == "item":
        parts.append(("prerequisites", [texts.PREREQUISITES_NONE]))
    if item.parallel is not None:
        parts.append(("parallel", [texts.PARALLEL_YES if item.parallel else texts.PARALLEL_NO]))
    parts += _apply_at_parts(item)
    if item.level:
        parts.append(("level", [texts.LEVEL_LINE.format(levels="、".join(item.level))]))
    return parts


def _topic_lines(item: Item) -> list[str]:
    lines = [escape(item.summary)] if item.summary else []
    lines += [texts.TOPIC_DETAIL_LINE.format(line=escape(d)) for d in item.details]
    return lines


# An answer of several aspects of one item says each fact once: a fact said in full says its short form too.
_SAYS_TOO = {
    "department_full": "department",
    "time_detail": "time",
    "materials_list": "materials",
    "prerequisites": "process_head",
}


@dataclass(frozen=True)
class _Aspect:
    """One intent's answer about an item: the facts that answer it, and the other facts shown below them."""

    lead: list[_Part]
    below: list[_Part]


def _aspect(kb: KnowledgeBase, item: Item, dept: Department | None, intent: str) -> _Aspect:
    time_line = texts.TIME_LINE.format(time=_time_text(item))
    deferrable = sum(1 for m in item.materials if not m.required)
    materials_summary = texts.MATERIALS_SUMMARY.format(
        total=len(item.materials), deferrable=deferrable, short=escape(item.short or item.name)
    )
    department: _Part = ("department", _department_lines(dept, full=False))
    time: _Part = ("time", [time_line])
    summary: _Part = ("materials", [materials_summary])
    if item.kind == "topic":
        full = intent == "department"
        return _Aspect(
            [("topic", _topic_lines(item))],
            [("department_full" if full else "department", _department_lines(dept, full=full))],
        )
    if intent == "materials":
        return _Aspect([("materials_list", _material_lines(item))], [department, time])
    if intent == "department":
        return _Aspect(
            [("department_full", _department_lines(dept, full=True)), *_apply_at_parts(item)], [time, summary]
        )
    if intent == "time_limit":
        lead = [_time_text(item)]
        if item.time_note:
            lead.append(texts.TIME_NOTE.format(note=escape(item.time_note)))
        return _Aspect([("time_detail", lead)], [department, summary])
    if intent == "fee":
        return _Aspect(
            [("fee", [texts.FEE_LINE.format(fee=escape(item.fee)) if item.fee else texts.FEE_UNKNOWN])],
            [department, time],
        )
    if intent == "tolerance":
        deferrable_lines = _material_lines(item, only_deferrable=True)
        lead = [texts.TOLERANCE_ITEMS_HEAD, *deferrable_lines] if deferrable_lines else [texts.TOLERANCE_NONE]
        return _Aspect([("tolerance", lead)], [department, time])
    if intent == "process":
        return _Aspect(_process_parts(kb, item), [department, time, summary])
    head = [line for _, lines in _process_parts(kb, item) for line in lines][:2]
    return _Aspect([department, time], [summary, ("process_head", head)])


def _item_block(kb: KnowledgeBase, item: Item, intents: list[str], region: str | None) -> list[str]:
    """The answer about `item` led by each of `intents` in turn, then the other facts; each fact once (a topic's
    text once, its department in full when asked); no footer."""
    view = regional_view(kb, item, region)
    item, dept = view.item, view.department
    aspects = [_aspect(kb, item, dept, intent) for intent in intents]
    every = {kind for a in aspects for kind, _ in (*a.lead, *a.below)}
    said = {_SAYS_TOO[kind] for kind in every if kind in _SAYS_TOO}  # a short form is left to its full one

    def say(part: _Part) -> list[str]:
        kind, kind_lines = part
        if kind in said:
            return []
        said.add(kind)
        if kind == "tolerance" and "materials_list" in every and any(not m.required for m in item.materials):
            # the material list of the other aspect marks what may come later (none marked: TOLERANCE_NONE stands)
            return [texts.TOLERANCE_MARKED.format(mark=texts.MATERIAL_DEFERRABLE)]
        return kind_lines

    title = texts.ANSWER_TITLE.format(
        short=escape(item.short or item.name),
        name=escape(item.name),
        aspect=texts.ASPECT_JOINER.join(texts.ASPECT.get(i, texts.ASPECT["other"]) for i in intents),
    )
    lines = [title]
    if view.region:
        lines.append(texts.REGION_NOTE.format(region=escape(view.region)))
    for aspect in aspects:
        lead = [line for part in aspect.lead for line in say(part)]
        if lead and len(lines) > 1 + bool(view.region):
            lines.append("")  # between the answers of two aspects
        lines += lead
    below = [line for aspect in aspects for part in aspect.below for line in say(part)]
    return [*lines, "", *below]


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
