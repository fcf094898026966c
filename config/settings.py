"""Typed settings from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BUNDLED_KNOWLEDGE_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "data"
DEFAULT_BUSINESS_HOURS = "09:00-12:00,13:30-17:30"
DEFAULT_MODEL_NAME = "steward-model.npz"  # the trained model's file (knowledge/model_file.py)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    """Everything the bot and the command line can be told from outside."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    database_url: str = "sqlite:///steward.db"
    knowledge_path: Path = BUNDLED_KNOWLEDGE_PATH
    # The trained model's file (knowledge/model_file.py); default: `steward-model.npz` beside the SQLite file,
    # or in the working directory on PostgreSQL (the `model_file` property).
    model_path: Path | None = None
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"

    # Matcher thresholds: scores are 0-1; the gap is between the best and the runner-up.
    match_answer_threshold: float = Field(default=0.62, ge=0, le=1)
    match_clarify_threshold: float = Field(default=0.45, ge=0, le=1)
    match_min_gap: float = Field(default=0.12, ge=0, le=1)
    match_guess_threshold: float = Field(default=0.35, ge=0, le=1)  # a message with no conversation: best item offered
    context_minutes: float = Field(default=10, ge=0)  # how long a follow-up may borrow from the asker's last question

    # Who is where (Telegram group membership is the access control).
    steward_chat_id: int | None = None
    lead_chat_id: int | None = None
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    # The response commitment.
    sla_first_response_minutes: float = Field(default=30, gt=0)
    sla_warn_before_minutes: float = Field(default=10, ge=0)
    business_hours: str = DEFAULT_BUSINESS_HOURS
    sla_sweep_seconds: float = Field(default=30, gt=0)
    calendar_overrides_path: Path | None = None

    # The ledger.
    first_half_deadline: str = "03-31"
    second_half_deadline: str = "08-31"
    reminder_time: str = "09:00"
    reminder_catch_up_seconds: float = Field(default=15, ge=0)  # after start-up: what today missed
    # a round the database (or anything but bad data) cut short runs again this much later, up to N times a day
    reminder_retry_seconds: float = Field(default=300, gt=0)
    reminder_retries: int = Field(default=12, ge=0)
    report_weekday: int = Field(default=0, ge=0, le=6)  # Monday

    # Delivery (the outbox sender): Telegram's limits, and how long a claim may stay unfinished.
    outbox_per_second: float = Field(default=30, gt=0)
    outbox_group_per_minute: int = Field(default=20, gt=0)
    outbox_lease_seconds: float = Field(default=60, gt=0)
    outbox_keep_days: float = Field(default=30, gt=0)  # sent and failed messages are deleted after this
    # Storage: on PostgreSQL, group-committed transactions of updates in flight at once (storage/batch.py;
    # SQLite always has one)
    db_transactions_in_flight: int = Field(default=1, ge=1, le=16)
    # Deployment: webhook mode, several instances on one database, start-up.
    telegram_webhook_url: str | None = None  # set: serve a webhook (behind a reverse proxy) instead of polling
    webhook_listen: str = "0.0.0.0:8080"  # host:port the webhook and /healthz server binds
    webhook_secret: SecretStr | None = None  # X-Telegram-Bot-Api-Secret-Token; required in webhook mode
    scheduler_lease_seconds: float = Field(default=30, ge=1)  # a dead scheduler holder is replaced after this
    inbox_lease_seconds: float = Field(default=30, ge=1)  # what a dead instance stored is processed after this
    instance_name: str | None = None  # names this instance in the lease and logs (default host:pid)
    startup_retry_max_seconds: float = Field(default=30, gt=0)  # longest wait between start-up retries
    shutdown_grace_seconds: float = Field(default=8, gt=0)  # in-flight work gets this long after SIGTERM

    @field_validator("model_path", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port, e.g. 0.0.0.0:8080")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        import re

        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL, e.g. https://bot.example.org/telegram")
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("reminder_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        from datetime import datetime as _dt

        try:
            _dt.strptime(value.strip(), "%H:%M")
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day HH:MM, e.g. 09:00") from None
        return value.strip()

    @field_validator("first_half_deadline", "second_half_deadline")
    @classmethod
    def _month_day(cls, value: str) -> str:
        from datetime import date as _date

        try:
            month, day = (int(part) for part in value.strip().split("-"))
            _date(2024, month, day)  # a leap year, so 02-29 is a valid deadline
        except ValueError:
            raise ValueError(f"{value!r} is not a month and day MM-DD, e.g. 03-31") from None
        return f"{month:02d}-{day:02d}"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{value!r} 不是日志级别，应为 DEBUG、INFO、WARNING、ERROR 或 CRITICAL")
        return level

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} 不是网址，应形如 http://127.0.0.1:8081/bot")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL (e.g. sqlite:///steward.db or postgresql+psycopg://...)") from None
        if not url.drivername.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @property
    def model_file(self) -> Path:
        """Where the trained model is kept: MODEL_PATH, else `steward-model.npz` in the SQLite file's folder
        (the working directory for PostgreSQL or an in-memory SQLite database)."""
        if self.model_path is not None:
            return self.model_path
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        database = url.database or ""
        if (
            url.drivername.startswith("sqlite")
            and database
            and database != ":memory:"
            and not database.startswith("file:")
        ):
            return Path(database).parent / DEFAULT_MODEL_NAME
        return Path(DEFAULT_MODEL_NAME)

    @property
    def webhook_mode(self) -> bool:
        return bool(self.telegram_webhook_url)

    @property
    def listen_address(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad one raises SettingsError with one line naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
