"""SQLite, the embedded default: its stores, their SQL, and the Backend (one writer per file).

The intake store (intake.py) writes through one writer thread on a WAL file; the processing store
(processing.py) plans on a reader and writes on that writer; timestamps.py says how times are stored.
"""

from dataclasses import dataclass
from pathlib import Path

from order_intake.adapters.sqlite.delivery import SqliteDeliveries
from order_intake.adapters.sqlite.intake import SqliteStore
from order_intake.adapters.sqlite.processing import SqliteProcessingStore
from order_intake.config import Settings
from order_intake.service.ports import DeliveryStore, ProcessingStore, Store
from order_intake.service.processing_records import Pace

__all__ = ["SqliteBackend", "SqliteProcessingStore", "SqliteStore"]


@dataclass(frozen=True, slots=True)
class SqliteBackend:
    """One writer per file: more of any part would only take turns on its lock."""

    path: Path
    name: str = "sqlite"

    def intake_store(self, settings: Settings) -> Store:
        """The file's store."""
        del settings
        return SqliteStore(self.path)

    def processing_store(self, intake: Store | None = None, *, processors: int = 1) -> ProcessingStore:
        """Processing on the same file, through the intake store's writer when it runs in this process."""
        del processors
        return SqliteProcessingStore(self.path, shared=intake if isinstance(intake, SqliteStore) else None)

    def deliveries(self) -> DeliveryStore:
        """The sender's store: a writer of its own, taking turns on the file's lock."""
        return SqliteDeliveries(self.path)

    def writer_inflight(self, settings: Settings) -> int:
        """One transaction at a time: SQLite has one writer."""
        del settings
        return 1

    def pace(self, settings: Settings) -> Pace:
        """A first batch of 100, rounds 0.05 s apart under load: short, for intake waits for their lock.

        A round holds SQLite's one write lock, so larger or rarer rounds lengthened the answers' latency
        (docs/performance.md).
        """
        return Pace(batch=settings.processing_batch or min(100, settings.processing_max_batch), busy_seconds=0.05)

    def processors(self, settings: Settings) -> int:
        """One: concurrent ones would plan the same submissions and all but one be overtaken."""
        del settings
        return 1

    def http_processes(self, *, beside_worker: bool) -> int:
        """One, worker or none: more processes take turns on the write lock."""
        del beside_worker
        return 1
