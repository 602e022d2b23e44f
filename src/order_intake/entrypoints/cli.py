"""The `order-intake` command: serve, the schema, and (from their own modules) org, key and submit."""

import os

import click

from order_intake.entrypoints.cli_admin import key, org
from order_intake.entrypoints.cli_support import database
from order_intake.entrypoints.submit_client import submit


@click.group()
def main() -> None:
    """order-intake: the customer order submission API (v4)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes (default: 1 on SQLite, one per core on PostgreSQL)."
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the HTTP API (SIGTERM drains in-flight requests and flushes the writer)."""
    from granian import Granian  # noqa: PLC0415 - only this command needs the server
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415

    url = database()
    if workers is None:
        workers = 1 if url.backend == "sqlite" else (os.cpu_count() or 1)
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
