"""Database engine and units of work (SQLModel on SQLite or PostgreSQL)."""

import storage.versions  # noqa: F401 - bumps the cached facts' versions on every change
from storage.db import Database, utcnow
from storage.types import UTCDateTime

__all__ = ["Database", "UTCDateTime", "utcnow"]
