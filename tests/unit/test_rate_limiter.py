"""The limiter in front of the bucket stores: fail open, count, warn rarely; the in-process store stays bounded."""

import asyncio
import logging
from typing import Final

import pytest

from order_intake.domain.ratelimit import MICROS, UNLIMITED, Decision, Limit
from order_intake.errors import LimiterUnavailable
from order_intake.service.ratelimit import BucketStore, LocalBuckets, RateLimiter
from order_intake.service.records import ApiKey

START: Final = 1_000.0


def a_key(username: str = "key_a", *, rate: float = 1.0, burst: int = 2) -> ApiKey:
    """A key as the store returns it, with the given limit."""
    return ApiKey(
        id=1,
        username=username,
        secret_salt=b"s",
        secret_hash=b"h",
        customer_order=True,
        revoked=False,
        organisations=(),
        rate=rate,
        burst=burst,
    )


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        """The current instant, in seconds."""
        return self.now

    def micros(self) -> int:
        """The same instant in microseconds, as LocalBuckets reads it."""
        return int(self.now * MICROS)


class DeadStore:
    """A BucketStore whose every call fails, as a Redis that is down: it counts the calls it got."""

    def __init__(self) -> None:
        self.calls = 0

    async def take(self, bucket: str, limit: Limit) -> Decision:  # noqa: ARG002 - the interface's signature
        """Fail."""
        self.calls += 1
        raise LimiterUnavailable("ConnectionError")

    async def close(self) -> None:
        """Nothing to close."""


def _check(limiter: RateLimiter, key: ApiKey, times: int = 1) -> list[Decision]:
    async def run() -> list[Decision]:
        return [await limiter.check(key) for _ in range(times)]

    return asyncio.run(run())


def test_the_stores_implement_the_interface() -> None:
    """LocalBuckets and the dead store used here are both BucketStores (checked by mypy through these lines)."""
    stores: list[BucketStore] = [LocalBuckets(), DeadStore()]
    assert len(stores) == 2


def test_a_limited_key_is_refused_past_its_burst_and_refusals_are_counted() -> None:
    """Burst 2: two pass, the next three are refused, and `rejected` counts those three."""
    clock = Clock()
    limiter = RateLimiter(LocalBuckets(clock=clock.micros), clock=clock)
    decisions = _check(limiter, a_key(), times=5)
    assert [d.allowed for d in decisions] == [True, True, False, False, False]
    assert (limiter.rejected, limiter.backend_failures) == (3, 0)


def test_keys_have_their_own_buckets_and_a_changed_limit_starts_full() -> None:
    """Another key is untouched by the first's refusals; the same key with a new limit gets a full bucket."""
    clock = Clock()
    limiter = RateLimiter(LocalBuckets(clock=clock.micros), clock=clock)
    _check(limiter, a_key(), times=3)
    assert _check(limiter, a_key("key_b"))[0].allowed
    assert not _check(limiter, a_key())[0].allowed
    assert _check(limiter, a_key(burst=3))[0].allowed


def test_rate_zero_never_asks_the_store() -> None:
    """An unlimited key is decided without the store: no call, no failure counted, no headers."""
    store = DeadStore()
    limiter = RateLimiter(store)
    assert _check(limiter, a_key(rate=0, burst=0), times=3) == [UNLIMITED] * 3
    assert (store.calls, limiter.backend_failures) == (0, 0)


def test_a_failing_store_lets_requests_through_counts_them_and_is_left_alone_for_a_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fail open: every request passes; the store is asked once per pause; one warning per warn_every seconds."""
    clock, store = Clock(), DeadStore()
    limiter = RateLimiter(store, pause=1.0, warn_every=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="order_intake.ratelimit"):
        assert all(d.allowed for d in _check(limiter, a_key(burst=1), times=10))
        assert store.calls == 1  # the other nine came during the pause
        clock.now += 1.0
        _check(limiter, a_key(burst=1), times=10)
        assert store.calls == 2
        clock.now += 59.0
        _check(limiter, a_key(burst=1))
    assert limiter.backend_failures == 21
    assert limiter.rejected == 0
    warnings = [r for r in caplog.records if r.name == "order_intake.ratelimit"]
    assert [r.getMessage() for r in warnings] == ["rate limit store unavailable: requests pass unchecked"] * 2
    assert [getattr(r, "unchecked", None) for r in warnings] == [1, 20]


def test_the_local_store_stays_bounded_dropping_full_buckets_first() -> None:
    """Past max_buckets, buckets that refilled go first, then the oldest; the newest keys keep their state."""
    clock = Clock()
    store = LocalBuckets(max_buckets=10, clock=clock.micros)
    limit = Limit(rate=1.0, burst=1)

    async def fill(prefix: str, count: int) -> None:
        for i in range(count):
            await store.take(f"{prefix}{i}", limit)

    asyncio.run(fill("old", 10))
    clock.now += 2.0  # every old bucket is full again
    asyncio.run(fill("new", 10))
    assert len(store) == 10
    clock.now += 0.5  # the new ones are still empty: taking again is refused
    assert not asyncio.run(store.take("new9", limit)).allowed
    asyncio.run(fill("more", 5))
    assert len(store) <= 10
    assert not asyncio.run(store.take("more4", limit)).allowed
