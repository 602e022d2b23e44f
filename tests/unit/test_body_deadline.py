"""Reading a body against its deadline: too slow is BodyTimeout; a cancellation from elsewhere stays one."""

import asyncio

import pytest

from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.linger import Lingering
from order_intake.errors import BodyTimeout


class _Scope:
    method = "POST"
    path = "/v4/organisations/T/customer_order"
    http_version = "1.1"

    def __init__(self, length: int) -> None:
        self.headers = {"content-length": str(length)}


class _Proto:
    """A body that arrives after `delay` seconds."""

    def __init__(self, body: bytes, delay: float) -> None:
        self._body = body
        self._delay = delay

    async def __call__(self) -> bytes:
        await asyncio.sleep(self._delay)
        return self._body


def _exchange(delay: float, timeout: float) -> Exchange:
    loop = asyncio.get_running_loop()  # called from the scenario's coroutine
    return Exchange(_Scope(2), _Proto(b"{}", delay), timeout, Lingering(timeout), loop)  # type: ignore[arg-type]


def test_a_body_in_time_is_read_and_its_timer_is_gone() -> None:
    """The body comes back, nothing is left scheduled, and the task is not cancelled later."""

    async def scenario() -> tuple[bytes | None, int, int]:
        body = await _exchange(0.0, 0.05).read_body(100)
        await asyncio.sleep(0.1)  # past the deadline: a timer left behind would cancel this task now
        task = asyncio.current_task()
        assert task is not None
        return body, task.cancelling(), len(asyncio.get_running_loop()._scheduled)  # type: ignore[attr-defined]

    body, cancelling, timers = asyncio.run(scenario())
    assert (body, cancelling, timers) == (b"{}", 0, 0)


def test_a_body_too_slow_is_a_body_timeout_and_the_task_is_not_left_cancelled() -> None:
    """BodyTimeout (the 408), and the request's task can go on to answer: its cancellation is taken back."""

    async def scenario() -> int:
        with pytest.raises(BodyTimeout):
            await _exchange(10.0, 0.05).read_body(100)
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # would raise CancelledError if a cancellation were still pending
        return task.cancelling()

    assert asyncio.run(scenario()) == 0


def test_a_cancellation_from_elsewhere_during_the_read_is_not_taken_for_a_timeout() -> None:
    """A worker stopping cancels its requests: that must stay a cancellation, not become a 408."""

    async def scenario() -> None:
        reading = asyncio.create_task(_exchange(10.0, 5.0).read_body(100))
        await asyncio.sleep(0.01)
        reading.cancel()  # as a worker's shutdown cancels its requests
        with pytest.raises(asyncio.CancelledError):
            await reading

    asyncio.run(scenario())
