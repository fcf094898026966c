"""Run the Steward bot in polling mode: `python bot.py` (settings from the environment or .env)."""

from __future__ import annotations

import logging
import sys


def main() -> int:
    """Start the bot; exit with one clear line when something is missing."""
    import texts
    from config import SettingsError, load_settings
    from knowledge.errors import KnowledgeError

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(texts.SETTINGS_INVALID.format(detail=exc), file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value().strip():
        print(texts.TOKEN_MISSING, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import InterfaceError, OperationalError
    from telegram import Update

    from bot.app import build_application

    try:
        application = build_application(settings)
    except KnowledgeError as exc:
        print(texts.KB_INVALID.format(problems="\n".join(str(p) for p in exc.problems)), file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(texts.SETTINGS_INVALID.format(detail=exc), file=sys.stderr)
        return 2
    except (OperationalError, InterfaceError) as exc:  # the database is down: one line
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        print(texts.CLI_DATABASE_UNREACHABLE.format(url=url, reason=reason), file=sys.stderr)
        return 2
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
