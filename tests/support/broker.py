"""The real RabbitMQ of the machine: an exchange and a durable queue of the test's own, read afterwards."""

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

import aio_pika

BROKER_URL = os.environ.get("ORDER_INTAKE_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672/")


@dataclass(frozen=True)
class Delivery:
    """One message as the consumer got it."""

    routing_key: str
    message_id: str
    body: dict[str, Any]


class ScratchExchange:
    """A uniquely named exchange (set ORDER_INTAKE_BROKER_EXCHANGE to it) with a queue bound to all of it.

    The queue is durable and outlives the declaring connection, so it collects every message published
    while the test runs; `drain` reads them all, `delete` removes both.
    """

    def __init__(self, label: str) -> None:
        suffix = f"{label}-{os.getpid()}-{secrets.token_hex(3)}"
        self.exchange = f"order-intake-test-{suffix}"
        self.queue = f"order-intake-test-q-{suffix}"

    async def _declare(self) -> None:
        connection = await aio_pika.connect(BROKER_URL)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(self.queue, durable=True)
            await queue.bind(exchange, routing_key="customer_order.upserted.#")

    async def _drain(self) -> list[Delivery]:
        connection = await aio_pika.connect(BROKER_URL)
        got: list[Delivery] = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.queue, durable=True)
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                got.append(Delivery(message.routing_key or "", message.message_id or "", json.loads(message.body)))
        return got

    async def _delete(self) -> None:
        connection = await aio_pika.connect(BROKER_URL)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(self.queue)
            await channel.exchange_delete(self.exchange)

    def declare(self) -> "ScratchExchange":
        """Create the exchange and the bound queue."""
        asyncio.run(self._declare())
        return self

    def drain(self) -> list[Delivery]:
        """Every message waiting in the queue, taken off it."""
        return asyncio.run(self._drain())

    def delete(self) -> None:
        """Remove the queue and the exchange."""
        asyncio.run(self._delete())

    def env(self) -> dict[str, str]:
        """What a worker needs to publish here."""
        return {"BROKER_URL": BROKER_URL, "ORDER_INTAKE_BROKER_EXCHANGE": self.exchange}
