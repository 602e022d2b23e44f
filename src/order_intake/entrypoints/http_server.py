"""The HTTP server `serve` runs (granian): a worker that dies is replaced, granian restarted if it gives up.

granian replaces a worker process that exits unexpectedly (respawn_failed_workers), but gives up
when a replacement dies again within 5.5 s of its start ("Worker crash loop detected": it stops
every worker and exits with status 1), which took the whole service down. So `serve` starts granian
again after a pause (doubled while it keeps stopping early, as for the processing worker) unless
SIGTERM or SIGINT asked it to stop. Both events are logged as JSON lines on stderr and counted by
this main process in PROMETHEUS_MULTIPROC_DIR beside the workers' figures, where /metrics adds them
up. The processing worker and the metrics directory belong to `serve` and outlive these restarts.
Each granian start keeps one bound socket open for good (granian's own, on Linux: never listening,
so it takes no connection): one file per restart, at most one per pause.
"""

import functools
import gc
import logging
import os
import resource
import signal
import threading
import time
from types import FrameType
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server.mp import MPServer
from prometheus_client import Counter

from order_intake import logs
from order_intake.config import load_settings
from order_intake.entrypoints.http import worker_start
from order_intake.entrypoints.supervisor import RestartPauses
from order_intake.metrics import MULTIPROC_ENV, write_to_shared_files

__all__ = ["serve_http"]

log = logging.getLogger(__name__)

# Connections one server process holds at once (granian's "backpressure"); more wait in the kernel's
# listen queue (up to _BACKLOG, capped by net.core.somaxconn) and past that are refused.
_CONNECTIONS_PER_PROCESS = 4096
_BACKLOG = 4096
# Files a process needs besides its connections: database, logs, metrics, libraries.
_SPARE_FILES = 256


class _Restarts:
    """The main process's counters: workers granian replaced, and granian started again by `serve`."""

    def __init__(self) -> None:
        if os.environ.get(MULTIPROC_ENV):
            write_to_shared_files()
        self.workers = Counter(
            "order_intake_http_worker_restarts",
            "HTTP worker processes that exited unexpectedly and were replaced",
            registry=None,
        )
        self.servers = Counter(
            "order_intake_http_server_restarts",
            "Times granian stopped by itself (its workers kept dying) and serve started it again",
            registry=None,
        )


class _Granian(MPServer):
    """granian's server, reporting each worker it replaces because the worker exited unexpectedly.

    `_respawn_workers` is granian's own step (2.8) for every replacement; a worker it replaces after
    a crash is one already dead that granian did not stop (a reload or a lifetime replaces live ones).
    The e2e tests (test_http_worker_restarts.py) notice if a granian upgrade moves this step.
    """

    def __init__(self, restarts: _Restarts, **options: Any) -> None:  # noqa: ANN401 - granian's own options
        self._restarts = restarts
        super().__init__(**options)

    def _respawn_workers(
        self, workers: list[int], spawn_target: object, target_loader: object, delay: float = 0
    ) -> None:
        for index in workers:
            worker = self.wrks[index]
            if not worker.interrupt_by_parent and not worker.inner.is_alive():
                self._restarts.workers.inc()
                number, pid, code = index + 1, worker.inner.pid, worker.inner.exitcode
                log.error(
                    "HTTP worker-%s (pid %s) exited unexpectedly (code %s); starting another",
                    number,
                    pid,
                    code,
                    extra={"worker": number, "pid": pid, "exit_code": code},
                )
        super()._respawn_workers(workers, spawn_target, target_loader, delay)


def serve_http(host: str, port: int, workers: int) -> None:
    """Serve with granian until SIGTERM or SIGINT, starting it again whenever it stops by itself."""
    logs.to_stderr(log)
    options = _options(host, port, workers)
    worker_start.hold_in_workers()  # fork hooks: once for every granian started here
    restarts = _Restarts()
    pauses = RestartPauses()
    stop = threading.Event()
    _stop_on_signals(stop)  # until granian sets its own (and again whenever a granian has stopped)
    while not stop.is_set():
        started = time.monotonic()
        asked, code = _run_granian(restarts, options, stop)
        if asked:
            if code:
                raise SystemExit(code)
            return
        # The stopped server's pipes are held in reference cycles: free them before the next one.
        gc.collect()
        restarts.servers.inc()
        pause = pauses.after(time.monotonic() - started)
        log.error(
            "HTTP server stopped by itself (exit status %s); starting it again in %.0f s",
            code,
            pause,
            extra={"exit_status": code},
        )
        stop.wait(pause)


def _run_granian(restarts: _Restarts, options: dict[str, Any], stop: threading.Event) -> tuple[bool, int | str | None]:
    """One granian from start to end: whether a stop signal ended it, and its exit status (1 after a crash loop)."""
    server = _Granian(restarts, **options)
    # A stop signal that came before this granian set its handlers reached ours: pass it on.
    server.on_startup(functools.partial(_pass_on_stop, stop, server))
    code: int | str | None = 0
    try:
        server.serve()
    except SystemExit as exited:
        code = exited.code
    _stop_on_signals(stop)  # granian's handlers would only tell the server that has stopped
    return server.interrupt_signal or stop.is_set(), code


def _pass_on_stop(stop: threading.Event, server: _Granian) -> None:
    if stop.is_set():
        server.signal_handler_interrupt()  # type: ignore[no-untyped-call] # granian's handler, unannotated


def _stop_on_signals(stop: threading.Event) -> None:
    def asked(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in worker_start.STOP_SIGNALS:
        signal.signal(signum, asked)


def _open_files_limit() -> int:
    """Raise this process's soft limit on open files to the hard one (the workers inherit it); the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def _options(host: str, port: int, workers: int) -> dict[str, Any]:
    settings = load_settings()
    # Each connection is a file: never admit more than the process may open (accept would fail in a loop).
    connections = max(64, min(_CONNECTIONS_PER_PROCESS, _open_files_limit() - _SPARE_FILES))
    return {
        "target": "order_intake.entrypoints.http.worker_start:create_app",
        "factory": True,
        "address": host,
        "port": port,
        "interface": Interfaces.RSGI,  # hot path: RSGI, not ASGI (docs/hot-path.md)
        "workers": workers,
        "log_access": False,
        # HTTP/1.1 only: in "auto" mode the protocol sniffing waits for the first bytes before HTTP/1's
        # header timer starts, so a connection that never sends anything was never closed.
        "http": HTTPModes.http1,
        # No WebSocket endpoint exists: an Upgrade request is served as the plain HTTP request it also is.
        "websockets": False,
        "backlog": _BACKLOG,
        "backpressure": connections,
        # Headers must arrive within the header timeout, counted from the connection's opening or its
        # last answer (so it also closes idle keep-alive connections), and fit in the read buffer (bodies
        # stream past it). hyper checks the buffer's size before each read of at most its size, so headers
        # of 32 KiB always pass and headers of 64 KiB or more never do (431).
        "http1_settings": HTTP1Settings(
            header_read_timeout=max(1, round(settings.header_timeout_seconds * 1000)), max_buffer_size=32 * 1024
        ),
        # A worker that exits unasked is replaced (and counted, above).
        "respawn_failed_workers": True,
    }
