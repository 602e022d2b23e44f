"""The Metrics object in one process: scrape-time backlog (cached, left out on failure) and limiter totals."""

import asyncio
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from order_intake.errors import StoreUnavailable
from order_intake.metrics import Metrics


class FakeBacklog:
    """A BacklogSource that answers what it is told, or raises, and counts the questions."""

    def __init__(self, answer: tuple[float, int] | Exception) -> None:
        self.answer = answer
        self.asked = 0

    async def backlog(self, *, unsent: bool) -> tuple[float, int | None]:
        """The set answer (without the count of unsent events unless asked for it)."""
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        lag, count = self.answer
        return lag, count if unsent else None


@dataclass
class FakeLimiter:
    """RateLimitCounters: the limiter's two running totals."""

    rejected: int = 0
    backend_failures: int = 0


def _samples(text: bytes) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text.decode()) for s in f.samples if not s.labels}


def test_backlog_is_read_at_scrape_time_and_cached_for_a_second() -> None:
    """Two scrapes in a row ask the database once; the gauges show what it said."""
    metrics, source = Metrics(), FakeBacklog((12.5, 3))
    metrics.watch_backlog(source, unsent=True)

    async def scrape_twice() -> bytes:
        await metrics.exposition()
        return await metrics.exposition()

    samples = _samples(asyncio.run(scrape_twice()))
    assert source.asked == 1
    assert samples["order_intake_processing_lag_seconds"] == 12.5
    assert samples["order_intake_outbox_backlog"] == 3


def test_without_a_broker_the_outbox_backlog_is_neither_counted_nor_shown() -> None:
    """No broker sends events: the lag is shown, the outbox's gauge is absent (a count that only grows)."""
    metrics = Metrics()
    metrics.watch_backlog(FakeBacklog((0.5, 7)), unsent=False)
    samples = _samples(asyncio.run(metrics.exposition()))
    assert samples["order_intake_processing_lag_seconds"] == 0.5
    assert "order_intake_outbox_backlog" not in samples


@pytest.mark.parametrize("failure", [StoreUnavailable("down"), TimeoutError()])
def test_backlog_gauges_are_left_out_when_the_database_does_not_answer(failure: Exception) -> None:
    """No database: the scrape still answers, without the two gauges (never a made-up 0)."""
    metrics = Metrics()
    metrics.watch_backlog(FakeBacklog(failure), unsent=True)
    samples = _samples(asyncio.run(metrics.exposition()))
    assert "order_intake_processing_lag_seconds" not in samples
    assert "order_intake_outbox_backlog" not in samples
    assert "order_intake_rate_limit_rejections_total" in samples


def test_limiter_totals_are_copied_as_increments() -> None:
    """The shared counters grow by what the limiter's totals grew since the last copy, never twice."""
    metrics, limiter = Metrics(), FakeLimiter()
    metrics.watch_rate_limiter(limiter)
    limiter.rejected, limiter.backend_failures = 4, 1
    first = _samples(asyncio.run(metrics.exposition()))
    limiter.rejected = 6
    second = _samples(asyncio.run(metrics.exposition()))
    assert (first["order_intake_rate_limit_rejections_total"], second["order_intake_rate_limit_rejections_total"]) == (
        4,
        6,
    )
    assert second["order_intake_rate_limit_backend_failures_total"] == 1


def test_the_copying_task_runs_while_started_and_copies_once_more_at_stop() -> None:
    """start() copies every second in the background; stop() ends it after a last copy."""
    metrics, limiter = Metrics(), FakeLimiter()
    metrics.watch_rate_limiter(limiter)

    async def run() -> bytes:
        metrics.start()
        limiter.rejected = 2
        await metrics.stop()
        return await metrics.exposition()

    assert _samples(asyncio.run(run()))["order_intake_rate_limit_rejections_total"] == 2


def test_requests_are_counted_with_unknown_methods_folded_into_other() -> None:
    """A method outside HTTP's usual set is labelled `other`, so labels stay few."""
    metrics = Metrics()
    metrics.request("/health", "GET", 200, 0.001)
    metrics.request("/health", "GET", 200, 0.002)
    metrics.request("other", "BREW", 404, 0.001)
    text = asyncio.run(metrics.exposition()).decode()
    assert 'order_intake_http_requests_total{method="GET",route="/health",status="200"} 2.0' in text
    assert 'order_intake_http_requests_total{method="other",route="other",status="404"} 1.0' in text
    assert "BREW" not in text
