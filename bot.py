"""Run the Steward bot: `python bot.py` (settings from the environment or .env).

Polling by default; webhook mode when TELEGRAM_WEBHOOK_URL is set. The run itself is
bot.runtime; this file only turns bad settings into one clear line."""

from __future__ import annotations

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
    if settings.webhook_mode and settings.webhook_secret is None:
        print(
            texts.SETTINGS_INVALID.format(detail="WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set"),
            file=sys.stderr,
        )
        return 2

    from sqlalchemy.engine import make_url

    from bot.runtime import main as run
    from storage.migrate import DatabaseNewer, NotADatabase

    try:
        return run(settings)
    except DatabaseNewer as exc:
        print(texts.DATABASE_NEWER.format(detail=exc.detail), file=sys.stderr)
        return 2
    except NotADatabase as exc:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        print(texts.DATABASE_NOT_A_DATABASE.format(url=url, detail=exc.detail), file=sys.stderr)
        return 2
    except KnowledgeError as exc:
        print(texts.KB_INVALID.format(problems="\n".join(str(p) for p in exc.problems)), file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(texts.SETTINGS_INVALID.format(detail=exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
