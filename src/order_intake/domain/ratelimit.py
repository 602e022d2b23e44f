"""The token bucket of one API key: its limit, one request's decision, and the limit's validation.

A bucket holds at most `burst` tokens and gains `rate` tokens a second; a request takes one, or is
refused when less than one is left. Its state is one integer, the instant (in microseconds) at which
it will be full again: the tokens missing are `(full_at - now) / interval`, where `interval` is the
time one token takes to come back. This carries what (tokens, last update) carries, in one number,
with exact integer arithmetic, and a bucket nobody has touched (state 0, or a key gone from Redis)
is simply full.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Final

MICROS: Final = 1_000_000
DEFAULT_RATE: Final = 100.0
DEFAULT_BURST: Final = 200
# Bounds that keep every instant and debt below 2**53 microseconds, exact in Redis's Lua numbers.
MIN_RATE: Final = 0.001
MAX_BURST: Final = 1_000_000


def _seconds(micros: int) -> int:
    """Microseconds as whole seconds, rounded up (a client told to wait must not come back too soon)."""
    return -(-micros // MICROS)


# hot path: computed once per rate (docs/hot-path.md)
@cache
def interval_of(rate: float) -> int:
    """Microseconds for one token to come back, rounded up so that the bucket never beats its rate."""
    return max(1, math.ceil(Fraction(MICROS) / Fraction(rate)))


@dataclass(frozen=True, slots=True)
class Limit:
    """A key's limit: `rate` tokens a second (0 = unlimited), at most `burst` of them saved up."""

    rate: float
    burst: int

    @property
    def unlimited(self) -> bool:
        """Rate 0 means no limit at all."""
        return self.rate == 0

    @property
    def interval(self) -> int:
        """Microseconds per token."""
        return interval_of(self.rate)

    @property
    def window(self) -> int:
        """Whole seconds an empty bucket takes to fill (at least 1): the policy's window."""
        return max(1, _seconds(self.burst * self.interval))


@dataclass(frozen=True, slots=True)
class Decision:
    """One request's fate, with what the answer's headers tell the client."""

    allowed: bool
    limit: Limit
    remaining: int  # whole tokens left after this request
    until_one: int  # microseconds until at least one token is there (0: there is one now)
    until_full: int  # microseconds until the bucket is full again

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before the next request can pass (at least 1)."""
        return max(1, _seconds(self.until_one))

    @property
    def reset(self) -> int:
        """Whole seconds until the bucket is full again."""
        return _seconds(self.until_full)

    @classmethod
    def from_debt(cls, limit: Limit, *, allowed: bool, debt: int) -> "Decision":
        """The decision once the bucket owes `debt` microseconds of refill (after taking, if allowed)."""
        interval = limit.interval
        return cls(
            allowed=allowed,
            limit=limit,
            remaining=max(0, (limit.burst * interval - debt) // interval),
            until_one=max(0, debt - (limit.burst - 1) * interval),
            until_full=debt,
        )


UNLIMITED: Final = Decision(allowed=True, limit=Limit(rate=0, burst=0), remaining=0, until_one=0, until_full=0)


def take(limit: Limit, full_at: int, now: int) -> tuple[Decision, int]:
    """Take one token at `now` (microseconds) from the bucket full at `full_at`: the decision and the new state."""
    if limit.unlimited:
        return UNLIMITED, full_at
    interval = limit.interval
    debt = max(0, full_at - now)
    allowed = debt + interval <= limit.burst * interval
    if allowed:
        debt += interval
        full_at = now + debt
    return Decision.from_debt(limit, allowed=allowed, debt=debt), full_at


def limit_problem(rate: float, burst: int) -> str | None:
    """Why a limit cannot be stored, in one line, or None when it can."""
    limited = rate != 0
    rate_rule = "rate must be 0 (unlimited) or"
    checks = (
        (not math.isfinite(rate) or rate < 0, f"{rate_rule} a positive number per second, got {rate}"),
        (limited and rate < MIN_RATE, f"{rate_rule} at least {MIN_RATE} per second, got {rate}"),
        (burst < 0, f"burst must not be negative, got {burst}"),
        (burst > MAX_BURST, f"burst must be at most {MAX_BURST}, got {burst}"),
        (limited and burst < 1, f"burst must be at least 1 when rate is above 0, got {burst}"),
    )
    return next((message for failed, message in checks if failed), None)
