"""Concurrent load on a real server from threads, remembering which requests were answered."""

import threading
import time
from collections.abc import Callable
from typing import Self

import httpx

from tests.support.cli import Credentials

# Sends one request tagged `tag`; returns what to remember of its answer. Raises httpx.TransportError
# when the server died under it.
Send = Callable[[httpx.Client, str], object]


class Threaded:
    """Load from threads: started on entering the `with`, asked to stop and waited for on leaving it."""

    _threads: list[threading.Thread]
    _stop: threading.Event

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


class Load(Threaded):
    """Threads sending distinct tagged requests until stopped: what was answered, and what was not."""

    def __init__(  # noqa: PLR0913 - the load's target, its shape, and how long one answer may take
        self, base_url: str, key: Credentials, prefix: str, threads: int, send: Send, *, timeout: float = 10
    ) -> None:
        self.answered: dict[str, object] = {}
        self.unanswered: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(base_url, key, f"{prefix}-T{t}", send, timeout))
            for t in range(threads)
        ]

    def _run(self, base_url: str, key: Credentials, prefix: str, send: Send, timeout: float) -> None:
        with httpx.Client(base_url=base_url, timeout=timeout, auth=key.auth) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                tag = f"{prefix}-{n}"
                try:
                    kept = send(client, tag)
                except httpx.TransportError:
                    with self._lock:
                        self.unanswered.append(tag)
                    continue
                with self._lock:
                    self.answered[tag] = kept

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Poll until `count` requests were answered."""
        deadline = time.monotonic() + timeout
        while len(self.answered) < count:
            assert time.monotonic() < deadline, f"only {len(self.answered)} answered in {timeout}s"
            time.sleep(0.01)
