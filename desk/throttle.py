"""Per-user flood throttle: a token bucket per key, the clock passed in. In memory on
purpose: losing it on restart only forgives a flood."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # True only for the first refusal of a burst, so the edge can say "slow down" once
    # and then stay silent.
    first_refusal: bool = False
    retry_after_seconds: float = 0.0


@dataclass
class _Bucket:
    tokens: float
    updated: float
    refused: bool = False


class Throttle:
    """`burst` messages at once, then `per_minute` a minute. Keys are whatever the edge
    likes (a user id, or (chat id, user id))."""

    def __init__(
        self, *, per_minute: float = 20, burst: int = 8, max_keys: int = 10_000, max_messages: int = 10_000
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.max_messages = max_messages
        self._buckets: OrderedDict[object, _Bucket] = OrderedDict()
        self._verdicts: OrderedDict[Hashable, Verdict] = OrderedDict()  # message → what it was told

    def check(self, key: object, now: datetime, *, message: Hashable | None = None) -> Verdict:
        """Take one token for `key` if there is one. `message` (e.g. (chat id, message id)):
        a message checked before is not counted again — an update handled a second time (the
        inbox replays what was stored and not marked processed) gets its first verdict back,
        without a second 「slow down」 (the `max_messages` latest are remembered)."""
        if message is not None:
            earlier = self._verdicts.get(message)
            if earlier is not None:
                return replace(earlier, first_refusal=False)
        verdict = self._take(key, now)
        if message is not None:
            self._verdicts[message] = verdict
            if len(self._verdicts) > self.max_messages:
                self._verdicts.popitem(last=False)
        return verdict

    def _take(self, key: object, now: datetime) -> Verdict:
        t = now.timestamp()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, updated=t)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)  # forget the least recently seen
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, t - bucket.updated)  # a clock going back refills nothing
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = max(bucket.updated, t)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refused = False
            return Verdict(allowed=True)
        first = not bucket.refused
        bucket.refused = True
        return Verdict(allowed=False, first_refusal=first, retry_after_seconds=(1.0 - bucket.tokens) / self.rate)

    def __len__(self) -> int:
        return len(self._buckets)
