"""The inbox's Telegram side (delivery/inbox.py holds the table).

- `InboxRequest` wraps the request python-telegram-bot uses for getUpdates: the batch is
  stored before getUpdates returns, so before PTB computes the next offset (which is what
  acknowledges the batch to Telegram). Webhook mode stores in bot.ingest.accept_update.
- `ChatOrderedProcessor` runs the updates of different chats concurrently and one chat's
  updates in order (PTB's BaseUpdateProcessor). While an update is processed, the first
  transaction that owes a message marks it processed (delivery.outbox.current_update);
  updates that owed nothing are marked in batches afterwards.
- `Inbox.replay` (at start-up) queues what was stored and not processed by a run that is gone
  (its lease released by a clean stop, or run out); copies Telegram sends again are skipped, so
  each update is processed once. What another live instance stored is its own: it is taken over
  only once that instance's lease runs out, or at once when its process is seen to have ended
  (`process_gone`: a restart on the same host) — `Inbox.beat`, every third of the lease: this
  run's lease renewed, then the orphans taken.

While the database is unreachable the batch cannot be stored: it is kept in memory and
stored when the database is back, and the updates are processed meanwhile (answers do not
wait for the database); a crash during such an outage can lose those updates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor
from telegram.request import BaseRequest, RequestData

from bot.leader import default_instance_name
from delivery.inbox import LEASE_PREFIX, mark_done, mark_done_at_commit, prune_done, store_updates, take_orphans
from delivery.outbox import current_update
from storage import Database, utcnow
from storage.lease import acquire_lease, release_lease

log = logging.getLogger(__name__)


def _pid_space() -> str | None:
    """Where a pid names one process: this boot of this machine and this pid namespace (None: unknown)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


PID_SPACE = _pid_space()


def this_process() -> str:
    """How this process is named in its inbox lease: `process_gone` reads it back."""
    return f"{PID_SPACE}:{os.getpid()}"


def process_gone(holder: str) -> bool:
    """The holder of an inbox lease was a process that this one could see and exists no more. Only a process of the
    same pid space qualifies (another host or container cannot be seen: its lease has to run out), and never this
    process's own pid (another Application in this process)."""
    where, _, pid = holder.rpartition("|")[2].rpartition(":")
    if PID_SPACE is None or where != PID_SPACE or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: it exists
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Inbox:
    """Stores batches, remembers which update ids must not be processed again, marks done; keeps
    this run's lease on what it stored and takes over what dead runs left."""

    def __init__(
        self,
        db: Database,
        *,
        flush_seconds: float = 0.2,
        instance: str | None = None,
        lease_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        # A name per run, never an earlier run's (a restarted container has the same host name and pid): the lease
        # a live instance renews, and what its stored updates are claimed by.
        self.owner = f"{LEASE_PREFIX}{uuid.uuid4().hex[:16]}"
        self.instance = instance or default_instance_name()
        self.holder = f"{self.instance[:100]}|{this_process()}"  # in the lease: who, and the process it was
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._held_until: datetime | None = None  # this run's lease, as last renewed
        self._next_beat: datetime | None = None
        self._application: Application | None = None  # type: ignore[type-arg]  # where taken-over updates go
        self.skip: set[int] = set()  # known before: a copy, or already done
        self.unsaved: list[dict[str, Any]] = []  # batches the database refused (outage)
        self._stored: set[int] = set()  # ids this process stored
        self._done: list[int] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, updates: Sequence[dict[str, Any]]) -> None:
        """Store a batch before it is acknowledged; ids seen before are skipped later."""
        if not updates and not self.unsaved:
            return
        batch = [*self.unsaved, *updates]
        try:
            if self._held_until is None:  # stored before any beat (no replay ran): the claim needs its lease
                await self._renew()
            known = await self.db.run(_store, updates=batch, owner=self.owner)
        except SQLAlchemyError as exc:  # the database is down: process anyway, store later
            log.warning(
                "inbox: could not store %d update(s) (%s); keeping them in memory", len(updates), type(exc).__name__
            )
            self.unsaved = batch
            return
        self.unsaved = []
        # Seen before: replayed at start-up, processed before a crash, or a second delivery.
        # An id this process stored itself (polling stores the batch, then the runtime may hand
        # each update to accept_update, which stores it again) is the same copy, not a second one.
        ids = {int(u["update_id"]) for u in updates}
        self.skip.update((known & ids) - self._stored)
        if len(self._stored) > 100_000:
            self._stored.clear()
        self._stored.update(ids)

    def should_skip(self, update_id: int) -> bool:
        if update_id in self.skip:
            self.skip.discard(update_id)
            return True
        return False

    def done(self, update_id: int) -> None:
        self._done.append(update_id)

    async def replay(self, application: Application) -> int:  # type: ignore[type-arg]
        """Take this run's lease, then queue what was stored and not processed by a run that is gone
        (before polling starts); later beats queue what runs that die meanwhile leave."""
        self._application = application
        taken = await self.beat()
        await self.db.run(prune_done, now=utcnow())  # the marks are in real time (mark_done)
        return taken

    async def beat(self) -> int:
        """Renew this run's lease, then take over and queue what dead runs stored and did not process."""
        now = await self._renew()
        if self._application is None:  # nowhere to queue them yet (replay gives it): taken, they would wait for ever
            return 0
        rows = await self.db.run(take_orphans, owner=self.owner, now=now, gone=process_gone)
        if rows:
            for raw in rows:
                await self._application.update_queue.put(Update.de_json(raw, self._application.bot))
            log.warning(
                "inbox: processing %d update(s) stored and not processed by an instance that is gone", len(rows)
            )
        return len(rows)

    async def _renew(self) -> datetime:
        now = self.clock()
        if self._held_until is not None and now > self._held_until:
            # the database out of reach longer than the lease: another instance may have taken over (and so be
            # processing a second time) what this one stored and is still processing
            log.warning("inbox: this instance's lease ran out before it could be renewed")
        await self.db.run(acquire_lease, name=self.owner, holder=self.holder, now=now, seconds=self.lease_seconds)
        self._held_until = now + timedelta(seconds=self.lease_seconds)
        self._next_beat = now + timedelta(seconds=self.lease_seconds / 3)
        return now

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="inbox-done")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
        await self.flush()
        if self._held_until is not None:
            # what this run stored and did not process is another instance's at its next beat, not after the lease
            try:
                await self.db.run(release_lease, name=self.owner, holder=self.holder)
            except SQLAlchemyError as exc:
                log.warning("inbox: could not release this instance's lease (%s)", type(exc).__name__)
            self._held_until = None

    async def flush(self) -> None:
        if self.unsaved:
            await self.store([])
        if not self._done:
            return
        batch, self._done = self._done, []
        try:
            await self.db.run(mark_done, update_ids=batch, now=utcnow())
        except SQLAlchemyError:
            log.warning("inbox: could not mark %d update(s) processed; trying again", len(batch))
            self._done = batch + self._done

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
                if self._next_beat is not None and self.clock() >= self._next_beat:
                    await self.beat()
            except SQLAlchemyError as exc:
                log.warning("inbox: database unavailable (%s); trying again shortly", type(exc).__name__)
            except Exception:
                log.exception("inbox flush failed")


