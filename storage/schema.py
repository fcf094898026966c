"""The one place that knows every table: importing a model module registers it."""

from __future__ import annotations


def register_models() -> None:
    """Import every model module so SQLModel.metadata knows its tables."""
    # Imported here, not at module level: the model modules import storage themselves.
    import delivery.inbox
    import delivery.outbox  # noqa: F401
    import desk.models  # noqa: F401
    import knowledge.context
    import knowledge.learned
    import knowledge.question_log  # noqa: F401
    import ledger.models  # noqa: F401
    import scheduler.models  # noqa: F401
    import storage.lease
    import storage.versions  # noqa: F401
