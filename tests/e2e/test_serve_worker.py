"""`serve` keeps one processing worker beside its HTTP processes: restarted when it dies, gone with the server."""

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.exchanges import accepted_id, json_body, post_order, unique_ref
from tests.support.cli import Credentials, enabled_tenant
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.metrics import counter
from tests.support.polling import wait_until
from tests.support.server import Server

# Bounds for waits that poll; the restart pause is 1 s, processing runs every 0.2 s when idle.
DEADLINE = 30.0
# The reference example an_order() copies has a misspelt customer field.
WARNINGS = ["unknown field customer.cutomer_ref"]


@pytest.fixture
def own_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials]]:
    """A database of this test's own with TRKREF123 enabled and an unlimited key."""
    with database(backend, tmp_path, "serveworker") as url:
        yield url, enabled_tenant(url, "TRKREF123", "Acme Retail")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to collect it.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] != "Z"


def _processed_soon(server: Server, auth: tuple[str, str]) -> bool:
    """An order posted now is shown processed before the deadline."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        submission = accepted_id(post_order(client, auth, an_order(order_ref=unique_ref("SUP"))), WARNINGS)
        url = f"/v4/organisations/TRKREF123/customer_order/{submission}"
        state = wait_until(
            lambda: "processed" if json_body(client.get(url, auth=auth))["state"] == "processed" else None,
            deadline=time.monotonic() + DEADLINE,
        )
    return state == "processed"


def _restarts(server: Server) -> float:
    """The processing worker's restarts as GET /metrics counts them (summed over the server's processes)."""
    return counter(server.base_url, "order_intake_processing_worker_restarts_total")


def _one_processing_pid(server: Server, *, other_than: int | None = None) -> int:
    pids = wait_until(
        lambda: p if len(p := [x for x in server.processing_pids() if x != other_than]) == 1 else None,
        deadline=time.monotonic() + DEADLINE,
    )
    assert pids is not None, f"not exactly one processing worker: {server.processing_pids()}"
    return pids[0]


def test_a_killed_processing_worker_is_restarted_and_processing_goes_on(
    own_db: tuple[str, Credentials], tmp_path: Path
) -> None:
    """SIGKILL of the worker: the server starts another, logs why, and new orders are still processed."""
    url, key = own_db
    server = Server(url, tmp_path / "server.log", workers=2).start()
    try:
        assert len(server.worker_pids()) == 2
        first = _one_processing_pid(server)
        assert _processed_soon(server, key.auth)
        assert _restarts(server) == 0
        os.kill(first, signal.SIGKILL)
        second = _one_processing_pid(server, other_than=first)
        assert second != first
        assert _processed_soon(server, key.auth)
        assert _restarts(server) == 1
        assert "processing worker exited (code -9); restarting in 1 s" in server.log()
    finally:
        assert server.stop() == 0
    assert not _alive(second)


def _http_processes(server: Server) -> int:
    """How many HTTP processes the server settles on: the same count seen for a whole second."""
    seen, since = len(server.worker_pids()), time.monotonic()
    deadline = since + DEADLINE
    while time.monotonic() - since < 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)
        count = len(server.worker_pids())
        if count != seen:
            seen, since = count, time.monotonic()
    return seen


def test_stopping_the_server_stops_its_worker_and_no_worker_starts_none(
    own_db: tuple[str, Credentials], backend: str, tmp_path: Path
) -> None:
    """SIGTERM ends the worker with the server; ORDER_INTAKE_SERVE_WORKER=0 starts none: nothing is processed.

    The worker runs three steps nicer than the HTTP process.

    By default PostgreSQL gets an HTTP process per core it may run on, less the one its worker needs;
    SQLite one. Both servers are held to two cores (where the machine has them), whatever it has.
    """
    url, key = own_db
    cpus = sorted(os.sched_getaffinity(0))[:2]
    on_two = ("taskset", "-c", ",".join(map(str, cpus)))
    server = Server(url, tmp_path / "server.log", workers=None, prefix=on_two).start()
    try:
        assert _http_processes(server) == 1
        pid = _one_processing_pid(server)
        http = server.worker_pids()[0]
        # The worker yields the cores to the HTTP process when both want them (ORDER_INTAKE_SERVE_WORKER_NICE),
        # from the moment it has started up (its log line says so).
        started = f'"processing worker started","pid":{pid}'
        assert wait_until(lambda: True if started in server.log() else None, deadline=time.monotonic() + DEADLINE)
        assert os.getpriority(os.PRIO_PROCESS, pid) - os.getpriority(os.PRIO_PROCESS, http) == 3
    finally:
        stopped = server.stop()
    assert stopped == 0
    assert not _alive(pid)
    assert "restarting" not in server.log()

    bare = Server(url, tmp_path / "bare.log", workers=None, prefix=on_two, ORDER_INTAKE_SERVE_WORKER="0").start()
    try:
        assert _http_processes(bare) == (len(cpus) if backend == "postgres" else 1)
        with httpx.Client(base_url=bare.base_url, timeout=10) as client:
            submission = accepted_id(post_order(client, key.auth, an_order(order_ref=unique_ref("BARE"))), WARNINGS)
            time.sleep(1.0)  # five idle rounds of a processor, had there been one
            answer = client.get(f"/v4/organisations/TRKREF123/customer_order/{submission}", auth=key.auth)
        assert json_body(answer)["state"] == "accepted"
        assert bare.processing_pids() == []
    finally:
        bare.stop()


def test_a_worker_whose_server_died_without_stopping_it_exits_by_itself(
    own_db: tuple[str, Credentials], tmp_path: Path
) -> None:
    """SIGKILL of the server's main process alone: its worker notices within a second or so and exits."""
    url, _ = own_db
    server = Server(url, tmp_path / "server.log").start()
    pid = _one_processing_pid(server)
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    try:
        gone = wait_until(lambda: True if not _alive(pid) else None, deadline=time.monotonic() + DEADLINE)
        assert gone, "the orphaned worker kept running"
    finally:
        with contextlib.suppress(ProcessLookupError):  # granian's workers, if they outlived their main process
            os.killpg(server.process.pid, signal.SIGKILL)


