"""Publishing events to RabbitMQ (aio-pika): durable topic exchange, persistent messages, confirms."""

import asyncio
import contextlib
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from order_intake.domain import events
from order_intake.errors import BrokerUnavailable
from order_intake.service.processing_records import OutboxRow

# Seconds to wait for the broker to connect or to confirm a message.
_TIMEOUT = 10.0


class RabbitPublisher:
    """Publishes outbox rows; returns only once the broker has confirmed every one of them."""

    def __init__(self, url: str, exchange: str) -> None:
        self._url = url
        self._exchange_name = exchange
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def _exchange_ready(self) -> AbstractExchange:
        if self._exchange is None or self._channel is None or self._channel.is_closed:
            await self.close()
            self._connection = await aio_pika.connect(self._url, timeout=_TIMEOUT)
            self._channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        return self._exchange

    async def publish(self, rows: Sequence[OutboxRow]) -> None:
        """Publish and wait for the broker's confirms; any failure raises BrokerUnavailable."""
        try:
            exchange = await self._exchange_ready()
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            row.payload,
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(row.event_id),
                            type=events.UPSERTED,
                            headers={"version": row.version},
                        ),
                        routing_key=row.routing_key,
                        timeout=_TIMEOUT,
                    )
                    for row in rows
                )
            )
        # A connection cut while a batch is being published closes its channel under it: the next
        # publish raises ChannelInvalidStateError (a RuntimeError, not an AMQPError), still the broker gone.
        except (
            OSError,
            TimeoutError,
            aio_pika.exceptions.AMQPError,
            aio_pika.exceptions.ChannelInvalidStateError,
        ) as exc:
            await self.close()
            raise BrokerUnavailable(type(exc).__name__) from exc

    async def close(self) -> None:
        """Close the connection (the next publish reconnects)."""
        connection, self._connection, self._channel, self._exchange = self._connection, None, None, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(OSError, aio_pika.exceptions.AMQPError):
                await connection.close()
