"""What the ledger asks of the knowledge base, as plain callables.

The edge (the bot, the command line) builds one from the knowledge base it loaded and passes
its methods to the profile and the reminder plan, so the ledger never loads the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.procedures import normalize_label

if TYPE_CHECKING:
    from knowledge.model import KnowledgeBase


@dataclass(frozen=True)
class KnowledgeLookups:
    kb: KnowledgeBase

    def materials_for(self, item_key: str) -> list[str]:
        item = self.kb.items.get(item_key)
        return [m.name for m in item.materials] if item else []

    def department_for(self, item_key: str) -> str:
        item = self.kb.items.get(item_key)
        department = self.kb.department_of(item) if item else None
        return department.name if department else "—"

    def department_key_for(self, item_key: str) -> str | None:
        item = self.kb.items.get(item_key)
        return item.department if item else None

    def resolve_department(self, text: str) -> str | None:
        """A 责任部门 as written in a ledger → a department key (name, alias or key)."""
        wanted = normalize_label(text)
        if not wanted:
            return None
        for key, department in self.kb.departments.items():
            labels = (key, department.name, *department.aliases)
            if wanted in {normalize_label(label) for label in labels}:
                return key
        return None
