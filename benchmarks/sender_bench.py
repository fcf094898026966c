"""Sender benchmark: a backlog of messages owed to one chat (a burst of handoffs owes the one
steward group a card each), drained by the outbox sender with Telegram's pacing lifted, on
SQLite and PostgreSQL, with the claim statement as shipped beside the one it replaced.

    python -m benchmarks.sender_bench [--messages 1000] [--postgres URL]

The Bot API is an in-process request that answers at once, so what is measured is the sender's
own work: one round per message (the last outcome recorded, the chat's next head found and
claimed, in one transaction) and the send. "id IN (subquery FOR UPDATE)" is the claim before
this change: on a table without statistics PostgreSQL drove it from the status index and ran the
locking subquery once per pending row, so each claim cost time in proportion to the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.delivery_bench import bench_databases

warnings.filterwarnings("ignore")

STEWARDS = -1009000000001


def _claim_as_before() -> Any:
    """The claim statement before this change: `id IN (SELECT … FOR UPDATE SKIP LOCKED)`."""
    from delivery.outbox import OutboxMessage, claim_update, claimable_ids

    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    return claim_update(table.c.id.in_(claimable_ids().with_for_update(skip_locked=True).scalar_subquery()))


@contextmanager
def _claim_statement(which: str) -> Iterator[None]:
    import delivery.outbox as outbox

    shipped = outbox._CLAIM
    outbox._CLAIM = shipped if which == "shipped" else _claim_as_before()
    try:
        yield
    finally:
        outbox._CLAIM = shipped


async def _drain(url: str, messages: int) -> tuple[float, int]:
    from telegram import Bot

    from benchmarks.delivery_bench import _instant_request
    from bot.sender import Limits, Sender
    from delivery.outbox import Owed, Priority, enqueue, message_payload
    from storage import Database

    db = Database(url)
    db.drop_all()
    db.migrate()
    now = datetime.now(timezone.utc)

    def owe(*, session: Any) -> None:
        for n in range(messages):
            enqueue(
                session=session,
                owed=Owed(STEWARDS, message_payload(f"工单 #{n} 卡片"), "card", Priority.reply),
                now=now,
            )

    db.call(owe)
    request = _instant_request()()
    bot = Bot("123456:BENCH", request=request, get_updates_request=request)
    await bot.initialize()
    sender = Sender(bot=bot, db=db, limits=Limits.lifted())
    started = time.perf_counter()
    stats = await sender.drain(timeout=600)
    seconds = time.perf_counter() - started
    await bot.shutdown()
    db.dispose()
    return seconds, stats.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sender-bench-"))
    print(f"{args.messages:,} messages owed to one chat, drained by the sender (pacing lifted).\n")
    print("| database | claim statement | seconds | messages/s | ms per message |")
    print("|---|---|---:|---:|---:|")
    with bench_databases(workdir, args.postgres) as databases:
        for name, url in databases.items():
            for which, label in (
                ("before", "id IN (subquery FOR UPDATE), before"),
                ("shipped", "locked in a CTE, now"),
            ):
                with _claim_statement(which):
                    seconds, sent = asyncio.run(_drain(url, args.messages))
                print(
                    f"| {name} | {label} | {seconds:.2f} | {sent / seconds:,.0f} | {seconds / sent * 1000:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
