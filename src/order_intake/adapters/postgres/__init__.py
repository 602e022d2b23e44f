"""PostgreSQL: its stores, their SQL, the pool and the Backend (many writers at once).

The intake store (intake.py) writes groups by binary COPY; the processing store (processing.py) claims
with SKIP LOCKED under per-order advisory locks (locks.py); pool.py turns connection errors into
StoreUnavailable.
"""

import os
from dataclasses import dataclass

from order_intake.adapters.postgres.delivery import PgDeliveries
from order_intake.adapters.postgres.intake import PostgresStore
from order_intake.adapters.postgres.processing import PgProcessingStore
from order_intake.config import Settings
from order_intake.service.ports import DeliveryStore, ProcessingStore, Store
from order_intake.service.processing_records import Pace

__all__ = ["PgProcessingStore", "PostgresBackend", "PostgresStore", "processes_for"]


@dataclass(frozen=True, slots=True)
class PostgresBackend:
    """Many writers at once: processors share the work; an HTTP process per core, less one for the worker."""

    dsn: str
    name: str = "postgresql"

    def intake_store(self, settings: Settings) -> Store:
        """A pool of ORDER_INTAKE_POOL_SIZE connections per process."""
        return PostgresStore(self.dsn, pool_size=settings.pool_size)

    def processing_store(self, intake: Store | None = None, *, processors: int = 1) -> ProcessingStore:
        """A pool of its own: a connection for each processor and one for the relay."""
        del intake
        return PgProcessingStore(self.dsn, pool_size=max(2, processors + 1))

    def deliveries(self) -> DeliveryStore:
        """The sender's store: its claims skip what other senders hold (SKIP LOCKED, then a lease)."""
        return PgDeliveries(self.dsn)

    def writer_inflight(self, settings: Settings) -> int:
        """ORDER_INTAKE_WRITER_INFLIGHT."""
        return settings.writer_inflight

    def pace(self, settings: Settings) -> Pace:
        """A first batch of 500 (at most ORDER_INTAKE_PROCESSING_MAX_BATCH), rounds 0.1 s apart under load.

        With one HTTP process beside the worker (processes_for), 500 and 0.1 s took more orders a
        second than 100 and 0.05 s, and left the latency's tail no longer (docs/performance.md).
        """
        batch = settings.processing_batch or min(500, settings.processing_max_batch)
        return Pace(batch=batch, busy_seconds=0.1)

    def processors(self, settings: Settings) -> int:
        """ORDER_INTAKE_PROCESSING_CONCURRENCY: their claims skip each other's rows."""
        return settings.processing_concurrency

    def http_processes(self, *, beside_worker: bool) -> int:
        """One per core this process may run on, less one for `serve`'s processing worker (processes_for)."""
        return processes_for(usable_cores(), beside_worker=beside_worker)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as `taskset` or a cpuset sets it), else all."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def processes_for(cores: int, *, beside_worker: bool) -> int:
    """HTTP processes for `cores` cores: one each, less one for a processing worker beside them, at least one.

    The worker and PostgreSQL's share of processing take about a core's worth at full load: on two
    cores, a second HTTP process only made three processes take turns where two fit, which added to the
    tail of the answers' latency and to the processing lag (docs/performance.md, 2026-12-07). The price:
    with one HTTP process, a crash of it refuses connections until granian has replaced it (about 0.2 s;
    docs/operating.md).
    """
    return max(1, cores - 1) if beside_worker else max(1, cores)
