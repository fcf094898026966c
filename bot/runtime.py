"""Run the bot the way an operator can trust (`python bot.py` calls `main`).

- The database and Telegram are waited for at start-up: one line per attempt, retried with
  backoff up to STARTUP_RETRY_MAX_SECONDS, until they answer or the process is told to stop.
- The token (and the webhook secret) never reach a log line: every line passes a redacting
  formatter, and httpx's request log (which carries the token in the URL) is quieted.
- Polling by default; webhook mode when TELEGRAM_WEBHOOK_URL is set (bot.webhook). A second
  poller on the same token (Telegram's 409 Conflict) says so in one line and stops.
- The JobQueue starts paused; bot.leader resumes it only in the one instance holding the
  scheduler lease.
- SIGTERM/SIGINT: stop taking updates, finish the ones in flight and a running job, release the
  lease, and exit within SHUTDOWN_GRACE_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from telegram import Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.app import build_application, settle_start_up_heap
from bot.leader import SchedulerLeader, default_instance_name
from bot.services import Services
from bot.telegram_io import SERVICES_KEY
from config import Settings

log = logging.getLogger("steward")
T = TypeVar("T")
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

EXIT_OK = 0
EXIT_FAILED = 1
QUIET_LOGGERS = ("httpx", "httpcore", "alembic", "apscheduler", "uvicorn.access")


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces every secret in the finished line (message and traceback)."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, "<redacted>")
        return line


def configure_logging(settings: Settings) -> None:
    """One stderr handler whose lines never carry the token or the webhook secret."""
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret) if s]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _brief(exc: BaseException) -> str:
    """One line about an error, without the chained driver text."""
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless told to stop first; True when told to stop."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


def _delays(settings: Settings) -> Iterator[float]:
    delay = 1.0
    while True:
        yield min(delay, settings.startup_retry_max_seconds)
        delay *= 2


async def _retrying(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    retry_on: tuple[type[BaseException], ...],
    *,
    settings: Settings,
    stop: asyncio.Event,
) -> T | None:
    """Run `attempt` until it succeeds; None when told to stop while waiting."""
    for delay in _delays(settings):
        try:
            return await attempt()
        except BadRequest:  # Telegram understood and refused: waiting will not change its mind
            raise
        except retry_on as exc:
            log.warning("%s: %s; retrying in %.0f s", what, _brief(exc), delay)
        if await _wait(stop, delay):
            return None
    raise AssertionError("unreachable")


class Runtime:
    """One bot process: start-up, serving (polling or webhook), the scheduler lease, shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.exit_code = EXIT_OK
        self.name = settings.instance_name or default_instance_name()

    # ------------------------------------------------------------------ start-up
    async def _build(self) -> AnyApplication | None:
        """Build the application, waiting for a database that is not up yet."""
        settings = self.settings
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        if settings.database_url.startswith("sqlite"):
            try:
                return build_application(settings)
            except (OperationalError, InterfaceError) as exc:  # a file that cannot be opened: waiting will not help
                log.error("cannot open the database at %s: %s", where, _brief(exc))
                self.exit_code = EXIT_FAILED
                return None

        async def attempt() -> AnyApplication:
            return build_application(settings)

        return await _retrying(
            f"database unreachable at {where}",
            attempt,
            (OperationalError, InterfaceError),
            settings=settings,
            stop=self.stop,
        )

    async def _initialize(self, application: AnyApplication) -> bool:
        """Reach Telegram (getMe), retrying while it is down; False when told to stop first."""

        async def attempt() -> bool:
            await application.initialize()
            return True

        done = await _retrying(
            "Telegram unreachable", attempt, (NetworkError, RetryAfter), settings=self.settings, stop=self.stop
        )
        return bool(done)

    def _conflict(self, exc: Conflict) -> None:
        """Telegram's 409: another instance polls with this token, so this one stops."""
        log.error("another instance is polling with this bot token (Telegram: 409 Conflict); stopping this one")
        self.exit_code = EXIT_FAILED
        self.stop.set()

    # ------------------------------------------------------------------ health
    async def health(self, application: AnyApplication, leader: SchedulerLeader) -> tuple[bool, dict[str, Any]]:
        services: Services = application.bot_data[SERVICES_KEY]
        detail: dict[str, Any] = {"instance": self.name}
        try:
            await services.db.run(lambda *, session: session.execute(text("SELECT 1")).scalar_one())
            holder = await leader.current_holder()
            detail["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - health reports it, never raises
            holder = None
            detail["database"] = f"unreachable ({type(exc).__name__})"
        items = len(services.knowledge.kb.items)
        detail["knowledge_items"] = items
        detail["scheduler"] = {"holder": holder, "this_instance": leader.holds_now()}
        return detail["database"] == "ok" and items > 0, detail

    # ------------------------------------------------------------------ serving
    async def _serve_webhook(
        self, application: AnyApplication, leader: SchedulerLeader
    ) -> Callable[[], Awaitable[None]]:
        import uvicorn

        from bot.webhook import build_webhook_app, webhook_path

        settings = self.settings
        url = settings.telegram_webhook_url or ""
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""

        app = build_webhook_app(
            application=application,
            path=webhook_path(url),
            secret=secret,
            health=lambda: self.health(application, leader),
        )
        host, port = settings.listen_address
        server = _Server(
            uvicorn.Config(
                app, host=host, port=port, log_level="warning", lifespan="off", access_log=False, log_config=None
            )
        )
        task = asyncio.create_task(server.serve())

        def server_ended(done: asyncio.Task[None]) -> None:
            if not self.stop.is_set():
                log.error("the webhook server stopped (is %s free?)", settings.webhook_listen)
                self.exit_code = EXIT_FAILED
                self.stop.set()

        task.add_done_callback(server_ended)
        log.info("webhook mode: listening on %s, Telegram posts to %s", settings.webhook_listen, url)

        async def set_webhook() -> bool:
            return await application.bot.set_webhook(url=url, secret_token=secret, allowed_updates=Update.ALL_TYPES)

        try:
            await _retrying(
                "could not set the webhook", set_webhook, (NetworkError, RetryAfter), settings=settings, stop=self.stop
            )
        except BadRequest as exc:
            log.error("Telegram refused the webhook %s: %s", url, exc.message)
            self.exit_code = EXIT_FAILED
            self.stop.set()

        async def stop_serving() -> None:
            server.should_exit = True
            with contextlib.suppress(BaseException):
                await task

        return stop_serving

    async def _serve_polling(self, application: AnyApplication) -> Callable[[], Awaitable[None]]:
        from bot.polling import poll

        async def delete_webhook() -> bool:
            return await application.bot.delete_webhook()

        if (
            await _retrying(
                "could not leave webhook mode",
                delete_webhook,
                (NetworkError, RetryAfter),
                settings=self.settings,
                stop=self.stop,
            )
            is None
        ):
            return _nothing
        polling_stop = asyncio.Event()
        task = asyncio.create_task(poll(application, stop=polling_stop, on_conflict=self._conflict))
        log.info("polling for updates")

        async def stop_serving() -> None:
            polling_stop.set()
            await task

        return stop_serving

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        application = await self._build()
        if application is None:
            return self.exit_code
        try:
            if not await self._initialize(application):
                return self.exit_code
        except InvalidToken:
            log.error("Telegram rejected the bot token (TELEGRAM_BOT_TOKEN); check it with @BotFather")
            return EXIT_FAILED
        except BadRequest as exc:
            log.error("Telegram refused the start-up call: %s", exc.message)
            return EXIT_FAILED
        try:
            return await self._run_initialized(application)
        finally:
            with contextlib.suppress(Exception):
                await application.shutdown()

    async def _run_initialized(self, application: AnyApplication) -> int:
        if application.post_init:
            await application.post_init(application)
        settle_start_up_heap()
        services: Services = application.bot_data[SERVICES_KEY]
        scheduler = application.job_queue.scheduler if application.job_queue else None
        if scheduler is not None:
            scheduler.start(paused=True)  # resumed only while this instance holds the lease
        leader = SchedulerLeader(
            db=services.db,
            name=self.name,
            seconds=self.settings.scheduler_lease_seconds,
            on_gain=scheduler.resume if scheduler else _noop,
            on_loss=scheduler.pause if scheduler else _noop,
        )
        await application.start()
        leader_stop = asyncio.Event()
        leader_task = asyncio.create_task(leader.run(leader_stop))
        if self.settings.webhook_mode:
            stop_serving = await self._serve_webhook(application, leader)
        else:
            stop_serving = await self._serve_polling(application)
        await self.stop.wait()
        log.info("stopping: finishing the work in flight")
        try:
            await asyncio.wait_for(
                self._drain(application, leader, leader_stop, leader_task, stop_serving),
                timeout=self.settings.shutdown_grace_seconds,
            )
        except TimeoutError:
            log.warning("work still in flight after %.0f s; exiting anyway", self.settings.shutdown_grace_seconds)
        log.info("stopped")
        return self.exit_code

    async def _drain(
        self,
        application: AnyApplication,
        leader: SchedulerLeader,
        leader_stop: asyncio.Event,
        leader_task: asyncio.Task[None],
        stop_serving: Callable[[], Awaitable[None]],
    ) -> None:
        await stop_serving()  # no new updates
        leader_stop.set()
        await leader_task
        if application.job_queue is not None and leader.holding:
            application.job_queue.scheduler.pause()  # no new job runs; a running one finishes in stop()
        if application.running:
            await application.stop()  # processes what was received, waits for running jobs
            if application.post_stop:
                await application.post_stop(application)
        await leader.release()


try:
    import uvicorn as _uvicorn

    class _Server(_uvicorn.Server):
        """uvicorn without signal handlers of its own: the runtime owns SIGTERM and stops it."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield
except ImportError:  # pragma: no cover - webhook mode needs uvicorn; polling does not
    _Server = None  # type: ignore[assignment,misc]


async def _nothing() -> None:
    return None


def _noop() -> None:
    return None


def main(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT (or a fatal start-up error); return the exit code."""
    configure_logging(settings)
    return asyncio.run(Runtime(settings).run())
