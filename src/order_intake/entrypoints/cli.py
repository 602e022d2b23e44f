"""The `order-intake` command: serve, the schema, and (from their own modules) org, key and submit."""

import importlib
import os
import resource
import shutil
import tempfile

import click

from order_intake.config import load_settings
from order_intake.entrypoints.cli_base import database
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
    "--workers", type=click.IntRange(1, 64), help="Processes (default: 1 on SQLite, one per core on PostgreSQL)."
)
@click.option("--no-worker", is_flag=True, help="Start no processing worker (run `order-intake worker` instead).")
def serve(host: str, port: int, workers: int | None, *, no_worker: bool) -> None:
    """Serve the HTTP API (SIGTERM drains in-flight requests and flushes the writer).

    Beside its HTTP processes the server keeps one `order-intake worker` process running (restarted if
    it dies, stopped after them) that processes accepted submissions and relays events, unless
    --no-worker or ORDER_INTAKE_SERVE_WORKER=0.
    """
    url = database()
    if workers is None:
        workers = 1 if url.backend == "sqlite" else (os.cpu_count() or 1)
    # Each worker process writes its metrics here and /metrics sums them all: a fresh directory per
    # run, so that no figure of an earlier run is counted again, removed when the server stops.
    metrics_dir = tempfile.mkdtemp(prefix="order-intake-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # inherited by every worker process
    keep_worker = not no_worker and load_settings().serve_worker
    processing = SupervisedWorker(worker_command(os.getpid())) if keep_worker else None
    try:
        if processing is not None:
            processing.start()
        _serve(host, port, workers)
    finally:
        if processing is not None:
            processing.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)


# Connections one server process holds at once (granian's "backpressure"); more wait in the kernel's
# listen queue (up to _BACKLOG, capped by net.core.somaxconn) and past that are refused.
_CONNECTIONS_PER_PROCESS = 4096
_BACKLOG = 4096
# Files a process needs besides its connections: database, logs, metrics, libraries.
_SPARE_FILES = 256


def _open_files_limit() -> int:
    """Raise this process's soft limit on open files to the hard one (the workers inherit it); the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def _serve(host: str, port: int, workers: int) -> None:
    from granian import Granian  # noqa: PLC0415 - only this command needs the server
    from granian.constants import HTTPModes, Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415

    from order_intake.entrypoints.http import worker_start  # noqa: PLC0415

    settings = load_settings()
    # Each connection is a file: never admit more than the process may open (accept would fail in a loop).
    connections = max(64, min(_CONNECTIONS_PER_PROCESS, _open_files_limit() - _SPARE_FILES))
    worker_start.hold_in_workers()
    Granian(
        "order_intake.entrypoints.http.worker_start:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.RSGI,  # hot path: RSGI, not ASGI (docs/hot-path.md)
        workers=workers,
        log_access=False,
        # HTTP/1.1 only: in "auto" mode the protocol sniffing waits for the first bytes before HTTP/1's
        # header timer starts, so a connection that never sends anything was never closed.
        http=HTTPModes.http1,
        # No WebSocket endpoint exists: an Upgrade request is served as the plain HTTP request it also is.
        websockets=False,
        backlog=_BACKLOG,
        backpressure=connections,
        # Headers must arrive within the header timeout, counted from the connection's opening or its
        # last answer (so it also closes idle keep-alive connections), and fit in the read buffer (bodies
        # stream past it). hyper checks the buffer's size before each read of at most its size, so headers
        # of 32 KiB always pass and headers of 64 KiB or more never do (431).
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(settings.header_timeout_seconds * 1000)), max_buffer_size=32 * 1024
        ),
    ).serve()


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations explicitly (every command also applies them when needed)."""
    database()
    click.echo("database schema is current")
