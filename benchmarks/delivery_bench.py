"""Delivery benchmark: questions per second through the real Application, on SQLite and
PostgreSQL, beside a bare python-telegram-bot echo handler in the same harness; and a
broadcast to 1,000 groups through the outbox sender with occasional 429s.

    python -m benchmarks.delivery_bench [--updates 2000] [--groups 1000] [--skip-broadcast]
        [--rate 300] [--kinds answers,handoffs,status] [--databases SQLite,PostgreSQL]

Harness: the Bot API is an in-process request that answers at once (no network), so what is
measured is the bot's own time: the update's processing (one transaction: the question log
row and the owed answer, or the ticket with its acknowledgement and card), and the sender
delivering every owed message (pacing lifted: rate_limit=False). Updates come from 50 help
groups, fed as PTB's update fetcher does (a task per update through the update processor).
Burst (every update fed at once): handled q/s = updates / time until every handler finished
(each update's transaction committed: its log row, context, owed messages, ticket); delivered
q/s = updates / time until, besides, every owed message was delivered; p50/p99 = per-update
handler time (from its chat's turn to the handler's end; the queue before it and the outbox
send excluded). Open load (`--rate`, default 300 updates a second, evenly spaced over the 50
groups): p50/p99 of the same own time (its chat's turn to its handler's end), and p50/p99/max
from the update's arrival to its handler's end (adds the wait behind its chat's previous update).
The handler's end is after its transaction committed: the group commit resolves each unit's
future only then, so "own time" runs from the turn to the commit. The open load runs twice per
kind: with the sender under Telegram's limits, as in production (it then sends at most 30
messages a second beside the handlers, and what is owed stays queued), and with the pacing
lifted (it delivers as fast as it can and competes with the handlers for the CPU).
The broadcast uses the production limits (30 messages/s overall), so its floor is
groups / 30 s; about 2% of the sends meet a 429 (retry_after 1 s) once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")

# 32-bit ids: question_log.chat_id/user_id are 32-bit on PostgreSQL until issue 9's migration.
GROUPS = [-100000 - n for n in range(50)]
STEWARDS = -1009000000001


def _instant_request() -> Any:
    from telegram.request import BaseRequest, RequestData

    class Instant(BaseRequest):
        """Answers every Bot API call at once, like Telegram would (ids, echoes)."""

        def __init__(self, fail: Callable[[int], bool] | None = None) -> None:
            self.fail = fail
            self.sent = 0
            self.refused = 0
            self.next_id = 1000

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        @property
        def read_timeout(self) -> float:
            return 1.0

        async def do_request(
            self,
            url: str,
            method: str,
            request_data: RequestData | None = None,
            read_timeout: Any = None,
            write_timeout: Any = None,
            connect_timeout: Any = None,
            pool_timeout: Any = None,
        ) -> tuple[int, bytes]:
            api = url.rsplit("/", 1)[-1]
            params = request_data.parameters if request_data else {}
            bot = {"id": 999, "is_bot": True, "first_name": "项目管家", "username": "steward_bench_bot"}
            if api == "getMe":
                return 200, json.dumps({"ok": True, "result": bot}).encode()
            if api in ("sendMessage", "editMessageText"):
                chat = int(str(params.get("chat_id", 0)))
                if self.fail is not None and self.fail(chat):
                    self.refused += 1
                    return 429, json.dumps(
                        {
                            "ok": False,
                            "error_code": 429,
                            "description": "Too Many Requests",
                            "parameters": {"retry_after": 1},
                        }
                    ).encode()
                self.sent += 1
                self.next_id += 1
                message = {
                    "message_id": self.next_id,
                    "date": int(time.time()),
                    "from": bot,
                    "chat": {"id": chat, "type": "supergroup", "title": "群"},
                    "text": str(params.get("text", "")),
                }
                return 200, json.dumps({"ok": True, "result": message}).encode()
            if api == "getUpdates":
                return 200, b'{"ok": true, "result": []}'
            return 200, b'{"ok": true, "result": true}'

    return Instant


def _update(bot: Any, n: int, text: str) -> Any:
    from telegram import Update

    chat = GROUPS[n % len(GROUPS)]
    return Update.de_json(
        {
            "update_id": 10_000 + n,
            "message": {
                "message_id": 100 + n,
                "date": int(time.time()),
                "text": text,
                "chat": {"id": chat, "type": "supergroup", "title": "帮办群"},
                "from": {"id": 1_000_000 + n, "is_bot": False, "first_name": f"企业{n}"},
            },
        },
        bot,
    )


@dataclass
class Run:
    handled: float  # seconds until every update's handlers finished (its transaction committed)
    delivered: float  # seconds until, besides, every owed message was delivered
    latencies: list[float]  # per update, ms: handler time from its chat's turn
    waits: list[float]  # per update, ms: from arrival (fed to the processor) to its handler's end


async def _feed(app: Any, updates: list[Any], drain: Callable[[], Any], rate: float | None = None) -> Run:
    """Feed the updates as PTB's fetcher does: all at once (a burst), or `rate` a second
    evenly spaced (an open load); returns the times and per-update latencies."""
    latencies: list[float] = []
    waits: list[float] = []

    async def timed(update: Any, arrived: float) -> None:
        started = time.perf_counter()  # the processor has started it: its chat's turn
        await app.process_update(update)
        ended = time.perf_counter()
        latencies.append((ended - started) * 1000)
        waits.append((ended - arrived) * 1000)

    async def one(update: Any) -> None:
        await app.update_processor.process_update(update, timed(update, time.perf_counter()))

    started = time.perf_counter()
    tasks = []
    for n, update in enumerate(updates):
        if rate:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(update)))
    await asyncio.gather(*tasks)
    handled = time.perf_counter() - started
    await drain()
    return Run(handled, time.perf_counter() - started, latencies, waits)


def _seed_status(db: Any, workdir: Path) -> None:
    from desk.bindings import bind_help_chat
    from desk.models import Role
    from desk.roles import Actor
    from ledger.importer import import_file
    from tests.ledger_support import ledger_row, write_xlsx

    rows = [
        ledger_row(项目代码=f"B{n:03d}", 项目名称=f"项目{n}", 手续="环评", 受理日期="2026-03-02", days=5)
        for n in range(len(GROUPS))
    ]
    db.call(import_file, path=write_xlsx(workdir / "ledger.xlsx", rows))
    admin = Actor(user_id=1, chat_id=None, role=Role.admin)
    for n, chat in enumerate(GROUPS):
        db.call(
            bind_help_chat,
            actor=admin,
            chat_id=chat,
            project_code=f"B{n:03d}",
            now=datetime(2026, 3, 1, tzinfo=timezone.utc),
        )


async def _steward_run(
    url: str, kind: str, n: int, workdir: Path, rate: float | None = None, *, paced: bool = False
) -> Run:
    """`paced`: the sender under Telegram's limits, as in production (30 messages a second in
    all, 20 a minute per group), so it does at most 30 sends a second beside the handlers; the
    run ends when every update is handled and what is owed stays queued. Otherwise the pacing
    is lifted and the sender delivers everything as fast as it can, competing for the CPU."""
    from bot.app import build_application, settle_start_up_heap, stop_delivery
    from bot.sender import sender_of
    from config import Settings
    from storage import Database

    db = Database(url)
    db.drop_all()
    db.migrate()
    if kind == "status":
        _seed_status(db, workdir)
    settings = Settings(
        _env_file=None,
        telegram_bot_token="123456:BENCH",
        database_url=url,
        steward_chat_id=STEWARDS,
        business_hours="24x7",
    )
    Instant = _instant_request()
    app = build_application(settings, request=Instant(), rate_limit=paced)
    await app.initialize()
    await app.post_init(app)  # type: ignore[misc]
    settle_start_up_heap()  # as bot.runtime does once the application is initialised
    text = {"answers": "环评要什么材料？", "handoffs": "营业执照怎么办理？", "status": "我们环评办到哪一步了"}[kind]
    sender = sender_of(app)
    warm = [_update(app.bot, 900_000 + i, text) for i in range(50)]
    await _feed(app, warm, lambda: sender.drain(timeout=0.2 if paced else 10.0))
    updates = [_update(app.bot, i, f"{text}（{i}）" if kind == "handoffs" else text) for i in range(n)]
    result = await _feed(app, updates, lambda: sender.drain(timeout=0.0 if paced else 120.0), rate)
    await stop_delivery(app)
    await app.shutdown()
    db.dispose()
    return result


async def _echo_run(n: int, rate: float | None = None) -> Run:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Echo the message."""
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    Instant = _instant_request()
    request = Instant()
    app = (
        ApplicationBuilder()
        .token("123456:BENCH")
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(256)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()

    async def nothing() -> None:
        return None

    await _feed(app, [_update(app.bot, 900_000 + i, "环评要什么材料？") for i in range(50)], nothing)
    result = await _feed(app, [_update(app.bot, i, "环评要什么材料？") for i in range(n)], nothing, rate)
    await app.shutdown()
    return result


async def _broadcast(url: str, groups: int) -> dict[str, float]:
    from telegram import Bot

    from bot.jobs.broadcast import Broadcaster, Message
    from bot.sender import Limits, Sender
    from storage import Database

    db = Database(url)
    db.drop_all()
    db.migrate()
    rng = random.Random(3)
    unlucky = {-1002000000000 - g for g in range(groups) if rng.random() < 0.02}
    refused: set[int] = set()

    def fail(chat: int) -> bool:
        if chat in unlucky and chat not in refused:
            refused.add(chat)
            return True
        return False

    Instant = _instant_request()
    request = Instant(fail)
    bot = Bot("123456:BENCH", request=request, get_updates_request=request)
    await bot.initialize()
    owe = Broadcaster(bot=bot, db=db, clock=lambda: datetime.now(timezone.utc))
    for g in range(groups):
        await owe.send(chat_id=-1002000000000 - g, key=f"bench|{g}", message=Message(text=f"提醒 {g}"))
    sender = Sender(bot=bot, db=db, limits=Limits())
    started = time.perf_counter()
    stats = await sender.drain(timeout=groups / 30 * 3)
    seconds = time.perf_counter() - started
    await bot.shutdown()
    db.dispose()
    return {
        "groups": groups,
        "429s": request.refused,
        "sent": stats.sent,
        "seconds": seconds,
        "floor": groups / 30,
        "ratio": seconds / (groups / 30),
    }


def _p(values: list[float], share: float) -> float:
    q = sorted(values)
    return q[min(len(q) - 1, int(len(q) * share))]


def _row(name: str, run: Run, n: int) -> str:
    return (
        f"| {name} | {n:,} | {n / run.handled:,.0f} | {n / run.delivered:,.0f} | "
        f"{statistics.median(run.latencies):.1f} | {_p(run.latencies, 0.99):.1f} |"
    )


def _rate_row(name: str, run: Run, n: int, rate: float) -> str:
    return (
        f"| {name} | {rate:,.0f} | {n / run.handled:,.0f} | {statistics.median(run.latencies):.1f} | "
        f"{_p(run.latencies, 0.99):.1f} | {statistics.median(run.waits):.1f} | "
        f"{_p(run.waits, 0.99):.1f} | {_p(run.waits, 1.0):.1f} |"
    )


@contextmanager
def bench_databases(workdir: Path, postgres: str) -> Iterator[dict[str, str]]:
    """The benchmark's databases by name: a SQLite file in `workdir`, and PostgreSQL when reachable, in a
    schema of its own (created here, dropped after)."""
    import uuid

    import psycopg

    from tests.databases import postgres_reachable

    databases = {"SQLite": f"sqlite:///{workdir / 'bench.db'}"}
    admin = postgres.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:8]}" if postgres_reachable() else None
    if schema is not None:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
        databases["PostgreSQL"] = f"{postgres}?options=-csearch_path%3D{schema}"
    try:
        yield databases
    finally:
        if schema is not None:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-broadcast", action="store_true")
    parser.add_argument("--rate", type=float, default=300.0, help="the open load's updates a second (0: none)")
    parser.add_argument("--kinds", default="answers,handoffs,status")
    parser.add_argument("--databases", default="SQLite,PostgreSQL", help="which of SQLite, PostgreSQL to run")
    parser.add_argument(
        "--open-limits",
        choices=["both", "telegram", "lifted"],
        default="both",
        help="the open load's sender: under Telegram's limits (as in production), pacing lifted, or both",
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    wanted = args.databases.split(",")
    unknown = set(wanted) - {"SQLite", "PostgreSQL"}
    if unknown:
        parser.error(f"--databases: {', '.join(sorted(unknown))} is none of SQLite, PostgreSQL")
    workdir = Path(tempfile.mkdtemp(prefix="delivery-bench-"))
    print("Burst: every update fed at once.\n")
    print("| system | updates | handled q/s | delivered q/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(_row("bare PTB echo handler (ceiling)", asyncio.run(_echo_run(args.updates)), args.updates), flush=True)
    with bench_databases(workdir, args.postgres) as every_database:
        databases = {name: url for name, url in every_database.items() if name in wanted}
        for name, url in databases.items():
            for kind in kinds:
                run = asyncio.run(_steward_run(url, kind, args.updates, workdir))
                print(_row(f"steward {kind}, {name}", run, args.updates), flush=True)
        if args.rate:
            print(
                f"\nOpen load: {args.rate:g} updates a second, evenly spaced; own = from its chat's turn to its "
                "transaction's commit (the handler's end); arrival = from arrival to the same end.\n"
            )
            print(
                "| system | offered q/s | handled q/s | own p50 ms | own p99 ms | arrival p50 ms | arrival p99 ms | max ms |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            run = asyncio.run(_echo_run(args.updates, args.rate))
            print(_rate_row("bare PTB echo handler (ceiling)", run, args.updates, args.rate), flush=True)
            pacings = {"both": (True, False), "telegram": (True,), "lifted": (False,)}[args.open_limits]
            for name, url in databases.items():
                for kind in kinds:
                    for paced in pacings:
                        run = asyncio.run(_steward_run(url, kind, args.updates, workdir, args.rate, paced=paced))
                        label = f"steward {kind}, {name}, {'Telegram limits' if paced else 'pacing lifted'}"
                        print(_rate_row(label, run, args.updates, args.rate), flush=True)
        if not args.skip_broadcast:
            result = asyncio.run(_broadcast(every_database["SQLite"], args.groups))
            print(
                f"\nbroadcast to {result['groups']:,} groups (SQLite): {result['seconds']:.1f} s for "
                f"{result['sent']:,} messages, {result['429s']} answered 429 once; floor "
                f"{result['floor']:.1f} s at 30 messages/s; ratio {result['ratio']:.3f}"
            )


if __name__ == "__main__":
    main()
