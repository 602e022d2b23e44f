"""Prometheus metrics: what each worker process counts, and one scrape that adds up every process.

granian serves with several worker processes and a scrape reaches only one of them, so counters and
histograms live in prometheus_client's multiprocess files (one per process, in the directory named by
PROMETHEUS_MULTIPROC_DIR, which `order-intake serve` creates for each run) and the answering process
sums them all. Requests are added up in plain Python per process and copied into those files once a
second (and before this process answers a scrape): two file updates per request cost 5 µs, the
dictionaries 0.45 µs. The database figures (processing lag, outbox backlog) are not per process:
the answering process asks the database at scrape time, at most once a second. Labels are route
templates, methods and statuses only: never a trkref, a key, an id or anything from an order.
"""

import asyncio
import bisect
import collections
import contextlib
import os
from collections.abc import Sequence
from typing import Final, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from order_intake.backlog_probe import BacklogProbe, BacklogSource

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_SYNC_SECONDS = 1.0


class RateLimitCounters(Protocol):
    """The rate limiter's running totals in this process."""

    @property
    def rejected(self) -> int: ...  # noqa: D102

    @property
    def backend_failures(self) -> int: ...  # noqa: D102


def write_to_shared_files() -> None:
    """Make the metrics this process creates from now on write to PROMETHEUS_MULTIPROC_DIR's files.

    prometheus_client picks its value store when first imported; if that happened before the
    directory was set, switch now, before any metric exists in this process.
    """
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call] # library lacks hints


class PlannedRow(Protocol):
    """What the counter reads of an invitation row."""

    @property
    def state(self) -> str: ...  # noqa: D102

    @property
    def reason(self) -> str | None: ...  # noqa: D102


class InvitationCounter:
    """Invitations planned, by state and reason, counted in the processing worker (no per-customer labels).

    Under `serve` the worker inherits PROMETHEUS_MULTIPROC_DIR and /metrics sums its file with the
    HTTP processes'; a worker on its own counts in memory only.
    """

    def __init__(self) -> None:
        if os.environ.get(MULTIPROC_ENV):
            write_to_shared_files()
        self._planned = Counter(
            "order_intake_invitations_planned",
            "Invitations written by processing, by state and reason (a change of plan counts again)",
            ["state", "reason"],
        )

    def count(self, rows: Sequence[PlannedRow]) -> None:
        """Count each row written: one increment per state and reason, not per row (a batch holds a thousand)."""
        tally = collections.Counter((row.state, row.reason or "") for row in rows)
        for (state, reason), n in tally.items():
            self._planned.labels(state, reason).inc(n)


class DeliveryCounter:
    """Invitation e-mails handed over, deferred or refused, by kind, counted in the worker (as InvitationCounter)."""

    def __init__(self) -> None:
        if os.environ.get(MULTIPROC_ENV):
            write_to_shared_files()
        self._sent = Counter(
            "order_intake_invitation_emails",
            "Invitation e-mails by kind (invitation, reminder) and outcome (sent, temporary, permanent, undeliverable)",
            ["kind", "outcome"],
        )

    def count(self, kind: str, outcome: str) -> None:
        """Count one attempt."""
        self._sent.labels(kind, outcome).inc()


