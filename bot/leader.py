"""One scheduler holder among the instances sharing a database.

Every instance starts its JobQueue paused. A background task takes or renews the scheduler lease
(storage.lease) every third of SCHEDULER_LEASE_SECONDS: the holder runs the SLA sweep, reminders
and reports; the others keep the lease in view and take over once a dead holder's lease runs
out. A holder that cannot renew (the database is gone) pauses its jobs before its lease can
expire, so two instances never sweep at the same time by design; the sweeps' own marks and the
reminder log owe each alert and reminder once even if they did. The outbox then delivers it at
least once, with at most one duplicate per send in flight when a process dies, counted in
outbox_stats (tests/test_webhook_workers.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime

from storage import Database, utcnow
from storage.lease import SCHEDULER_LEASE, acquire_lease, lease_holder, release_lease

log = logging.getLogger(__name__)


def default_instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SchedulerLeader:
    """Keeps this instance's claim on the scheduler lease and says when it gains or loses it."""

    def __init__(
        self,
        *,
        db: Database,
        name: str,
        seconds: float,
        on_gain: Callable[[], None],
        on_loss: Callable[[], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.name = name
        self.seconds = seconds
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.clock = clock
        self.holding = False
        self._renewed_at: datetime | None = None

    async def step(self) -> bool:
        """Try once to take or renew the lease; return whether this instance holds it."""
        asked_at = self.clock()  # the lease runs from this instant, however long the database took to answer
        try:
            held = await self.db.run(
                acquire_lease, name=SCHEDULER_LEASE, holder=self.name, now=asked_at, seconds=self.seconds
            )
        except Exception as exc:  # noqa: BLE001 - the database is down: keep trying, stop holding
            log.warning("scheduler lease: database unreachable (%s)", type(exc).__name__)
            held = (
                self.holding
                and self._renewed_at is not None
                and ((self.clock() - self._renewed_at).total_seconds() < self.seconds / 2)
            )
        else:
            if held:
                self._renewed_at = asked_at
        if held and not self.holding:
            log.info("this instance (%s) now runs the scheduled jobs", self.name)
            self.holding = True
            self.on_gain()
        elif not held and self.holding:
            log.warning("this instance (%s) no longer runs the scheduled jobs", self.name)
            self.holding = False
            self.on_loss()
        return held

    def holds_now(self) -> bool:
        """Whether this instance holds the lease now: held at the last step, and that claim not
        yet expired (a step that came late, on a loaded machine, may have let another take it)."""
        return (
            self.holding
            and self._renewed_at is not None
            and (self.clock() - self._renewed_at).total_seconds() < self.seconds
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Renew every third of the lease until `stop` is set."""
        while not stop.is_set():
            await self.step()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.seconds / 3)
            except TimeoutError:
                pass

    async def release(self) -> None:
        """Give the lease up (clean shutdown, jobs already stopped), so another instance takes
        over at once."""
        if not self.holding:
            return
        self.holding = False
        try:
            await self.db.run(release_lease, name=SCHEDULER_LEASE, holder=self.name)
        except Exception as exc:  # noqa: BLE001 - shutting down: the lease will expire on its own
            log.warning("could not release the scheduler lease (%s)", type(exc).__name__)

    async def current_holder(self) -> str | None:
        return await self.db.run(lease_holder, name=SCHEDULER_LEASE, now=self.clock())
