"""The one place that knows every table: importing a model module registers it."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "knowledge.question_log",
    "knowledge.learned",
    "desk.models",
    "ledger.models",
    "scheduler.models",
)


def register_models() -> None:
    """Import every model module that exists so SQLModel.metadata knows its tables."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module
                raise
