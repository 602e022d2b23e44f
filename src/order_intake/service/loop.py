"""The loop background work runs in: repeat a step, rest when idle, back off while something is away."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from order_intake.errors import BrokerUnavailable, StoreUnavailable

log = logging.getLogger(__name__)

# Longest pause between tries while the database or the broker is away.
MAX_BACKOFF = 5.0


async def sleep_until(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def repeat(step: Callable[[], Awaitable[int]], *, full: int, idle: float, stop: asyncio.Event, name: str) -> None:
    """Run `step` until `stop` is set: at once again after a full batch, after `idle` seconds otherwise.

    An unavailable database or broker is logged and retried with a doubling pause; so is an unexpected
    error (logged with its trace), so that one bad moment does not end background work for good.
    """
    pause = idle
    while not stop.is_set():
        try:
            done = await step()
            pause = idle
        except (StoreUnavailable, BrokerUnavailable) as exc:
            log.warning(
                "%s paused: %s",
                name,
                "broker unavailable" if isinstance(exc, BrokerUnavailable) else "database unavailable",
            )
            done, pause = 0, min(pause * 2, MAX_BACKOFF)
        except Exception:
            log.exception("%s failed; retrying", name)
            done, pause = 0, min(pause * 2, MAX_BACKOFF)
        if done < full:
            await sleep_until(stop, pause)
