"""The one place that knows every table: importing a model module registers it."""

from __future__ import annotations

from config.modules import import_if_present

MODEL_MODULES = (
    "knowledge.question_log",
    "knowledge.learned",
    "desk.models",
    "ledger.models",
    "scheduler.models",
    "delivery.outbox",
    "delivery.inbox",
)


def register_models() -> None:
    """Import every model module that exists so SQLModel.metadata knows its tables."""
    for name in MODEL_MODULES:
        import_if_present(name)
