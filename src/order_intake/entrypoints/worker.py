"""`order-intake worker` and `order-intake events tail`: background processing and the event stream."""

import asyncio
import contextlib
import json
import signal

import click

from order_intake import logs
from order_intake.background import Background, make_processing_store
from order_intake.config import load_settings
from order_intake.domain.events import event_schema
from order_intake.entrypoints.cli_support import database
from order_intake.service.loop import sleep_until

# Events `tail` reads per query, and how often `--follow` looks for new ones.
_PAGE = 500
_FOLLOW_SECONDS = 0.5


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


@click.command()
def worker() -> None:
    """Process accepted submissions into canonical orders and, with BROKER_URL set, publish their events.

    Several workers share one PostgreSQL database safely; SIGTERM or Ctrl-C ends the current
    transaction and exits.
    """
    url = database()
    settings = load_settings()
    logs.configure(settings.log_level)

    async def run() -> None:
        store = make_processing_store(url)
        await store.open()
        background = Background(settings, store)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        background.start()
        await stop.wait()
        await background.stop()
        await store.close()

    asyncio.run(run())


@click.group()
def events() -> None:
    """The events of canonical orders, as written to the outbox."""


@events.command("schema")
def events_schema() -> None:
    """Print the events' JSON Schema."""
    click.echo(json.dumps(event_schema(), indent=2))


@events.command("tail")
@click.option("--trkref", default=None, help="Only this organisation's events.")
@click.option("--follow", is_flag=True, help="Keep printing new events until interrupted.")
@click.option("--after", default=0, type=click.IntRange(0), help="Start after this outbox position.")
def events_tail(trkref: str | None, *, follow: bool, after: int) -> None:
    """Print events as JSON lines, oldest first (sent to the broker or not)."""
    url = database()

    async def run() -> None:
        store = make_processing_store(url)
        await store.open()
        stop = asyncio.Event()
        _stop_on_signals(stop)
        position = after
        try:
            while not stop.is_set():
                rows = await store.events_after(position, trkref, _PAGE)
                for row in rows:
                    click.echo(row.payload.decode())
                    position = row.id
                if len(rows) < _PAGE:
                    if not follow:
                        break
                    await sleep_until(stop, _FOLLOW_SECONDS)
        finally:
            await store.close()

    with contextlib.suppress(BrokenPipeError):
        asyncio.run(run())
