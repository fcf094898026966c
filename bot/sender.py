"""The outbox's Telegram side: one Sender per process delivers the rows of delivery.outbox.

- Pacing: Telegram's limits per chat (20 messages a minute in a group, one a second in a
  private chat) and overall (30 a second). A chat that is busy, paced or answered 429 waits
  alone: the sender only asks the database for the head of each chat that may send now, so
  one chat never holds up another. Alerts go before replies, replies before reminders. Each
  part of a long text counts as a message; a part with no room yet sends the row back with the
  parts posted, and it goes on from there when its chat and the bucket have room.
- Order: one message at a time per chat, the next only after the outcome of the last is
  recorded, so a chat's messages arrive in the order they were owed.
- Faults: 5xx and dropped connections are retried with backoff per message, 429 after the
  server's retry_after (that chat only), a timeout (it may have arrived) is resent once;
  403 and 400 are final, recorded with the reason. Outcomes are recorded in batches.
- Wake-up: a commit that wrote outbox rows wakes the sender at once (a SQLAlchemy
  after_commit hook); rows written by other processes are found by a short poll.

On PostgreSQL several processes may each run a Sender (rows are claimed with FOR UPDATE SKIP
LOCKED); on SQLite run one per database. Only this module and bot/ know about Telegram.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import socket
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

import delivery.follow_ups  # noqa: F401 - registers the desk's and the reminders' follow-ups
from bot.telegram_io import services_of_app, split_message
from delivery.outbox import (
    POSTED_PARTS,
    WAKE_FLAG,
    ChatMoved,
    DeliveryOutcome,
    OutboxStats,
    OutboxView,
    Owed,
    SendResult,
    Verdict,
    claim,
    finish,
    next_due,
    outbox_stats,
    prune_final,
    ready_heads,
    reclaim_stale,
)
from storage import Database, utcnow

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)  # not reachable, as opposed to refusing the data


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0  # every chat together
    group_per_minute: int = 20  # one group or channel
    private_per_second: float = 1.0  # one private chat
    lease_seconds: float = 60.0  # a claim older than this belongs to a dead sender
    max_attempts: int = 30  # 5xx / network errors before a row may be given up …
    give_up_seconds: float = 3600.0  # … once it was also owed this long ago (an hour of Telegram down: still sent)
    poll_seconds: float = 0.5  # look for rows written by other processes
    backoff_seconds: float = 0.5  # first wait after a 5xx; doubles up to a minute
    keep_days: float = 30.0  # sent and failed rows are deleted this long after they were owed
    prune_seconds: float = 3600.0  # how often the sender deletes them (and once at start)

    @classmethod
    def lifted(cls) -> Limits:
        """No pacing and short backoffs: flow tests and benchmarks, where Telegram is a double."""
        return cls(per_second=1e6, group_per_minute=10**6, private_per_second=1e6, backoff_seconds=0.01)


class _Bucket:
    """The overall token bucket."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = now

    def refill(self, now: float) -> float:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens

    def take(self, n: float = 1.0) -> None:
        self.tokens -= n

    def wait(self) -> float:
        return max(0.0, (1.0 - self.tokens) / self.rate)


class _Pace:
    """One chat's sliding window, and how long a 429 told it to wait."""

    __slots__ = ("sent", "blocked_until")

    def __init__(self) -> None:
        self.sent: deque[float] = deque()
        self.blocked_until = 0.0

    def ready_at(self, now: float, window: float, most: int) -> float:
        while self.sent and self.sent[0] <= now - window:
            self.sent.popleft()
        ready = self.blocked_until
        if len(self.sent) >= most:
            ready = max(ready, self.sent[0] + window)
        return ready