def _sigterm_pending(pid: int) -> bool:
    """SIGTERM waits in the process's pending signals (its own or its thread group's)."""
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
    return bool(pending & (1 << (signal.SIGTERM - 1)))


def test_the_kernel_signals_the_processing_worker_the_moment_its_server_dies(
    sqlite_tenant: tuple[str, Credentials], tmp_path: Path
) -> None:
    """A stopped worker cannot poll for its parent, yet SIGKILL of the server leaves it a SIGTERM; resumed, it exits."""
    url, _ = sqlite_tenant
    server = Server(url, tmp_path / "server.log").start()
    pid = _one_processing_pid(server)
    assert server.process is not None
    # It asks for the signal as its first step; once it says it runs, it has.
    started = wait_until(
        lambda: True if f'"processing worker started","pid":{pid}' in server.log() else None,
        deadline=time.monotonic() + DEADLINE,
    )
    assert started, "the worker did not start"
    os.kill(pid, signal.SIGSTOP)
    try:
        stopped = wait_until(
            lambda: True if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "T" else None,
            deadline=time.monotonic() + DEADLINE,
        )
        assert stopped, "the worker did not stop"
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        # Gone would do as well: SIGTERM ends a process without a handler for it even while stopped.
        told = wait_until(
            lambda: True if not _alive(pid) or _sigterm_pending(pid) else None, deadline=time.monotonic() + DEADLINE
        )
        assert told, "no SIGTERM reached the orphaned worker"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError):  # granian's workers, if they outlived their main process
            os.killpg(server.process.pid, signal.SIGKILL)
    gone = wait_until(lambda: True if not _alive(pid) else None, deadline=time.monotonic() + DEADLINE)
    assert gone, "the orphaned worker kept running"
