"""Waiting for something that happens elsewhere (a server, a worker, a broker): polling with a deadline."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], *, deadline: float, interval: float = 0.05) -> T | None:
    """Poll `check` until it returns something other than None, or the monotonic deadline passes."""
    while True:
        result = check()
        if result is not None or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def wait_for(what: str, check: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> None:
    """Poll `check` until it is true; fail the test, naming `what`, if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)