class _NoRoom(Exception):
    """The next part of a long text may not go now: its chat's window or the overall bucket is full."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class Sender:
    """Delivers the outbox through `bot`; `clock` stamps the rows and `monotonic` paces the sends (real time by
    default)."""

    def __init__(
        self,
        *,
        bot: Bot,
        db: Database,
        limits: Limits | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_outcome: Callable[[DeliveryOutcome], Any] | None = None,
        on_moved: Callable[[ChatMoved], Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.db = db
        self.limits = limits or Limits()
        self.clock = clock
        self.monotonic = monotonic
        self.on_outcome = on_outcome
        self.on_moved = on_moved
        # Unique per run: a restarted container has the same host name and often pid 1, and a sender never
        # takes back its own claims, so the id of a run before must never come back.
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.sqlite = db.url.startswith("sqlite")
        self._bucket = _Bucket(self.limits.per_second, monotonic())
        self._paces: dict[int, _Pace] = {}
        self._inflight: set[int] = set()  # chats with a send or an unrecorded outcome
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[tuple[int, SendResult]] = []
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        # final outcomes `on_outcome` has not seen yet and moves `on_moved` has not, in the order recorded
        self._reactions: deque[DeliveryOutcome | ChatMoved] = deque()
        self._reactor: asyncio.Task[None] | None = None
        self._round_lock = asyncio.Lock()
        self._last_reclaim = 0.0
        self._last_prune = monotonic()  # start() prunes at once; a round after prune_seconds
        self._later: list[Callable[..., Any]] = []  # database work waiting for the database
        self._volatile: set[asyncio.Task[None]] = set()
        self.sent_count = 0

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Take up what a dead sender left half-done, then run until stop()."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._stopping = False
        event.listen(OrmSession, "after_commit", self._after_commit)
        event.listen(OrmSession, "after_rollback", self._after_rollback)
        # SQLite has one sender per database: whatever is `sending` was left by a dead process.
        lease = timedelta(0) if self.sqlite else timedelta(seconds=self.limits.lease_seconds)
        taken = await self.db.run(reclaim_stale, now=self.clock(), lease=lease)
        if taken:
            log.warning("outbox: %d message(s) left mid-send by a stopped process are due again", taken)
        await self._prune()
        self._runner = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop taking rows; let sends in flight end (bounded) and record their outcomes."""
        if self._runner is not None:
            # Asked, not cancelled: a round cancelled between its claim's commit and its sends left rows `sending`
            # with nothing sending them, and on Python 3.11 `wait_for` drops a cancel that meets the event it waits
            # on already set (a send just ended), so the loop ran on and stop() never returned.
            self._stopping = True
            self.wake()
            done, _ = await asyncio.wait({self._runner}, timeout=grace)
            if not done:  # a round stuck on the database: cancelled after all
                self._runner.cancel()
                await asyncio.wait({self._runner})
            self._runner = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        await self._flush()
        await self._reacted(timeout=grace)
        for fn, name in ((self._after_commit, "after_commit"), (self._after_rollback, "after_rollback")):
            if event.contains(OrmSession, name, fn):
                event.remove(OrmSession, name, fn)

    def wake(self) -> None:
        if self._event is not None:
            self._event.set()

    def _after_commit(self, session: OrmSession) -> None:
        # The hook is global to all sessions: only this sender's database may take the flag,
        # or another Sender in the process (another Application) swallows the wake-up.
        if session.bind is not self.db.engine:
            return
        if session.info.pop(WAKE_FLAG, False) and self._loop is not None and self._event is not None:
            try:
                self._loop.call_soon_threadsafe(self._event.set)
            except RuntimeError:  # the loop is closed: shutting down
                pass

    @staticmethod
    def _after_rollback(session: OrmSession) -> None:
        session.info.pop(WAKE_FLAG, None)

    async def _run(self) -> None:
        assert self._event is not None
        while not self._stopping:
            self._event.clear()
            try:
                delay = await self.round()
            except asyncio.CancelledError:
                raise
            except SQLAlchemyError as exc:
                log.warning("outbox: database unavailable (%s); trying again shortly", type(exc).__name__)
                delay = 1.0
            except Exception:
                log.exception("outbox round failed; trying again shortly")
                delay = 1.0
            if self._stopping:
                return
            try:
                async with asyncio.timeout(delay):  # not wait_for: see stop()
                    await self._event.wait()
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ one round

    def _pace_of(self, chat_id: int) -> tuple[_Pace, float, int]:
        pace = self._paces.get(chat_id)
        if pace is None:
            pace = self._paces[chat_id] = _Pace()
        if chat_id > 0:
            return pace, 1.0 / self.limits.private_per_second, 1
        return pace, 60.0, self.limits.group_per_minute

    def _room(self, chat_id: int) -> float:
        """Seconds until `chat_id` may get one more message: its window and the overall bucket (0: now)."""
        pace, window, most = self._pace_of(chat_id)
        now = self.monotonic()
        self._bucket.refill(now)
        return max(0.0, pace.ready_at(now, window, most) - now, self._bucket.wait())

    def _request(self, chat_id: int) -> None:
        """One request to `chat_id` goes out now: it counts in the chat's window (each part of a long text does)."""
        self._pace_of(chat_id)[0].sent.append(self.monotonic())

    # ------------------------------------------------------------------ the database is down

    def send_volatile(self, owed: Owed) -> None:
        """Send without a row (the database is down): retried in memory, lost in a crash."""
        view = OutboxView(-1, owed.chat_id, owed.method, dict(owed.payload), owed.purpose, int(owed.priority), 0, False)
        task = asyncio.create_task(self._send_volatile(view))
        self._volatile.add(task)
        task.add_done_callback(self._volatile.discard)

    async def _send_volatile(self, view: OutboxView) -> None:
        attempts = 0
        while True:
            wait = self._room(view.chat_id)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._bucket.take()
            attempts += 1
            view = replace(view, attempts=attempts)
            result = await self.attempt(view)
            if result.verdict is not Verdict.retry:
                if result.verdict is Verdict.sent:
                    self.sent_count += 1
                else:
                    log.warning("answer to chat %s not delivered: %s", view.chat_id, result.reason)
                return
            # a long text resumes at the part that failed, like a row's (POSTED_PARTS): the chat got the others
            payload = {**view.payload, POSTED_PARTS: list(result.posted_parts)} if result.posted_parts else view.payload
            view = replace(view, payload=payload, uncertain=view.uncertain or result.uncertain)
            await asyncio.sleep(max(0.0, ((result.retry_at or self.clock()) - self.clock()).total_seconds()))

    def later(self, unit: Callable[..., Any]) -> None:
        """Database work to do when the database is back (e.g. a question's log row)."""
        self._later.append(unit)

    async def _catch_up(self) -> None:
        """Run the delayed units of work, each in its own transaction, oldest first; stop
        at the first the database still refuses."""
        while self._later:
            unit = self._later[0]
            try:
                await self.db.run(_run_units, units=[unit])
            except DATABASE_DOWN:
                return  # still down: try again next round
            except Exception:
                log.exception("a delayed unit of work failed for another reason; dropping it")
            self._later.pop(0)
            log.info("database back: a delayed unit of work was written")

    # ------------------------------------------------------------------ one round

    async def round(self) -> float:
        """Start every send that may go now; returns how long to wait before the next round."""
        async with self._round_lock:
            return await self._round()

    async def _prune(self) -> None:
        """Delete the final rows older than `keep_days` (at start, then every `prune_seconds`)."""
        self._last_prune = self.monotonic()
        gone = await self.db.run(prune_final, now=self.clock(), keep=timedelta(days=self.limits.keep_days))
        if gone:
            log.info("outbox: deleted %d sent or failed message(s) older than %g days", gone, self.limits.keep_days)

    async def _round(self) -> float:
        now = self.monotonic()
        if self._later:
            await self._catch_up()
        if now - self._last_prune > self.limits.prune_seconds:
            await self._prune()
        if not self.sqlite and now - self._last_reclaim > self.limits.lease_seconds / 2:
            self._last_reclaim = now
            await self.db.run(
                reclaim_stale, now=self.clock(), lease=timedelta(seconds=self.limits.lease_seconds), keep=self.worker
            )
        tokens = self._bucket.refill(now)
        if tokens < 1.0:
            if self._results:
                await self._flush()
            return self._bucket.wait()
        batch, self._results = self._results, []
        recorded = {chat for chat, _ in batch} | {r.moved_to for _, r in batch if r.moved_to is not None}
        waits: list[float] = []
        busy = set(self._inflight) - recorded  # a chat whose outcome is recorded now may send its next
        for chat_id, pace in list(self._paces.items()):
            _, window, most = self._pace_of(chat_id)
            ready = pace.ready_at(now, window, most)
            if ready > now:
                busy.add(chat_id)
                waits.append(ready - now)
            elif not pace.sent and chat_id not in self._inflight:
                del self._paces[chat_id]  # idle: forget it
        # One transaction a round: the outcomes gathered so far, the ready heads, their claim.
        try:
            outcomes, heads, claimed = await self.db.run(
                _one_round,
                results=[r for _, r in batch],
                now=self.clock(),
                limit=int(tokens),
                exclude_chats=sorted(busy),
                worker=self.worker,
            )
        except SQLAlchemyError:
            self._results = batch + self._results  # recorded next time
            raise
        except Exception:
            # an outcome this process cannot record (a row gone, a follow-up of a newer version): the others are
            # recorded one by one, so no chat of the round stays stranded in `_inflight` until a restart
            await self._record_one_by_one(batch)
            raise
        await self._recorded(batch, outcomes)
        if not heads:
            return min([self.limits.poll_seconds, *waits])
        for view in claimed:
            self._bucket.take()
            self._inflight.add(view.chat_id)
            task = asyncio.create_task(self._send(view))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return 0.0 if heads >= int(tokens) else min([self.limits.poll_seconds, *waits])

    async def _send(self, view: OutboxView) -> None:
        pace, _, _ = self._pace_of(view.chat_id)
        result = await self.attempt(view)
        if result.moved_to is not None:
            self._inflight.add(result.moved_to)  # the new chat's turn waits for the outcome too
        if result.verdict is Verdict.retry and result.retry_at is not None and not result.uncertain:
            pace.blocked_until = max(
                pace.blocked_until, self.monotonic() + max(0.0, (result.retry_at - self.clock()).total_seconds())
            )
        self._results.append((view.chat_id, result))
        if result.verdict is Verdict.sent:
            self.sent_count += 1
        self.wake()

    async def _flush(self) -> None:
        """Record the outcomes gathered so far in one transaction."""
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            outcomes = await self.db.run(finish, results=[r for _, r in batch], now=self.clock())
        except SQLAlchemyError as exc:
            log.warning("outbox: could not record %d outcome(s) (%s); keeping them", len(batch), type(exc).__name__)
            self._results = batch + self._results
            await asyncio.sleep(0.5)
            return
        await self._recorded(batch, outcomes)

    async def _record_one_by_one(self, batch: list[tuple[int, SendResult]]) -> None:
        """Record each outcome in a transaction of its own; one that fails for a reason other than the database is
        logged and let go (its row stays `sending` under this sender, which never takes back its own claims: the
        next start takes it back)."""
        for index, (chat_id, result) in enumerate(batch):
            try:
                outcomes = await self.db.run(finish, results=[result], now=self.clock())
            except SQLAlchemyError:
                self._results = batch[index:] + self._results  # the database again: all of the rest next time
                return
            except Exception:
                log.exception("outbox: the outcome of row %s cannot be recorded; letting it go", result.id)
                outcomes = []
            await self._recorded([(chat_id, result)], outcomes)

    async def _recorded(self, batch: list[tuple[int, SendResult]], outcomes: list[DeliveryOutcome]) -> None:
        """The outcomes of `batch` are committed: its chats may send again; react to the final ones, and to the
        groups a send found upgraded to a supergroup (the move is recorded in the same transaction)."""
        moves: list[ChatMoved] = []
        for chat_id, result in batch:
            self._inflight.discard(chat_id)
            if result.moved_to is not None:
                self._inflight.discard(result.moved_to)
                moves.append(ChatMoved(chat_id, result.moved_to))
        reactions = [*(moves if self.on_moved is not None else ()), *(outcomes if self.on_outcome is not None else ())]
        if reactions:
            # Reacted to in order by a task of their own (the cards refreshed: a read and a Telegram edit per card),
            # not here: the round that recorded them starts its sends first, and no chat waits for those edits.
            self._reactions.extend(reactions)
            if self._reactor is None or self._reactor.done():
                self._reactor = asyncio.create_task(self._react(), name="outbox-outcomes")

    async def _react(self) -> None:
        """React to the final outcomes and the moves recorded so far, one after another (`on_outcome`, `on_moved`)."""
        while self._reactions:
            reaction = self._reactions.popleft()
            try:
                if isinstance(reaction, ChatMoved):
                    assert self.on_moved is not None
                    done = self.on_moved(reaction)
                else:
                    assert self.on_outcome is not None
                    done = self.on_outcome(reaction)
                if asyncio.iscoroutine(done):
                    await done
            except Exception:
                log.exception("reacting to %s failed", reaction)

    async def _reacted(self, timeout: float | None = None) -> None:
        """Wait (bounded by `timeout`) until every outcome recorded so far has been reacted to."""
        if self._reactor is not None and not self._reactor.done():
            await asyncio.wait({self._reactor}, timeout=timeout)

    # ------------------------------------------------------------------ one HTTP attempt

    def _backoff(self, attempts: int) -> datetime:
        delay = min(60.0, self.limits.backoff_seconds * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
        return self.clock() + timedelta(seconds=delay)

    async def attempt(self, view: OutboxView) -> SendResult:
        """Send one row once and say what came of it (never raises a Telegram error). A long text whose later part
        fails is retried from that part: the parts posted are kept with the row (`POSTED_PARTS`)."""
        posted: list[int] = []
        result = await self._attempt(view, posted)
        if result.verdict is Verdict.retry and posted:
            return replace(result, posted_parts=tuple(posted))
        return result

    async def _attempt(self, view: OutboxView, posted: list[int]) -> SendResult:
        try:
            message_ids = await self._call(view, posted)
        except _NoRoom as exc:
            return SendResult(
                view.id,
                Verdict.retry,
                reason=f"paced after {len(posted)} part(s): the chat's or the overall limit is reached",
                retry_at=self.clock() + timedelta(seconds=exc.seconds),
            )
        except RetryAfter as exc:
            wait = _seconds(exc)
            return SendResult(
                view.id,
                Verdict.retry,
                reason=f"429 retry after {wait:g}s",
                retry_at=self.clock() + timedelta(seconds=wait),
            )
        except Forbidden as exc:
            return SendResult(view.id, Verdict.failed, reason=f"403 {exc.message}", chat_gone=True)
        except ChatMigrated as exc:
            return SendResult(
                view.id,
                Verdict.retry,
                reason=f"migrated to {exc.new_chat_id}",
                retry_at=self.clock(),
                moved_to=int(exc.new_chat_id),
            )
        except BadRequest as exc:
            if view.method == "editMessageText" and "not modified" in exc.message:
                return SendResult(
                    view.id,
                    Verdict.sent,
                    message_id=view.payload.get("message_id"),
                    message_ids=(int(view.payload["message_id"]),),
                )
            return SendResult(view.id, Verdict.failed, reason=f"400 {exc.message}")
        except TimedOut as exc:
            if _never_sent(exc):  # no connection, or none free: Telegram never saw it
                return self._network_retry(view, exc)
            if view.uncertain:
                return SendResult(view.id, Verdict.failed, reason=f"fate unknown twice: {exc.message}")
            return SendResult(
                view.id,
                Verdict.retry,
                reason=f"timed out: {exc.message}",
                retry_at=self._backoff(view.attempts),
                uncertain=True,
            )
        except NetworkError as exc:  # 5xx, connection refused, reset or closed without an answer
            return self._network_retry(view, exc)
        except TelegramError as exc:
            return SendResult(view.id, Verdict.failed, reason=f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:  # a bad payload: never retried forever
            log.exception("outbox row %s could not be sent", view.id)
            return SendResult(view.id, Verdict.failed, reason=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(
            view.id, Verdict.sent, message_id=message_ids[0] if message_ids else None, message_ids=message_ids
        )

    def _network_retry(self, view: OutboxView, exc: NetworkError) -> SendResult:
        """Retried with backoff until max_attempts and give_up_seconds are both past. A connection closed after the request was
        written (no answer read) may have delivered it: the row is marked uncertain, so a later
        success counts as a possible duplicate (it is still retried: a dropped connection is
        far more often a request Telegram never handled than one it did)."""
        owed_for = (self.clock() - view.created_at).total_seconds() if view.created_at is not None else float("inf")
        if view.attempts >= self.limits.max_attempts and owed_for >= self.limits.give_up_seconds:
            # both: 30 attempts with the backoff capped at a minute are only ~23 minutes of Telegram down, and the
            # claims after 429s count as attempts too
            return SendResult(view.id, Verdict.failed, reason=f"gave up after {view.attempts} attempts: {exc.message}")
        return SendResult(
            view.id,
            Verdict.retry,
            reason=exc.message,
            retry_at=self._backoff(view.attempts),
            uncertain=_answer_lost(exc),
        )

    async def _call(self, view: OutboxView, posted: list[int] | None = None) -> tuple[int, ...]:
        """Make the Bot API call(s) of one row; the ids of the messages posted. `posted` collects the ids of a long
        text's parts as they go (an earlier attempt's, from the row, first: those are not posted again)."""
        posted = [] if posted is None else posted
        p = view.payload
        markup = InlineKeyboardMarkup.de_json(p["markup"], self.bot) if p.get("markup") else None
        text = p["if_failed"] if view.parent_failed and p.get("if_failed") is not None else p.get("text", "")
        if view.method == "editMessageText":
            self._request(view.chat_id)
            edited = await self.bot.edit_message_text(
                text,
                chat_id=view.chat_id,
                message_id=int(p["message_id"]),
                parse_mode=p.get("parse_mode"),
                reply_markup=markup,
            )
            return (getattr(edited, "message_id", None) or int(p["message_id"]),)
        if view.method == "sendPhoto":
            self._request(view.chat_id)
            photo = await self.bot.send_photo(
                view.chat_id,
                photo=base64.b64decode(p["photo_b64"]),
                caption=p.get("caption") or None,
                filename=p.get("filename", "chart.png"),
            )
            return (photo.message_id,)
        parts = split_message(text, as_html=p.get("parse_mode") == "HTML")
        posted.extend(int(i) for i in p.get(POSTED_PARTS) or ())
        first = True  # the attempt's first request had its turn from the round (its token taken, its chat's pace)
        for index, part in enumerate(parts):
            if index < len(posted):
                continue  # posted by an earlier attempt
            if not first:  # each further part is a message of its own to Telegram's limits
                wait = self._room(view.chat_id)
                if wait > 0:
                    raise _NoRoom(wait)  # the row goes back with the parts posted, and goes on when there is room
                self._bucket.take()
            first = False
            self._request(view.chat_id)
            last = index == len(parts) - 1
            reply = (
                ReplyParameters(message_id=int(p["reply_to"]), allow_sending_without_reply=True)
                if p.get("reply_to") and index == 0
                else None
            )
            sent = await self.bot.send_message(
                view.chat_id,
                part,
                parse_mode=p.get("parse_mode"),
                reply_parameters=reply,
                message_thread_id=p.get("thread_id"),
                reply_markup=markup if last else None,
            )
            posted.append(sent.message_id)
        return tuple(posted)

    # ------------------------------------------------------------------ tests and tools

    async def drain(self, *, timeout: float = 10.0) -> OutboxStats:
        """Deliver until nothing is due (rows waiting for a later retry stay), what the reactions to the outcomes owe
        included (the cards posted again after a move the sender met); bounded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            delay = await self.round()
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))
                await self._flush()
                continue
            await self._flush()
            if not self._inflight and delay >= self.limits.poll_seconds:
                await self._reacted(timeout=max(0.0, deadline - time.monotonic()))
                due = await self.db.run(next_due)
                if self._inflight or self._tasks or self._results:
                    # what the reactions owed was taken meanwhile by the sender's own loop (woken by their commit):
                    # being sent, it is not due, and its outcome is not recorded yet
                    continue
                if due is None or due > self.clock() + timedelta(seconds=deadline - time.monotonic()):
                    break  # nothing left, or only what is due after the deadline
                delay = max(0.0, (due - self.clock()).total_seconds())
            await asyncio.sleep(min(delay, 0.05))
        await self._reacted(timeout=max(0.0, deadline - time.monotonic()))
        return await self.db.run(outbox_stats)


def _never_sent(exc: TimedOut) -> bool:
    """A timeout before the request went out (connecting, or waiting for a free connection)."""
    return isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


def _answer_lost(exc: NetworkError) -> bool:
    """The request went out and the connection ended before an answer was read."""
    return isinstance(exc.__cause__, httpx.RemoteProtocolError | httpx.ReadError)


def _one_round(
    *,
    session: Any,
    results: list[SendResult],
    now: datetime,
    limit: int,
    exclude_chats: list[int],
    worker: str,
) -> tuple[list[DeliveryOutcome], int, list[OutboxView]]:
    """Record the outcomes, find the heads that may go now, claim them: (outcomes, heads found, claimed)."""
    outcomes = finish(session=session, results=results, now=now) if results else []
    heads = ready_heads(session=session, now=now, limit=limit, exclude_chats=exclude_chats)
    claimed = claim(session=session, ids=[i for i, _ in heads], now=now, worker=worker) if heads else []
    return outcomes, len(heads), claimed


def _run_units(*, session: Any, units: list[Callable[..., Any]]) -> None:
    for unit in units:
        unit(session=session)


def sender_of(application: Application) -> Sender:  # type: ignore[type-arg]
    """The outbox sender of `application`."""
    return services_of_app(application).delivery.sender
