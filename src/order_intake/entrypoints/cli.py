"""The `order-intake` command: serve, the schema, and (from their own modules) org, key and submit."""

import os
import shutil
import tempfile

import click

from order_intake.entrypoints.cli_admin import key, org
from order_intake.entrypoints.cli_data import audit_group, erase, purge
from order_intake.entrypoints.cli_support import database
from order_intake.entrypoints.submit_client import submit
from order_intake.entrypoints.worker import events, worker


@click.group()
def main() -> None:
    """order-intake: the customer order submission API (v4)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes (default: 1 on SQLite, one per core on PostgreSQL)."
)
@click.option(
    "--no-worker", is_flag=True, help="Do not process submissions in the server (run `order-intake worker`)."
)
def serve(host: str, port: int, workers: int | None, *, no_worker: bool) -> None:
    """Serve the HTTP API (SIGTERM drains in-flight requests and flushes the writer).

    Each server process also processes accepted submissions and relays events, unless --no-worker.
    """
    url = database()
    if no_worker:
        os.environ["ORDER_INTAKE_IN_PROCESS_WORKER"] = "0"  # read by each worker process's settings
    if workers is None:
        workers = 1 if url.backend == "sqlite" else (os.cpu_count() or 1)
    # Each worker process writes its metrics here and /metrics sums them all: a fresh directory per
    # run, so that no figure of an earlier run is counted again, removed when the server stops.
    metrics_dir = tempfile.mkdtemp(prefix="order-intake-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # inherited by every worker process
    try:
        _serve(host, port, workers)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve(host: str, port: int, workers: int) -> None:
    from granian import Granian  # noqa: PLC0415 - only this command needs the server
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415

    Granian(
        "order_intake.entrypoints.http.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=workers,
        log_access=False,
        # Headers must arrive within 10 s and fit in 64 KiB (bodies stream past this buffer).
        http1_settings=HTTP1Settings(header_read_timeout=10_000, max_buffer_size=64 * 1024),
    ).serve()


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations explicitly (every command also applies them when needed)."""
    database()
    click.echo("database schema is current")


main.add_command(org)
main.add_command(key)
main.add_command(submit)
main.add_command(worker)
main.add_command(events)
main.add_command(erase)
main.add_command(purge)
main.add_command(audit_group)