def _store(*, session: Session, updates: Sequence[dict[str, Any]], owner: str | None = None) -> set[int]:
    """Store the batch claimed by `owner`; return the ids that were there before."""
    from sqlmodel import col, select

    from delivery.inbox import InboxUpdate

    ids = [int(u["update_id"]) for u in updates]
    known = set(session.exec(select(InboxUpdate.update_id).where(col(InboxUpdate.update_id).in_(ids))).all())
    store_updates(session=session, updates=updates, now=utcnow(), owner=owner)
    return known


class InboxRequest(BaseRequest):
    """The getUpdates request, storing each batch before returning it to PTB."""

    def __init__(self, inner: BaseRequest, store: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> None:
        self._inner = inner
        self._store = store

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(  # type: ignore[override]  # PTB's timeouts passed through unchanged
        self, url: str, method: str, request_data: RequestData | None = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        code, payload = await self._inner.do_request(url, method, request_data, **timeouts)
        if url.endswith("/getUpdates") and 200 <= code <= 299:
            try:
                data = json.loads(payload)
            except ValueError:
                return code, payload
            if data.get("ok") and data.get("result"):
                await self._store(data["result"])
        return code, payload


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


_UNBOUNDED = 2**31 - 1  # PTB's own semaphore: see ChatOrderedProcessor.__init__


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Different chats at once, one chat's updates one after another in arrival order."""

    def __init__(self, inbox: Inbox | None, max_concurrent_updates: int = 256) -> None:
        # PTB's process_update (final) takes a slot of its semaphore before this processor's per-chat lock: a chat
        # with more updates queued than slots held every slot while its updates waited for each other, and every
        # other chat waited behind it (600 queued in one group delayed another group's one by 3.5 s). So PTB's
        # semaphore is left unbounded in practice, and the slots are taken here, after the chat's turn.
        super().__init__(_UNBOUNDED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self.inbox = inbox
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        if self.inbox is not None and update_id is not None and self.inbox.should_skip(update_id):
            if hasattr(coroutine, "close"):
                coroutine.close()  # a copy of an update already processed or queued
            return
        key = _chat_key(update)
        if key is None:
            async with self._slots:
                await self._run(update_id, coroutine)
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:  # the update's turn in its chat, then a slot
                await self._run(update_id, coroutine)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def _run(self, update_id: int | None, coroutine: Awaitable[Any]) -> None:
        if self.inbox is None or update_id is None:
            await coroutine
            return

        def mark(session: Session) -> None:
            mark_done_at_commit(session, update_id)

        token = current_update.set(mark)
        try:
            await coroutine
        finally:
            current_update.reset(token)
            self.inbox.done(update_id)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
