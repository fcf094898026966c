"""Database engine and units of work (SQLModel on SQLite or PostgreSQL)."""

from storage.db import Database, utcnow
from storage.types import UTCDateTime

__all__ = ["Database", "UTCDateTime", "utcnow"]
