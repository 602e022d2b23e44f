"""Token buckets in Redis, shared by every process and node: one atomic Lua script per request."""

import asyncio
from typing import Final

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from order_intake.domain.ratelimit import Decision, Limit
from order_intake.errors import LimiterUnavailable

# The same arithmetic as domain.ratelimit.take, on the Redis server's clock so that every process
# agrees on the time. The value is the instant (µs) the bucket is full again, and the key expires
# then: a missing key is a full bucket. Numbers stay below 2**53 (see MIN_RATE and MAX_BURST), so
# Lua's doubles hold them exactly; string.format writes them without an exponent.
_TAKE: Final = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local debt = math.max(0, (tonumber(redis.call('GET', KEYS[1])) or 0) - now)
if debt + interval > burst * interval then
  return {0, debt}
end
debt = debt + interval
redis.call('SET', KEYS[1], string.format('%d', now + debt), 'PX', string.format('%d', math.ceil(debt / 1000)))
return {1, debt}
"""


class RedisBuckets:
    """The BucketStore on Redis. Any failure, or no answer within `timeout` seconds, is LimiterUnavailable."""

    def __init__(self, url: str, *, prefix: str, timeout: float = 0.1) -> None:
        self._prefix = prefix
        self._timeout = timeout
        # No retries: a request must not wait on a Redis that is down; the limiter fails open instead.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._script = self._client.register_script(_TAKE)

    async def take(self, bucket: str, limit: Limit) -> Decision:
        """Take one token from the bucket in Redis."""
        try:
            async with asyncio.timeout(self._timeout):
                allowed, debt = await self._script(keys=[self._prefix + bucket], args=[limit.interval, limit.burst])
        except (RedisError, OSError, TimeoutError) as exc:
            # Only the type: a Redis error's text can carry the URL, and with it a password.
            raise LimiterUnavailable(type(exc).__name__) from exc
        return Decision.from_debt(limit, allowed=bool(allowed), debt=int(debt))

    async def close(self) -> None:
        """Close the connections."""
        await self._client.aclose()
