"""202 means durable: a server SIGKILLed under load loses no order it answered 202."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows
from tests.support.server import Server

ROUNDS = 3
THREADS = 16


@pytest.fixture
def crash_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials]]:
    """A database of its own, with an enabled organisation and a key."""
    with database(backend, tmp_path, "crash") as url:
        cli_ok(url, "org", "add", "CRASH", "--name", "Crash Test")
        cli_ok(url, "org", "enable", "CRASH")
        yield url, create_key(url, "--trkref", "CRASH")


class Load:
    """Threads posting distinct orders until stopped, recording every id answered 202."""

    def __init__(self, base_url: str, key: Credentials, round_no: int) -> None:
        self.accepted: dict[str, str] = {}  # submission id -> order_ref
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._post, args=(base_url, key, f"R{round_no}-T{t}")) for t in range(THREADS)
        ]

    def _post(self, base_url: str, key: Credentials, prefix: str) -> None:
        url = f"{base_url}/v4/organisations/CRASH/customer_order"
        with httpx.Client(timeout=5, auth=key.auth) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                order_ref = f"{prefix}-{n}"
                try:
                    answer = client.post(url, json=an_order(trkref="CRASH", order_ref=order_ref))
                except httpx.TransportError:
                    continue  # the server died under this request: no 202, nothing promised
                if answer.status_code == 202:
                    with self._lock:
                        self.accepted[answer.json()["id"]] = order_ref

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        """Poll until `count` orders were accepted."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} accepted in {timeout}s"
            time.sleep(0.01)


def test_every_order_answered_202_survives_repeated_sigkill(crash_db: tuple[str, Credentials], tmp_path: Path) -> None:
    """Three SIGKILLs of a 2-worker server under 16 concurrent clients: every 202 id is found after restart."""
    url, key = crash_db
    accepted: dict[str, str] = {}
    for round_no in range(ROUNDS):
        server = Server(url, tmp_path / f"crash-{round_no}.log", workers=2).start()
        with Load(server.base_url, key, round_no) as load:
            load.wait_for(150)
            server.kill()
        accepted.update(load.accepted)
    server = Server(url, tmp_path / "after.log").start()
    try:
        with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=10) as client:
            for submission_id, order_ref in accepted.items():
                found = client.get(f"/v4/organisations/CRASH/customer_order/{submission_id}")
                assert found.status_code == 200, (submission_id, found.text)
                assert found.json()["order"]["order_ref"] == order_ref
    finally:
        server.stop()
    assert len(accepted) >= ROUNDS * 150


BATCH_SIZE = 50
BATCH_THREADS = 6


class BatchLoad:
    """Threads posting batches of distinct orders; records which batches were answered and which were not."""

    def __init__(self, base_url: str, key: Credentials, round_no: int) -> None:
        self.answered: dict[str, list[str]] = {}  # order_ref prefix -> submission ids
        self.unanswered: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._post, args=(base_url, key, f"B{round_no}-T{t}")) for t in range(BATCH_THREADS)
        ]

    def _post(self, base_url: str, key: Credentials, prefix: str) -> None:
        with httpx.Client(timeout=10, auth=key.auth) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                batch = f"{prefix}-{n}"
                orders = [an_order(trkref="CRASH", order_ref=f"{batch}-{i}") for i in range(BATCH_SIZE)]
                try:
                    answer = client.post(f"{base_url}/v4/customer_orders", json=orders)
                except httpx.TransportError:
                    with self._lock:
                        self.unanswered.append(batch)
                    continue
                assert answer.status_code == 202, answer.text
                with self._lock:
                    self.answered[batch] = answer.json()["ids"]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Poll until `count` batches were answered."""
        deadline = time.monotonic() + timeout
        while len(self.answered) < count:
            assert time.monotonic() < deadline, f"only {len(self.answered)} batches answered in {timeout}s"
            time.sleep(0.01)


def test_batches_are_all_or_nothing_across_sigkill(crash_db: tuple[str, Credentials], tmp_path: Path) -> None:
    """SIGKILL during batch load: every answered batch is wholly present; an unanswered one is all or nothing."""
    url, key = crash_db
    answered: dict[str, list[str]] = {}
    unanswered: list[str] = []
    for round_no in range(ROUNDS):
        server = Server(url, tmp_path / f"batch-crash-{round_no}.log", workers=2).start()
        with BatchLoad(server.base_url, key, round_no) as load:
            load.wait_for(20)
            server.kill()
        answered.update(load.answered)
        unanswered.extend(load.unanswered)
    per_batch = "SELECT count(*) FROM submissions WHERE order_ref LIKE ?"
    for batch, ids in answered.items():
        assert count_rows(url, per_batch, f"{batch}-%") == BATCH_SIZE == len(ids), batch
    assert unanswered, "the kill should have caught some batch in flight"
    for batch in unanswered:
        assert count_rows(url, per_batch, f"{batch}-%") in {0, BATCH_SIZE}, batch
    server = Server(url, tmp_path / "batch-after.log").start()
    try:
        with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=10) as client:
            for batch, ids in answered.items():
                found = client.get(f"/v4/organisations/CRASH/customer_order/{ids[-1]}")
                assert found.json()["order"]["order_ref"] == f"{batch}-{BATCH_SIZE - 1}"
    finally:
        server.stop()
