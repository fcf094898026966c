"""What it costs an update that every instance sees the others' changes at once.

    python -m benchmarks.shared_facts_bench [--calls 2000] [--postgres-url URL]

bot.shared_facts checks its cached facts against the version rows (storage.versions) at the
start of each group-committed transaction (SharedFacts.check, nothing changed: one statement).
Side by side in one run, on SQLite and PostgreSQL with 200 bindings and 500 learned answers,
each as a unit of work of its own through Database.run: that check; the fingerprint of the
bindings and learned tables it replaced (count and latest change, read before every update);
and the baseline of simply re-reading the department chats and learned answers. Prints p50/p99
in milliseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from storage import Database

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)


def _fill(db: Database) -> None:
    from desk.models import ChatBinding
    from knowledge.learned import add_learned

    def fill(*, session: Any) -> None:
        for n in range(200):
            session.add(
                ChatBinding(
                    chat_id=-1_001_700_000_000 - n,
                    kind="department" if n % 4 == 0 else "help",
                    department_key=f"d{n}" if n % 4 == 0 else None,
                    title=f"群{n}",
                    bound_at=NOW,
                    updated_at=NOW,
                )
            )
        for n in range(500):
            add_learned(session=session, question=f"问题{n}", answer=f"答案{n}", item=None, at=NOW)

    db.call(fill)


def _reload_everything(*, session: Any) -> tuple[int, int]:
    from desk import work
    from knowledge.learned import list_learned

    return len(work.department_chat_ids(session=session)), len(list_learned(session=session))


def _time(db: Database, fn: Callable[..., Any], calls: int) -> list[float]:
    async def run() -> list[float]:
        await db.run(fn)  # warm-up
        seconds = []
        for _ in range(calls):
            started = time.perf_counter()
            await db.run(fn)
            seconds.append((time.perf_counter() - started) * 1000)
        return seconds

    return asyncio.run(run())


def _fingerprint(*, session: Any) -> tuple[object, ...]:
    """What the bot read before every update until the version rows replaced it."""
    from sqlmodel import func, select

    from desk.models import ChatBinding
    from knowledge.learned import LearnedEntry

    bindings = session.exec(select(func.count(), func.max(ChatBinding.updated_at))).one()
    learned = session.exec(select(func.count(), func.max(LearnedEntry.id))).one()
    return (*bindings, *learned)


def _row(name: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"| {name} | {statistics.median(ordered):.2f} | {p99:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    from bot.shared_facts import SharedFacts

    facts = SharedFacts()

    print("| database, per update | p50 ms | p99 ms |\n|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        targets: list[tuple[str, str, str | None]] = [("SQLite", f"sqlite:///{tmp}/bench.db", None)]
        if args.postgres_url:
            targets.append(("PostgreSQL", args.postgres_url, f"bench_{int(time.time())}"))
        for label, url, schema in targets:
            admin = None
            if schema:
                import psycopg

                admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
                admin.execute(f'CREATE SCHEMA "{schema}"')
                url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            db = Database(url)
            try:
                db.migrate()
                _fill(db)
                db.call(facts.check)
                print(_row(f"{label}: version check (shipped)", _time(db, facts.check, args.calls)))
                print(_row(f"{label}: fingerprint check (before)", _time(db, _fingerprint, args.calls)))
                print(_row(f"{label}: re-read chats + learned (baseline)", _time(db, _reload_everything, args.calls)))
            finally:
                db.dispose()
                if admin is not None:
                    admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
                    admin.close()


if __name__ == "__main__":
    main()
