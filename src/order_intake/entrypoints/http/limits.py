"""The rate limit at the HTTP edge: 429 once a key's bucket is empty, and the draft's RateLimit headers.

The headers follow the IETF httpapi draft "RateLimit header fields for HTTP", mapped from the token
bucket as docs/decisions.md explains: q is the burst, w the seconds an empty bucket takes to fill,
r the whole tokens left, t the seconds until the bucket is full again.
"""

from functools import cache

from order_intake.domain import catalogue
from order_intake.domain.ratelimit import Decision, Limit
from order_intake.entrypoints.http import replies
from order_intake.entrypoints.http.exchange import Exchange, Headers
from order_intake.service.ratelimit import RateLimiter
from order_intake.service.records import ApiKey


# hot path: written once per limit (docs/hot-path.md)
@cache
def _policy(limit: Limit) -> str:
    return f'"{catalogue.RATE_LIMIT_POLICY}";q={limit.burst};w={limit.window}'


def rate_limit_headers(decision: Decision) -> Headers:
    """RateLimit-Policy and RateLimit for a limited key's decision."""
    state = f'"{catalogue.RATE_LIMIT_POLICY}";r={decision.remaining};t={decision.reset}'
    return [("ratelimit-policy", _policy(decision.limit)), ("ratelimit", state)]


async def admit(limiter: RateLimiter, ex: Exchange, key: ApiKey) -> None:
    """Take a token for this key (its headers then ride on the answer); Refused (429) when there is none."""
    decision = await limiter.check(key)
    if decision.limit.unlimited:
        return
    ex.limit_headers = rate_limit_headers(decision)
    if not decision.allowed:
        raise replies.refusal(429, catalogue.TOO_MANY_REQUESTS, [("retry-after", str(decision.retry_after))])
