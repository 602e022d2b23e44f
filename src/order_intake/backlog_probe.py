"""The processing lag and the outbox backlog, read from the database when /metrics is scraped.

They describe the database, not a process, so they are not counted per process like the other
metrics: the process that answers a scrape asks, at most once a second and for at most 0.5 s.
"""

import asyncio
import time
from collections.abc import Iterator
from typing import Protocol

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

_CACHE_SECONDS = 1.0
_TIMEOUT_SECONDS = 0.5


class BacklogSource(Protocol):
    """What reports the processing backlog (the processing store)."""

    async def backlog(self, *, unsent: bool) -> tuple[float, int | None]:
        """Age in seconds of the oldest submission still 'accepted' (0 when none), and unsent events if asked."""


class BacklogProbe:
    """A prometheus_client collector of the two gauges as last read (absent when the database did not answer).

    The outbox's gauge is there only when a broker takes the events: without one, none is ever sent,
    and a count that only grows would read as a relay that fell behind.
    """

    def __init__(self) -> None:
        self._source: BacklogSource | None = None
        self._unsent = False
        self._read: tuple[float, int | None] | None = None
        self._read_at = -_CACHE_SECONDS

    def watch(self, source: BacklogSource, *, unsent: bool) -> None:
        """Where the figures are read, and whether the unsent events are counted (only with a broker)."""
        self._source, self._unsent = source, unsent

    async def refresh(self) -> None:
        """Read them again, unless the last read is under a second old."""
        now = time.monotonic()
        if self._source is None or now - self._read_at < _CACHE_SECONDS:
            return
        self._read_at = now
        try:
            async with asyncio.timeout(_TIMEOUT_SECONDS):
                self._read = await self._source.backlog(unsent=self._unsent)
        except Exception:  # noqa: BLE001 - no database now: the scrape goes on without these two figures
            self._read = None

    def collect(self) -> Iterator[Metric]:
        """The gauges, for the registry."""
        if self._read is None:
            return
        lag, unsent = self._read
        yield GaugeMetricFamily(
            "order_intake_processing_lag_seconds", "Age of the oldest submission not yet processed", value=lag
        )
        if unsent is not None:
            yield GaugeMetricFamily(
                "order_intake_outbox_backlog", "Outbox events not yet sent to the broker", value=unsent
            )