class Metrics:
    """One worker process's metrics, and the scrape that adds up every process's (made by bootstrap)."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        directory = multiprocess_dir if multiprocess_dir is not None else os.environ.get(MULTIPROC_ENV)
        own = None if directory else CollectorRegistry()
        if directory:
            write_to_shared_files()
        self._requests = Counter(
            "order_intake_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=own
        )
        self._latency = Histogram(
            "order_intake_http_request_duration_seconds",
            "Time from request to answer",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=own,
        )
        self._batch = Histogram(
            "order_intake_writer_batch_submissions",
            "Submissions per group-commit transaction",
            buckets=_BATCH_BUCKETS,
            registry=own,
        )
        self._wait = Histogram(
            "order_intake_writer_wait_seconds",
            "Longest queue wait of a unit in each group-commit transaction, before the transaction began",
            buckets=_WAIT_BUCKETS,
            registry=own,
        )
        self._commit = Histogram(
            "order_intake_writer_commit_seconds", "Duration of each group-commit transaction", registry=own
        )
        self._rejected = Counter(
            "order_intake_rate_limit_rejections", "Requests answered 429 by the rate limiter", registry=own
        )
        self._backend_failures = Counter(
            "order_intake_rate_limit_backend_failures",
            "Rate-limit checks that failed open because the shared backend (Redis) did not answer",
            registry=own,
        )
        self._children: dict[tuple[str, str, int], Counter] = {}
        self._latencies: dict[str, Histogram] = {}
        # Not yet copied into the shared files: requests by (route, method, status); per route, the
        # count in each latency bucket (the last one: above every bound) and the seconds in all.
        self._counted: dict[tuple[str, str, int], int] = {}
        self._timed: dict[str, tuple[list[int], list[float]]] = {}
        self._backlog = BacklogProbe()
        self._limiter: RateLimitCounters | None = None
        self._limiter_seen = (0, 0)
        self._sync: asyncio.Task[None] | None = None
        self.registry = own if own is not None else CollectorRegistry()
        if own is None:
            MultiProcessCollector(self.registry, path=directory)  # type: ignore[no-untyped-call] # library lacks hints
        self.registry.register(self._backlog)

    # hot path: counted in dictionaries, copied to the shared files once a second (docs/hot-path.md)
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (the hot path: two dictionary updates, copied out every second)."""
        key = (route, method, status)
        self._counted[key] = self._counted.get(key, 0) + 1
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = ([0] * (len(_LATENCY_BUCKETS) + 1), [0.0])
        timed[0][bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # the first bucket whose bound >= seconds
        timed[1][0] += seconds

    def _copy_requests(self) -> None:
        """Add what was counted since the last copy to the shared counters and histograms."""
        counted, self._counted = self._counted, {}
        for key, count in counted.items():
            child = self._children.get(key)
            if child is None:
                route, method, status = key
                label = method if method in _KNOWN_METHODS else "other"
                child = self._children[key] = self._requests.labels(route, label, str(status))
            child.inc(count)
        timed, self._timed = self._timed, {}
        for route, (buckets, total) in timed.items():
            latency = self._latencies.get(route)
            if latency is None:
                latency = self._latencies[route] = self._latency.labels(route)
            # Histogram.observe for many observations at once: its per-bucket values and its sum
            # (prometheus_client stores bucket counts non-cumulatively, one value per bound and +Inf).
            for value, count in zip(latency._buckets, buckets, strict=True):  # noqa: SLF001
                if count:
                    value.inc(count)
            latency._sum.inc(total[0])  # noqa: SLF001

    def commit(self, size: int, waited: float, took: float) -> None:
        """One group-commit transaction committed: its submissions, its oldest unit's wait, its duration."""
        self._batch.observe(size)
        self._wait.observe(waited)
        self._commit.observe(took)

    def watch_backlog(self, source: BacklogSource, *, unsent: bool) -> None:
        """Where the processing lag and (with a broker: `unsent`) the outbox backlog are read at scrape time."""
        self._backlog.watch(source, unsent=unsent)

    def watch_rate_limiter(self, limiter: RateLimitCounters) -> None:
        """The hook for the rate limiter: its totals are copied into the shared counters every second."""
        self._limiter = limiter
        self._limiter_seen = (0, 0)

    def start(self) -> None:
        """Start copying the requests counted and the rate limiter's totals every second (from the running loop)."""
        if self._sync is None:
            self._sync = asyncio.create_task(self._sync_forever(), name="metrics-sync")

    async def stop(self) -> None:
        """Stop copying, after a last copy."""
        if self._sync is not None:
            self._sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync
            self._sync = None
        self._copy()

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(_SYNC_SECONDS)
            self._copy()

    def _copy(self) -> None:
        self._copy_requests()
        self._sync_rate_limits()

    def _sync_rate_limits(self) -> None:
        if self._limiter is None:
            return
        now = (self._limiter.rejected, self._limiter.backend_failures)
        self._rejected.inc(max(0, now[0] - self._limiter_seen[0]))
        self._backend_failures.inc(max(0, now[1] - self._limiter_seen[1]))
        self._limiter_seen = now

    async def exposition(self) -> bytes:
        """The text exposition of every process's metrics and the current backlog."""
        self._copy()
        await self._backlog.refresh()
        return generate_latest(self.registry)
