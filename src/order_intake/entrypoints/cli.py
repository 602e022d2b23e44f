"""The `order-intake` command: serve, the schema, and (from their own modules) org, key, suppress and submit."""

import errno
import importlib
import os
import shutil
import socket
import tempfile

import click

from order_intake.adapters.backend import backend_for
from order_intake.config import load_settings
from order_intake.entrypoints.cli_base import database, fail
from order_intake.entrypoints.supervisor import SupervisedWorker, worker_command

# hot path: the other commands, each imported only when it runs (docs/hot-path.md): `serve` and
# `worker` start without SQLAlchemy (the admin commands' library), httpx or the admin code, which
# would take most of their start-up.
_ELSEWHERE = {
    "org": "order_intake.entrypoints.cli_admin:org",
    "key": "order_intake.entrypoints.cli_admin:key",
    "submit": "order_intake.entrypoints.submit_client:submit",
    "worker": "order_intake.entrypoints.worker:worker",
    "events": "order_intake.entrypoints.worker:events",
    "erase": "order_intake.entrypoints.cli_data:erase",
    "purge": "order_intake.entrypoints.cli_data:purge",
    "audit": "order_intake.entrypoints.cli_data:audit_group",
    "suppress": "order_intake.entrypoints.cli_invitations:suppress",
}


class _Commands(click.Group):
    """The command group, with the commands of _ELSEWHERE imported when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_ELSEWHERE])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _ELSEWHERE:
            module, name = _ELSEWHERE[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands)
def main() -> None:
    """order-intake: the customer order submission API (v4)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="HTTP processes (default: 1 on SQLite; on PostgreSQL one per core, less one for the processing worker).",
)
@click.option("--no-worker", is_flag=True, help="Start no processing worker (run `order-intake worker` instead).")
def serve(host: str, port: int, workers: int | None, *, no_worker: bool) -> None:
    """Serve the HTTP API (SIGTERM drains in-flight requests and flushes the writer).

    An HTTP process that dies is replaced, and granian started again should it give up (see
    http_server.py): only SIGTERM or SIGINT stops the server.

    Beside its HTTP processes the server keeps one `order-intake worker` process running (restarted if
    it dies, stopped after them) that processes accepted submissions and relays events, unless
    --no-worker or ORDER_INTAKE_SERVE_WORKER=0.
    """
    host, port = _address_to_serve(host, port)
    url = database()
    keep_worker = not no_worker and load_settings().serve_worker
    if workers is None:
        workers = backend_for(url).http_processes(beside_worker=keep_worker)
    # Each worker process writes its metrics here and /metrics sums them all: a fresh directory per
    # run, so that no figure of an earlier run is counted again, removed when the server stops.
    metrics_dir = tempfile.mkdtemp(prefix="order-intake-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # inherited by every worker process
    processing = SupervisedWorker(worker_command(os.getpid())) if keep_worker else None
    try:
        if processing is not None:
            processing.start()
        from order_intake.entrypoints.http_server import serve_http  # noqa: PLC0415 - only this command needs granian

        serve_http(host, port, workers)
    finally:
        if processing is not None:
            processing.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _address_to_serve(host: str, port: int) -> tuple[str, int]:
    """The IP address `host` names (granian takes only those) and the port, after checking nothing listens there.

    granian's processes share their port (SO_REUSEPORT), so a second server on a port in use would
    start and take half of the first one's connections, against a database of its own. Port 0 is a
    free port the kernel picks here, so that the port granian logs it listens on is the one it serves.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM) if host else []
    except OSError as exc:
        fail(f"cannot serve on {host!r}: {exc.strerror or exc}")
    if not found:
        fail("--host must name an address to listen on, like 127.0.0.1 or 0.0.0.0")
    family, kind, proto, _, address = min(found, key=lambda entry: entry[0] != socket.AF_INET)  # IPv4 first
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no user
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is in use: another server listens there")
            fail(f"cannot serve on {host}:{port}: {exc.strerror}")
        return str(address[0]), int(probe.getsockname()[1])


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations explicitly (every command also applies them when needed)."""
    database()
    click.echo("database schema is current")
