"""Processing lag while a benchmark runs: the age of the oldest unprocessed submission, sampled."""

import asyncio
import sqlite3
import threading
import time
from typing import Self

import asyncpg

# How long a benchmark waits, after its load, for processing to catch up.
DRAIN_TIMEOUT = 120.0

# The first submission in the queue (the queue's order is the order stored): one index lookup, not a
# join of the whole queue, which under a backlog cost as much as the processing it measured.
_OLDEST = (
    "(SELECT s.received_at FROM submission_queue q JOIN submissions s ON s.id = q.submission_id ORDER BY q.seq LIMIT 1)"
)
_PG_LAG = f"SELECT coalesce(extract(epoch FROM now() - {_OLDEST}), 0)::float8"


def lag_seconds(url: str) -> float:
    """The age of the oldest submission not yet processed (0 when none waits)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10)
        try:
            row = conn.execute(f"SELECT (julianday('now') - julianday({_OLDEST})) * 86400").fetchone()
        finally:
            conn.close()
        return float(row[0] or 0.0)

    async def query() -> float:
        conn = await asyncpg.connect(url)
        try:
            return float(await conn.fetchval(_PG_LAG))
        finally:
            await conn.close()

    return asyncio.run(query())


class Sampler:
    """Calls `sample()` every `every` seconds on a thread, from __enter__ until __exit__."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """Take one sample (each kind of sampler keeps its own)."""
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._every):
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class LagSampler(Sampler):
    """The processing lag, every `every` seconds."""

    def __init__(self, url: str, every: float = 0.5) -> None:
        super().__init__(every)
        self._url = url
        self.samples: list[float] = []

    def sample(self) -> None:
        """One lag reading."""
        self.samples.append(lag_seconds(self._url))

    def drain_seconds(self, timeout: float = DRAIN_TIMEOUT) -> float | None:
        """After the load: how long until nothing waits (the backlog left at the end); None past `timeout`."""
        started = time.monotonic()
        while lag_seconds(self._url) > 0:
            if time.monotonic() - started > timeout:
                return None
            time.sleep(0.1)
        return time.monotonic() - started


def drained(drain: float | None) -> str:
    """What drain_seconds found, for a benchmark's report."""
    if drain is not None:
        return f"backlog gone {drain:.1f} s after the load stopped"
    return (
        f"BACKLOG NOT GONE {DRAIN_TIMEOUT:.0f} s after the load stopped: processing did not keep up or failed "
        "(see the server's log), so these figures are not of processing every order"
    )
