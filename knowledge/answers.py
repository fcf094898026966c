"""Compose the Chinese answer for a match: short, led by what the intent asked.

Output is Telegram HTML: knowledge text is escaped here, so the result is safe to send
with parse_mode=HTML. The first block answers the intent; one line below carries the
rest (department, time limit, materials count) so the answer stays scannable.
"""

from __future__ import annotations

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


def compose_item_answer(kb: KnowledgeBase, item: Item, intent: str, *, region: str | None = None) -> str:
    """Return the HTML answer about `item` led by `intent`, as `region` (the asking group's
    project's 旗县区) handles the item where the knowledge base has an override for it."""
    view = regional_view(kb, item, region)
    item, dept = view.item, view.department
    aspect = texts.ASPECT.get(intent, texts.ASPECT["other"])
    title = texts.ANSWER_TITLE.format(short=escape(item.short or item.name), name=escape(item.name), aspect=aspect)
    time_line = texts.TIME_LINE.format(time=_time_text(item))
    deferrable = sum(1 for m in item.materials if not m.required)
    materials_summary = texts.MATERIALS_SUMMARY.format(
        total=len(item.materials), deferrable=deferrable, short=escape(item.short or item.name)
    )
    if item.kind == "topic":
        lead = _topic_lines(item)
        rest = _department_lines(dept, full=intent == "department")
    elif intent == "materials":
        lead = _material_lines(item)
        rest = _department_lines(dept, full=False) + [time_line]
    elif intent == "department":
        lead = _department_lines(dept, full=True)
        if item.apply_at:
            lead.append(texts.APPLY_AT_LINE.format(apply_at=escape(item.apply_at)))
        rest = [time_line, materials_summary]
    elif intent == "time_limit":
        lead = [_time_text(item)]
        if item.time_note:
            lead.append(texts.TIME_NOTE.format(note=escape(item.time_note)))
        rest = _department_lines(dept, full=False) + [materials_summary]
    elif intent == "fee":
        lead = [texts.FEE_LINE.format(fee=escape(item.fee)) if item.fee else texts.FEE_UNKNOWN]
        rest = _department_lines(dept, full=False) + [time_line]
    elif intent == "tolerance":
        deferrable_lines = _material_lines(item, only_deferrable=True)
        lead = [texts.TOLERANCE_ITEMS_HEAD, *deferrable_lines] if deferrable_lines else [texts.TOLERANCE_NONE]
        rest = _department_lines(dept, full=False) + [time_line]
    elif intent == "process":
        lead = _process_lines(kb, item)
        rest = _department_lines(dept, full=False) + [time_line, materials_summary]
    else:
        lead = _department_lines(dept, full=False) + [time_line]
        rest = [materials_summary] + _process_lines(kb, item)[:2]
    parts = [title, *lead, "", *rest]
    if view.region:
        parts.insert(1, texts.REGION_NOTE.format(region=escape(view.region)))
    if item.example:
        parts += ["", texts.EXAMPLE_FOOTER]
    return "\n".join(parts).strip()


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
    """One answer covering every ask of a message that asks several things, or None for a single ask."""
    if len(result.asks) < 2:
        return None
    parts = [
        compose_item_answer(kb, kb.items[ask.item], ask.intent, region=region)
        for ask in result.asks
        if ask.item in kb.items
    ]
    return "\n\n".join(parts) if parts else None
