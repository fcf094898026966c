"""Settings from the environment and `.env`: defaults, overrides, and one clear line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

import knowledge
from config import Settings, SettingsError, load_settings

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No stray variable or .env of the developer's machine leaks into a test."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_sqlite_in_working_dir_shanghai_and_bundled_knowledge():
    s = load_settings()
    # a SQLite *file*, relative to the working directory (three slashes, not four; not in memory)
    assert s.database_url.startswith("sqlite:///")
    assert not s.database_url.startswith("sqlite:////")
    assert ":memory:" not in s.database_url
    assert s.database_url.removeprefix("sqlite:///").endswith(".db")
    assert s.timezone == "Asia/Shanghai"
    assert s.tz.key == "Asia/Shanghai"
    assert Path(s.knowledge_path).resolve() == BUNDLED
    assert (Path(s.knowledge_path) / "departments.yaml").is_file()
    assert s.telegram_bot_token is None
    assert s.admin_user_ids == []


def test_thresholds_have_sane_defaults():
    s = load_settings()
    assert 0 < s.match_guess_threshold < s.match_clarify_threshold < s.match_answer_threshold <= 1
    assert 0 < s.match_min_gap < 1


def test_environment_overrides_every_documented_setting(monkeypatch, tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@db.example:5432/steward")
    monkeypatch.setenv("KNOWLEDGE_PATH", str(kb))
    monkeypatch.setenv("TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("ADMIN_USER_IDS", "11, 22,333")
    s = load_settings()
    assert isinstance(s.telegram_bot_token, SecretStr)
    assert s.telegram_bot_token.get_secret_value() == "123456:ABC-secret"
    assert s.database_url == "postgresql+psycopg://postgres@db.example:5432/steward"
    assert Path(s.knowledge_path) == kb
    assert s.timezone == "Asia/Urumqi"
    assert s.admin_user_ids == [11, 22, 333]


def test_token_is_not_revealed_by_printing_the_settings(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:very-secret-token")
    s = load_settings()
    assert "very-secret-token" not in repr(s)
    assert "very-secret-token" not in str(s)
    assert "very-secret-token" not in str(s.telegram_bot_token)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", []), ("7", [7]), ("1,2", [1, 2]), (" 1 , 2 ,", [1, 2]), ("5;6", [5, 6])],
)
def test_admin_user_ids_are_comma_separated(monkeypatch, raw, expected):
    monkeypatch.setenv("ADMIN_USER_IDS", raw)
    assert load_settings().admin_user_ids == expected


def test_dotenv_file_in_working_directory_is_read_and_environment_wins(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Berlin\nADMIN_USER_IDS=42\n", encoding="utf-8")
    s = load_settings()
    assert s.timezone == "Europe/Berlin"
    assert s.admin_user_ids == [42]
    monkeypatch.setenv("TIMEZONE", "UTC")
    assert load_settings().timezone == "UTC"


def test_keyword_overrides_beat_the_environment(monkeypatch):
    monkeypatch.setenv("TIMEZONE", "UTC")
    assert load_settings(timezone="Asia/Tokyo").timezone == "Asia/Tokyo"


BAD_VALUES = [
    ("TIMEZONE", "Mars/Olympus_Mons"),
    ("TIMEZONE", ""),
    ("TIMEZONE", "Asia/Shanghai\nrm -rf /"),
    ("DATABASE_URL", "mysql://root@localhost/steward"),
    ("DATABASE_URL", ""),
    ("ADMIN_USER_IDS", "1,x"),
    ("ADMIN_USER_IDS", "12;abc;3"),
    ("MATCH_ANSWER_THRESHOLD", "1.5"),
    ("MATCH_MIN_GAP", "a lot"),
    ("STEWARD_CHAT_ID", "the group"),
    ("WEBHOOK_LISTEN", "8080"),
    ("WEBHOOK_LISTEN", "0.0.0.0:99999"),
    ("WEBHOOK_SECRET", "has spaces and ü"),
    ("TELEGRAM_WEBHOOK_URL", "bot.example.org/telegram"),
    ("SCHEDULER_LEASE_SECONDS", "0"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_malformed_setting_raises_one_line_naming_it(monkeypatch, name, value):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:do-not-leak-me")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert name in message
    assert message.strip()
    assert "\n" not in message and "\r" not in message
    assert "do-not-leak-me" not in message
    assert "Traceback" not in message
    # the error is self-contained: no chained pydantic traceback
    assert caught.value.__cause__ is None


def test_bad_keyword_override_names_the_setting():
    with pytest.raises(SettingsError, match="TIMEZONE"):
        load_settings(timezone="Nowhere/Land")


@pytest.mark.parametrize("value", ["sqlite", "sqlite:/steward.db"])
def test_database_url_without_scheme_separator_is_rejected(monkeypatch, value):
    monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REMINDER_TIME", "9am"),
        ("REMINDER_TIME", "25:00"),
        ("FIRST_HALF_DEADLINE", "0331"),
        ("SECOND_HALF_DEADLINE", "02-30"),
    ],
)
def test_malformed_ledger_schedule_settings_name_the_setting(monkeypatch, name, value):
    from config import SettingsError, load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert name in str(caught.value) and "\n" not in str(caught.value)


def test_ledger_schedule_settings_accept_good_values(monkeypatch):
    from config import load_settings

    monkeypatch.setenv("REMINDER_TIME", "08:30")
    monkeypatch.setenv("FIRST_HALF_DEADLINE", "3-31")
    settings = load_settings(_env_file=None)
    assert settings.reminder_time == "08:30" and settings.first_half_deadline == "03-31"
