"""The knowledge base as plain, immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    window: str = ""
    phone: str = ""
    hours: str = ""
    online: str = ""
    example: bool = True


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True  # False: may be deferred under 容缺受理 with a signed commitment letter
    note: str = ""


@dataclass(frozen=True)
class Faq:
    q: str
    a: str


@dataclass(frozen=True)
class RegionalOverride:
    """How one region (旗县区) handles an item differently: its own department (a key of
    departments.yaml), window, phone or approval level; empty fields keep the item's."""

    region: str
    department: str | None = None
    window: str = ""
    phone: str = ""
    level: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """An approval item (kind 'item') or a general topic (kind 'topic')."""

    key: str
    kind: str
    name: str
    short: str
    aliases: tuple[str, ...] = ()
    latin: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    department: str | None = None
    level: tuple[str, ...] = ()
    apply_at: str = ""
    statutory_days: int | None = None
    promised_days: int | None = None
    time_note: str = ""
    fee: str = ""
    parallel: bool | None = None
    prerequisites: tuple[str, ...] = ()
    prerequisites_note: str = ""
    materials: tuple[Material, ...] = ()
    faq: tuple[Faq, ...] = ()
    summary: str = ""
    details: tuple[str, ...] = ()
    example: bool = True
    published: tuple[str, ...] = ()
    source_file: str = ""
    regional: tuple[RegionalOverride, ...] = ()

    def override_for(self, region: str | None) -> RegionalOverride | None:
        """The override of `region` (as written in the ledger), if the item has one."""
        if not region:
            return None
        wanted = region.strip()
        return next((o for o in self.regional if o.region == wanted), None)


@dataclass(frozen=True)
class KnowledgeBase:
    items: dict[str, Item]
    departments: dict[str, Department]
    out_of_scope: tuple[str, ...] = ()  # not an approval question unless an item is named too
    always_out_of_scope: tuple[str, ...] = ()  # not an approval question even when an item is named
    smalltalk: tuple[str, ...] = ()
    # small talk only as the whole message (with other small talk and fillers): 要得 is OK, 「要得钱吗」 asks
    smalltalk_alone: tuple[str, ...] = ()
    learned: tuple[Faq, ...] = field(default=())

    def department_of(self, item: Item) -> Department | None:
        return self.departments.get(item.department) if item.department else None

    def label(self, key: str) -> str:
        item = self.items.get(key)
        return item.short or item.name if item else key
