"""An HTTP worker that dies is replaced, and granian started again when it gives up: serve goes on serving."""

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import Credentials, enabled_tenant
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.inspect_db import fetch_rows
from tests.support.load import Load
from tests.support.metrics import counter
from tests.support.server import Server

# Bounds for waits that poll; none measures speed.
DEADLINE = 60.0
THREADS = 8
# Answers to see before a kill, and again after it to call the service back.
ANSWERS = 50
LOGGER = "order_intake.entrypoints.http_server"
GAVE_UP = "HTTP server stopped by itself"


@pytest.fixture
def respawn_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials]]:
    """A database of this test's own with RESPAWN enabled and an unlimited key."""
    with database(backend, tmp_path, "respawn") as url:
        yield url, enabled_tenant(url, "RESPAWN", "Respawn Test")


def _post(client: httpx.Client, order_ref: str) -> object:
    answer = client.post(
        "/v4/organisations/RESPAWN/customer_order", json=an_order(trkref="RESPAWN", order_ref=order_ref)
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _more_answers(load: Load) -> None:
    """Poll until ANSWERS more orders than now were answered 202."""
    load.wait_for(len(load.answered) + ANSWERS, timeout=DEADLINE)


def _new_workers(server: Server, known: set[int]) -> list[int]:
    """Poll until HTTP workers other than `known` run; those."""
    deadline = time.monotonic() + DEADLINE
    while not (fresh := [pid for pid in server.worker_pids() if pid not in known]):
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.01)
    return fresh


def _our_lines(server: Server) -> list[dict[str, Any]]:
    """The JSON log lines of the module that restarts workers and granian."""
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == LOGGER]


def _metrics_dir(server: Server) -> Path:
    """The multiprocess metrics directory, found in the main process's memory maps (it maps its counters)."""
    assert server.process is not None
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    paths = {Path(line.split()[-1]).parent for line in maps.splitlines() if "order-intake-metrics-" in line}
    assert len(paths) == 1, paths
    return paths.pop()


def _assert_every_202_stored(url: str, load: Load) -> None:
    stored = [ref for (ref,) in fetch_rows(url, "SELECT order_ref FROM submissions WHERE order_ref LIKE 'L-%'")]
    assert len(stored) == len(set(stored))
    assert set(load.answered) <= set(stored)


def test_each_killed_http_worker_is_replaced_counted_and_logged_while_orders_keep_being_accepted(
    respawn_db: tuple[str, Credentials], tmp_path: Path
) -> None:
    """SIGKILL of both workers in turn under load: replacements serve, the main process lives, 202s are stored."""
    url, key = respawn_db
    server = Server(url, tmp_path / "server.log", workers=2).start()
    try:
        with Load(server.base_url, key, "L", THREADS, _post) as load:
            load.wait_for(ANSWERS, timeout=DEADLINE)
            originals = server.worker_pids()
            assert len(originals) == 2
            known = set(originals)
            for victim in originals:
                os.kill(victim, signal.SIGKILL)
                known.update(_new_workers(server, known))
                _more_answers(load)  # after the second kill, by the first replacement at least
        assert server.process is not None
        assert server.process.poll() is None
        assert len(server.worker_pids()) == 2
        assert counter(server.base_url, "order_intake_http_worker_restarts_total") == 2
        assert counter(server.base_url, "order_intake_http_server_restarts_total") == 0
        lines = _our_lines(server)
        assert sorted(line["pid"] for line in lines) == sorted(originals)
        assert {(line["level"], line["exit_code"]) for line in lines} == {("error", -9)}
        assert lines[0]["msg"].endswith("exited unexpectedly (code -9); starting another")
    finally:
        assert server.stop() == 0
    _assert_every_202_stored(url, load)


def test_a_worker_dying_again_at_once_gets_granian_restarted_and_orders_accepted_again(
    respawn_db: tuple[str, Credentials], tmp_path: Path
) -> None:
    """Each replacement of a worker SIGKILLed as it appears: granian gives up, serve starts it again."""
    url, key = respawn_db
    server = Server(url, tmp_path / "server.log", workers=2).start()
    try:
        processing = server.processing_pids()
        assert len(processing) == 1
        metrics = _metrics_dir(server)
        with Load(server.base_url, key, "L", THREADS, _post) as load:
            load.wait_for(ANSWERS, timeout=DEADLINE)
            known = set(server.worker_pids())
            victim = min(known)
            while True:  # granian gives up when a replacement dies within 5.5 s of its start
                os.kill(victim, signal.SIGKILL)
                fresh = _new_workers(server, known)
                if GAVE_UP in server.log():  # these are the new granian's workers
                    break
                known.update(fresh)
                victim = fresh[0]
            _more_answers(load)
        assert server.process is not None
        assert server.process.poll() is None
        assert counter(server.base_url, "order_intake_http_server_restarts_total") == 1
        assert counter(server.base_url, "order_intake_http_worker_restarts_total") >= 1  # counted before the restart
        (gave_up,) = [line for line in _our_lines(server) if line["msg"].startswith(GAVE_UP)]
        assert gave_up["msg"] == f"{GAVE_UP} (exit status 1); starting it again in 1 s"
        assert (gave_up["level"], gave_up["exit_status"]) == ("error", 1)
        # The restart kept the processing worker and the metrics directory (no second one of either).
        assert server.processing_pids() == processing
        assert _metrics_dir(server) == metrics
    finally:
        assert server.stop() == 0
    assert not metrics.exists()
    _assert_every_202_stored(url, load)
