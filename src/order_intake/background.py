"""Background work wired together: the processor and, when a broker is configured, the event relay."""

import asyncio
import contextlib

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.adapters.pg_processing import PgProcessingStore
from order_intake.adapters.processing_records import ProcessingStore
from order_intake.adapters.rabbitmq import RabbitPublisher
from order_intake.adapters.sqlite import SqliteStore
from order_intake.adapters.sqlite_processing import SqliteProcessingStore
from order_intake.adapters.store import Store
from order_intake.config import Settings
from order_intake.service.processing import Processor
from order_intake.service.relay import Relay


def make_processing_store(url: DatabaseUrl, intake: Store | None = None) -> ProcessingStore:
    """The processing store for this DATABASE_URL; on SQLite, sharing the intake store's writer if given."""
    if url.sqlite_path is not None:
        return SqliteProcessingStore(url.sqlite_path, shared=intake if isinstance(intake, SqliteStore) else None)
    assert url.dsn is not None  # noqa: S101 - parse_database_url sets one of the two
    return PgProcessingStore(url.dsn)


class Background:
    """The processor and the relay as tasks of the running event loop, stopped together."""

    def __init__(self, settings: Settings, store: ProcessingStore) -> None:
        self.processor = Processor(store, batch=settings.processing_batch)
        self._publisher = (
            RabbitPublisher(settings.broker_url, settings.broker_exchange) if settings.broker_url else None
        )
        self.relay = Relay(store, self._publisher.publish) if self._publisher else None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the loops (the store is open)."""
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.processor.run(self._stop), name="processor")]
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="event-relay"))

    async def wait(self) -> None:
        """Until the loops end (after stop())."""
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        """Let the loops finish their current transaction, then end them and close the broker connection."""
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.wait()
        if self._publisher is not None:
            await self._publisher.close()
