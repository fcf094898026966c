"""Regional knowledge: the same item handled by a banner's (旗县区) own department, window, phone
or approval level. Given a region as a plain value (the bound project's 旗县区), an item is
seen as that region handles it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.model import Department, Item, KnowledgeBase


@dataclass(frozen=True)
class RegionalView:
    item: Item  # level replaced where the region overrides it
    department: Department | None  # the region's department, window and phone
    region: str | None  # the region whose override applies; None: the city's


def regional_view(kb: KnowledgeBase, item: Item, region: str | None) -> RegionalView:
    """How `region` handles `item`; the item as it is when the region has no override."""
    override = item.override_for(region)
    department = kb.department_of(item)
    if override is None:
        return RegionalView(item, department, None)
    if override.department:
        department = kb.departments.get(override.department, department)
    if department is not None and (override.window or override.phone):
        department = replace(
            department, window=override.window or department.window, phone=override.phone or department.phone
        )
    if override.level:
        item = replace(item, level=override.level)
    return RegionalView(item, department, override.region)
