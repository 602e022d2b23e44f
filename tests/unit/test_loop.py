"""The background loop's pauses: none after a full batch, `busy` after some work, `idle` after none."""

import asyncio

import pytest

from order_intake.errors import BrokerUnavailable, StoreUnavailable
from order_intake.service import loop

Outcome = int | Exception


def _pauses(monkeypatch: pytest.MonkeyPatch, outcomes: list[Outcome], *, busy: float | None) -> list[float]:
    """The pauses `repeat` takes while its step gives these outcomes (a count done, or an exception), in turn."""
    asked: list[float] = []
    pending = list(outcomes)
    stop = asyncio.Event()

    async def step() -> int:
        outcome = pending.pop(0)
        if not pending:
            stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep_until(_stop: asyncio.Event, seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(loop, "sleep_until", sleep_until)
    asyncio.run(loop.repeat(step, full=10, idle=0.2, busy=busy, stop=stop, name="test"))
    return asked


def test_some_work_brings_the_next_round_sooner_than_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full batch: at once; some work: after `busy`; nothing: after `idle`."""
    assert _pauses(monkeypatch, [10, 3, 0, 12, 1, 0], busy=0.05) == [0.05, 0.2, 0.05, 0.2]


def test_without_busy_any_round_short_of_a_full_batch_waits_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay and the sender: some work or none, the same pause."""
    assert _pauses(monkeypatch, [3, 0, 10, 9], busy=None) == [0.2, 0.2, 0.2]


def test_failures_back_off_from_idle_doubling_up_to_the_cap_and_a_success_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unavailable store or broker, or any error: idle doubled each time, at most MAX_BACKOFF, never from `busy`."""
    away = [StoreUnavailable("down"), BrokerUnavailable("down"), RuntimeError("bug"), *[StoreUnavailable("down")] * 3]
    pauses = _pauses(monkeypatch, [3, *away, 3, StoreUnavailable("down")], busy=0.05)
    assert pauses == [0.05, 0.4, 0.8, 1.6, 3.2, loop.MAX_BACKOFF, loop.MAX_BACKOFF, 0.05, 0.4]
