"""Background work wired together: the processors, the invitation sender and, with a broker, the event relay."""

import asyncio
import contextlib
from typing import TYPE_CHECKING

from order_intake.config import Settings
from order_intake.service.delivery import Sender
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.ports import ProcessingStore
from order_intake.service.processing import Processor
from order_intake.service.processing_records import Pace
from order_intake.service.relay import Relay

if TYPE_CHECKING:
    from order_intake.adapters.rabbitmq import RabbitPublisher


def _publisher(settings: Settings) -> "RabbitPublisher | None":
    """The RabbitMQ publisher when BROKER_URL is set."""
    if not settings.broker_url:
        return None
    # Imported here: the AMQP client costs start-up time in every process that does not use it.
    from order_intake.adapters.rabbitmq import RabbitPublisher  # noqa: PLC0415

    return RabbitPublisher(settings.broker_url, settings.broker_exchange)


class Background:
    """The processors and the relay as tasks of the running event loop, stopped together."""

    def __init__(  # noqa: PLR0913 - the settings, the store and what each loop needs
        self,
        settings: Settings,
        store: ProcessingStore,
        *,
        pace: Pace,
        processors: int = 1,
        invitations: InvitationPlanning | None = None,
        sender: Sender | None = None,
    ) -> None:
        self._processors = [
            Processor(
                store,
                batch=pace.batch,
                max_batch=settings.processing_max_batch,
                busy_seconds=pace.busy_seconds,
                invitations=invitations,
            )
            for _ in range(max(1, processors))
        ]
        self._publisher = _publisher(settings)
        self.relay = Relay(store, self._publisher.publish) if self._publisher else None
        self._sender = sender
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
        if self._sender is not None:
            self._tasks.append(asyncio.create_task(self._sender.run(self._stop), name="invitation-sender"))

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
