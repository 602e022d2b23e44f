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


async def repeat(  # noqa: PLR0913 - the step, when to run it again, and the loop's name
    step: Callable[[], Awaitable[int]],
    *,
    full: int,
    idle: float,
    stop: asyncio.Event,
    name: str,
    busy: float | None = None,
) -> None:
    """Run `step` until `stop` is set: at once again after a full batch, after `idle` seconds otherwise.

    With `busy`, a step that did some work but less than a full batch is run again after `busy`
    seconds instead: while work keeps coming, it is taken in smaller, more even portions, and an idle
    store is still asked only every `idle` seconds.

    An unavailable database or broker is logged and retried with a doubling pause; so is an unexpected
    error (logged with its trace), so that one bad moment does not end background work for good.
    """
    backoff = idle
    while not stop.is_set():
        try:
            done = await step()
            backoff = idle
            pause = busy if busy is not None and done else idle
        except Exception as exc:  # whatever fails, the loop backs off and goes on
            if isinstance(exc, (StoreUnavailable, BrokerUnavailable)):
                outage = "broker unavailable" if isinstance(exc, BrokerUnavailable) else "database unavailable"
                sqlstate = exc.sqlstate if isinstance(exc, StoreUnavailable) else None
                log.warning("%s paused: %s", name, outage, extra={"sqlstate": sqlstate})
            else:
                log.exception("%s failed; retrying", name)
            backoff = min(backoff * 2, MAX_BACKOFF)
            done, pause = 0, backoff
        if done < full:
            await sleep_until(stop, pause)
