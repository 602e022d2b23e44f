"""What differs between the two databases, said once: each backend's stores and the numbers that suit it.

bootstrap.py, the worker and `serve` ask the Backend of DATABASE_URL; nothing outside adapters/ asks
which database it is.
"""

from typing import Protocol

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.config import Settings
from order_intake.service.ports import DeliveryStore, ProcessingStore, Store
from order_intake.service.processing_records import Pace


class Backend(Protocol):
    """One database's stores, and how many of each moving part it wants."""

    @property
    def name(self) -> str:
        """`postgresql` or `sqlite`."""

    def intake_store(self, settings: Settings) -> Store:
        """The request path's store."""

    def processing_store(self, intake: Store | None = None, *, processors: int = 1) -> ProcessingStore:
        """Processing's store, with room for `processors` at once; on SQLite it shares `intake`'s writer."""

    def deliveries(self) -> DeliveryStore:
        """The invitation sender's store."""

    def writer_inflight(self, settings: Settings) -> int:
        """Group-commit transactions one process may have in flight."""

    def pace(self, settings: Settings) -> Pace:
        """How each processor spaces its rounds (ORDER_INTAKE_PROCESSING_BATCH sets its first batch)."""

    def processors(self, settings: Settings) -> int:
        """Processors one worker process runs at once."""

    def http_processes(self, *, beside_worker: bool) -> int:
        """`serve`'s HTTP processes unless --workers says otherwise, with or without its processing worker."""


def backend_for(url: DatabaseUrl) -> Backend:
    """The backend of this DATABASE_URL."""
    if url.sqlite_path is not None:
        from order_intake.adapters.sqlite import SqliteBackend  # noqa: PLC0415 - each process needs one of the two

        return SqliteBackend(url.sqlite_path)
    from order_intake.adapters.postgres import PostgresBackend  # noqa: PLC0415

    assert url.dsn is not None  # noqa: S101 - parse_database_url sets one of the two
    return PostgresBackend(url.dsn)
