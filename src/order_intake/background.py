"""Background work wired together: the processor and, when a broker is configured, the event relay."""

import asyncio
import contextlib
from typing import TYPE_CHECKING

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.adapters.pg_processing import PgProcessingStore
from order_intake.adapters.processing_records import ProcessingStore
from order_intake.adapters.sqlite import SqliteStore
from order_intake.adapters.sqlite_processing import SqliteProcessingStore
from order_intake.adapters.store import Store
from order_intake.config import Settings
from order_intake.service.processing import Processor
from order_intake.service.relay import Relay

if TYPE_CHECKING:
    from order_intake.adapters.rabbitmq import RabbitPublisher


def make_processing_store(url: DatabaseUrl, intake: Store | None = None, *, processors: int = 1) -> ProcessingStore:
    """The processing store for this DATABASE_URL; on SQLite, sharing the intake store's writer if given.

    On PostgreSQL its pool has a connection for each of `processors` and one for the relay.
    """
    if url.sqlite_path is not None:
        return SqliteProcessingStore(url.sqlite_path, shared=intake if isinstance(intake, SqliteStore) else None)
    assert url.dsn is not None  # noqa: S101 - parse_database_url sets one of the two
    return PgProcessingStore(url.dsn, pool_size=max(2, processors + 1))


def processors_for(url: DatabaseUrl, settings: Settings) -> int:
    """Processors one worker runs at once (ORDER_INTAKE_PROCESSING_CONCURRENCY on PostgreSQL, one on SQLite).

    PostgreSQL's claim skips the rows another processor holds, so concurrent ones share the work; on
    SQLite they would plan the same submissions and all but one be overtaken.
    """
    return 1 if url.sqlite_path is not None else settings.processing_concurrency


def _publisher(settings: Settings) -> "RabbitPublisher | None":
    """The RabbitMQ publisher when BROKER_URL is set."""
    if not settings.broker_url:
        return None
    # Imported here: the AMQP client costs start-up time in every process that does not use it.
    from order_intake.adapters.rabbitmq import RabbitPublisher  # noqa: PLC0415

    return RabbitPublisher(settings.broker_url, settings.broker_exchange)


class Background:
    """The processors and the relay as tasks of the running event loop, stopped together."""

    def __init__(self, settings: Settings, store: ProcessingStore, *, processors: int = 1) -> None:
        self._processors = [
            Processor(store, batch=settings.processing_batch, max_batch=settings.processing_max_batch)
            for _ in range(max(1, processors))
        ]
        self._publisher = _publisher(settings)
        self.relay = Relay(store, self._publisher.publish) if self._publisher else None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the loops (the store is open)."""
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(processor.run(self._stop), name=f"processor-{n}")
            for n, processor in enumerate(self._processors)
        ]
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
