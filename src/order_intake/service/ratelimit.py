"""Rate limiting per API key: the bucket store interface, its in-process store, and the fail-open limiter."""

import logging
import time
from collections.abc import Callable
from typing import Protocol

from order_intake.domain.ratelimit import UNLIMITED, Decision, Limit, take
from order_intake.errors import LimiterUnavailable
from order_intake.service.records import ApiKey

log = logging.getLogger("order_intake.ratelimit")


class BucketStore(Protocol):
    """Where the buckets live: this process (LocalBuckets) or Redis, shared by every process (RedisBuckets)."""

    async def take(self, bucket: str, limit: Limit) -> Decision:
        """Take one token from the named bucket; LimiterUnavailable when the store cannot tell."""
        ...

    async def close(self) -> None:
        """Let go of connections."""
        ...


def _monotonic_micros() -> int:
    return time.monotonic_ns() // 1000


class LocalBuckets:
    """Buckets in this process's memory: exact for one process, per process when there are several.

    At most `max_buckets` are kept. Past that, full buckets go first (forgetting a full bucket
    changes nothing: an unknown bucket is full), then the oldest ones.
    """

    def __init__(self, *, max_buckets: int = 100_000, clock: Callable[[], int] = _monotonic_micros) -> None:
        self._max = max_buckets
        self._clock = clock
        self._full_at: dict[str, int] = {}

    async def take(self, bucket: str, limit: Limit) -> Decision:
        """Take one token, in memory (never fails)."""
        now = self._clock()
        decision, full_at = take(limit, self._full_at.get(bucket, 0), now)
        if decision.allowed:
            if bucket not in self._full_at and len(self._full_at) >= self._max:
                self._make_room(now)
            self._full_at[bucket] = full_at
        return decision

    def _make_room(self, now: int) -> None:
        self._full_at = {name: full_at for name, full_at in self._full_at.items() if full_at > now}
        excess = len(self._full_at) - self._max * 3 // 4
        for name in list(self._full_at)[: max(0, excess)]:
            del self._full_at[name]

    def __len__(self) -> int:
        """How many buckets are held."""
        return len(self._full_at)

    async def close(self) -> None:
        """Nothing to let go of."""


class RateLimiter:
    """Decides each authenticated request: the key's bucket, or a pass when its store fails (fail open).

    `rejected` counts requests refused (429); `backend_failures` counts requests let through
    unchecked because the store failed, or had failed less than `pause` seconds before (it is
    not asked again during that time, so a dead Redis costs no time per request). A warning is
    logged at most once every `warn_every` seconds, with how many requests passed unchecked.
    """

    def __init__(
        self,
        store: BucketStore,
        *,
        pause: float = 1.0,
        warn_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.rejected = 0
        self.backend_failures = 0
        self._pause = pause
        self._warn_every = warn_every
        self._clock = clock
        self._resume_at = float("-inf")
        self._next_warning = float("-inf")
        self._unreported = 0

    async def check(self, key: ApiKey) -> Decision:
        """Take one token for this key (UNLIMITED for a key with rate 0, and when passing unchecked)."""
        if key.rate == 0:
            return UNLIMITED
        if self._clock() < self._resume_at:
            return self._unchecked(None)
        limit = Limit(rate=key.rate, burst=key.burst)
        try:
            # A changed limit is a new bucket: it starts full rather than in the old one's debt.
            decision = await self.store.take(f"{key.username}:{key.rate!r}:{key.burst}", limit)
        except LimiterUnavailable as exc:
            self._resume_at = self._clock() + self._pause
            return self._unchecked(exc)
        if not decision.allowed:
            self.rejected += 1
        return decision

    def _unchecked(self, failure: LimiterUnavailable | None) -> Decision:
        self.backend_failures += 1
        self._unreported += 1
        now = self._clock()
        if now >= self._next_warning:
            self._next_warning = now + self._warn_every
            log.warning(
                "rate limit store unavailable: requests pass unchecked",
                extra={"unchecked": self._unreported, "error": str(failure) if failure else None},
            )
            self._unreported = 0
        return UNLIMITED

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()
