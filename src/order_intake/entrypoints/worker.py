"""`order-intake worker` and `order-intake events tail`: background processing and the event stream."""

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import click

from order_intake import collector, logs
from order_intake.adapters.backend import backend_for
from order_intake.adapters.sql.suppression_store import SqlSuppressions
from order_intake.background import Background
from order_intake.bootstrap import make_sender
from order_intake.config import load_settings
from order_intake.domain.events import event_schema
from order_intake.entrypoints.cli_base import database
from order_intake.metrics import DeliveryCounter, InvitationCounter
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.loop import sleep_until

log = logging.getLogger("order_intake.worker")
# Events `tail` reads per query, and how often `--follow` looks for new ones.
_PAGE = 500
_FOLLOW_SECONDS = 0.5
# How often a supervised worker checks that its server is still there (where no signal tells it).
_PARENT_CHECK_SECONDS = 0.5
# prctl(2)'s option that has Linux send this process a signal when its parent exits.
_PR_SET_PDEATHSIG = 1


def _stop_on_signals(stop: asyncio.Event, signals: tuple[signal.Signals, ...]) -> None:
    loop = asyncio.get_running_loop()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)


# hot path: uvloop, as granian's HTTP workers (docs/hot-path.md)
def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed, as granian runs the HTTP workers.

    A database round trip costs about a third less CPU there than on asyncio's own loop.
    """
    try:
        import uvloop  # noqa: PLC0415 - not on every platform
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _signal_when_orphaned(signum: signal.Signals) -> None:
    """On Linux, have the kernel send `signum` the moment this process's parent exits, SIGKILL included.

    The parent is, for the kernel, the thread that started us: `serve`'s supervising thread, which
    lives as long as its worker. A parent that died before this call sends nothing, hence the
    polling below as well (and alone on other systems).
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)  # cannot fail with these arguments


async def _until_orphaned(parent: int, stop: asyncio.Event) -> None:
    """Set `stop` once `parent` is no longer this process's parent (it died without stopping us)."""
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()
        await sleep_until(stop, _PARENT_CHECK_SECONDS)


@click.command()
@click.option("--supervised-by", type=int, default=None, hidden=True, help="The `serve` process that started us.")
def worker(supervised_by: int | None) -> None:
    """Process accepted submissions into canonical orders, send due invitations, publish events (BROKER_URL).

    Several workers share one PostgreSQL database safely; SIGTERM or Ctrl-C ends the current
    transaction and exits. `serve` starts one itself (--supervised-by): that one stops on SIGTERM
    or when its server is gone, and ignores Ctrl-C, which its server answers by stopping it.
    """
    if supervised_by is not None:
        _signal_when_orphaned(signal.SIGTERM)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    url = database()
    settings = load_settings()
    logs.configure(settings.log_level)
    if supervised_by is not None and settings.serve_worker_nice:
        os.nice(settings.serve_worker_nice)  # before any thread starts: each inherits it
    signals = (signal.SIGTERM,) if supervised_by is not None else (signal.SIGTERM, signal.SIGINT)

    async def run() -> None:
        backend = backend_for(url)
        processors = backend.processors(settings)
        store = backend.processing_store(processors=processors)
        await store.open()
        secret = await store.signing_key()
        planning = InvitationPlanning(secret, planned=InvitationCounter().count)
        deliveries = backend.deliveries()
        await deliveries.open()
        suppressions = SqlSuppressions(url)
        sender = make_sender(settings, deliveries, suppressions, secret, DeliveryCounter().count)
        background = Background(
            settings, store, pace=backend.pace(settings), processors=processors, invitations=planning, sender=sender
        )
        stop = asyncio.Event()
        _stop_on_signals(stop, signals)
        watch = asyncio.create_task(_until_orphaned(supervised_by, stop)) if supervised_by is not None else None
        background.start()
        collector.tune_after_start_up()
        started = {"pid": os.getpid(), "processors": processors, "nice": os.nice(0)}
        log.info("processing worker started", extra=started)
        await stop.wait()
        if watch is not None:
            await watch
        await background.stop()
        await suppressions.close()
        await deliveries.close()
        await store.close()

    _run_fast(run())


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
@click.option("--after", default=0, type=click.IntRange(0, 2**63 - 1), help="Start after this outbox position.")
def events_tail(trkref: str | None, *, follow: bool, after: int) -> None:
    """Print events as JSON lines, oldest first (sent to the broker or not)."""
    url = database()

    async def run() -> None:
        store = backend_for(url).processing_store()
        await store.open()
        stop = asyncio.Event()
        _stop_on_signals(stop, (signal.SIGTERM, signal.SIGINT))
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
