"""What every command needs: settings, the database and the knowledge base, or one clear line."""

from __future__ import annotations

import sys
from typing import NoReturn

import texts
from config import Settings, SettingsError, load_settings
from knowledge.errors import KnowledgeError
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from storage import Database


def fail(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(texts.SETTINGS_INVALID.format(detail=exc))


def open_database(settings: Settings) -> Database:
    """Open the configured database and create missing tables."""
    db = Database(settings.database_url)
    db.migrate()
    return db


def knowledge_or_exit(settings: Settings) -> KnowledgeBase:
    try:
        return load_knowledge(settings.knowledge_path)
    except KnowledgeError as exc:
        fail(texts.KB_INVALID.format(problems="\n".join(str(p) for p in exc.problems)))
