"""Both bucket stores, in this process and in a real Redis, give the same decisions; Redis failures are reported."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import pytest
import redis

from order_intake.adapters.redis_limiter import RedisBuckets
from order_intake.domain.ratelimit import Limit
from order_intake.errors import LimiterUnavailable
from order_intake.service.ratelimit import BucketStore, LocalBuckets
from tests.support.redis_db import REDIS_URL, fresh_prefix, silent_listener
from tests.support.server import free_port

# Slow enough that no token comes back while a test runs: every decision is exact.
SLOW: Final = Limit(rate=0.001, burst=3)


T = TypeVar("T")
# Runs a scenario on an opened store and closes it; returns what the scenario returned.
OnStore = Callable[[Callable[[BucketStore], Awaitable[Any]]], Any]


@pytest.fixture(params=["local", "redis"])
def on_store(request: pytest.FixtureRequest) -> OnStore:
    """Runs a scenario on each store in turn (Redis under a prefix of its own), in one event loop."""

    def run(scenario: Callable[[BucketStore], Awaitable[T]]) -> T:
        async def opened() -> T:
            store: BucketStore = (
                LocalBuckets()
                if request.param == "local"
                else RedisBuckets(REDIS_URL, prefix=fresh_prefix(), timeout=2.0)
            )
            try:
                return await scenario(store)
            finally:
                await store.close()

        return asyncio.run(opened())

    return run


def test_a_bucket_passes_its_burst_then_refuses_and_buckets_are_separate(on_store: OnStore) -> None:
    """Burst 3: three pass with 2, 1, 0 left, the fourth is refused; another bucket is full."""

    async def scenario(store: BucketStore) -> list[tuple[bool, int]]:
        decisions = [await store.take("a", SLOW) for _ in range(4)]
        decisions.append(await store.take("b", SLOW))
        return [(d.allowed, d.remaining) for d in decisions]

    assert on_store(scenario) == [(True, 2), (True, 1), (True, 0), (False, 0), (True, 2)]


def test_a_refusal_says_how_long_until_a_token_and_until_full(on_store: OnStore) -> None:
    """After the burst: one token in at most one interval, full in at most three."""

    async def scenario(store: BucketStore) -> tuple[int, int]:
        for _ in range(3):
            await store.take("a", SLOW)
        refused = await store.take("a", SLOW)
        assert not refused.allowed
        return refused.until_one, refused.until_full

    until_one, until_full = on_store(scenario)
    assert 0 < until_one <= SLOW.interval
    assert 2 * SLOW.interval < until_full <= 3 * SLOW.interval


def test_a_redis_bucket_expires_when_it_would_be_full_again() -> None:
    """The key lives as long as the bucket's debt (so an idle key costs Redis nothing), no longer."""
    prefix = fresh_prefix()
    buckets = RedisBuckets(REDIS_URL, prefix=prefix, timeout=2.0)

    async def scenario() -> int:
        try:
            decision = await buckets.take("a", SLOW)
        finally:
            await buckets.close()
        return decision.until_full

    until_full = asyncio.run(scenario())
    with redis.Redis.from_url(REDIS_URL) as client:
        ttl_ms = client.pttl(prefix + "a")
        client.delete(prefix + "a")
    assert 0 < ttl_ms <= until_full // 1000 + 1


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_a_redis_that_is_down_or_hangs_is_limiter_unavailable(kind: str) -> None:
    """A closed port, or one that never answers, raises LimiterUnavailable (the type only) instead of waiting."""

    async def attempt(port: int) -> None:
        buckets = RedisBuckets(f"redis://127.0.0.1:{port}/0", prefix=fresh_prefix(), timeout=0.1)
        try:
            await asyncio.wait_for(buckets.take("a", SLOW), timeout=10)
        finally:
            await buckets.close()

    with silent_listener() as silent:
        port = free_port() if kind == "refused" else silent
        with pytest.raises(LimiterUnavailable) as caught:
            asyncio.run(attempt(port))
    assert str(caught.value).isidentifier()  # an exception type's name, never a message with the URL
