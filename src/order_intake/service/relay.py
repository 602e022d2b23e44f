"""The event relay: unsent outbox rows to the broker, at least once, oldest first."""

import asyncio

from order_intake.service.loop import repeat
from order_intake.service.ports import ProcessingStore, Publisher


class Relay:
    """Publishes events in batches until stopped; a failed batch stays unsent and is tried again."""

    def __init__(
        self, store: ProcessingStore, publish: Publisher, *, batch: int = 500, idle_seconds: float = 0.2
    ) -> None:
        self._store = store
        self._publish = publish
        self._batch = batch
        self._idle = idle_seconds

    async def relay_once(self) -> int:
        """One batch; the number of events published."""
        return await self._store.relay(self._batch, self._publish)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set."""
        await repeat(self.relay_once, full=self._batch, idle=self._idle, stop=stop, name="event relay")
