"""PostgreSQL slow (a test holds a lock on submissions): the writer's queue stays bounded, the rest get 503 at once.

The orders waiting for the database are held in memory; past ORDER_INTAKE_WRITER_MAX_QUEUED of them a
request is answered `503` without waiting, so that a slow database cannot make a process grow without
bound. Once the lock goes, the waiting ones commit (202) and new ones are taken again.
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import asyncpg
import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import postgres_database
from tests.support.factories import an_order
from tests.support.inspect_db import fetch_rows
from tests.support.load import Load
from tests.support.polling import wait_for
from tests.support.server import Server

MAX_QUEUED = 40
CLIENTS = 120
# The HTTP process's peak memory may grow by this much while the database is slow, whatever the load.
GROWTH_MB = 16
# The longest the lock is held: until the 503s are counted.
LOCK_SECONDS = 30


class LockHeld:
    """`LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE` held in a transaction of a thread's own, until released."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.taken = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()))

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")
                self.taken.set()
                await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
        finally:
            await conn.close()

    def __enter__(self) -> Self:
        self._thread.start()
        assert self.taken.wait(10), "the lock was not taken"
        return self

    def release(self) -> None:
        """End the transaction, and with it the lock."""
        self._release.set()
        self._thread.join()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _peak_mb(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.fixture
def slow_db() -> Iterator[tuple[str, Credentials]]:
    """A PostgreSQL database with an enabled organisation and a key."""
    with postgres_database("slow") as url:
        cli_ok(url, "org", "add", "SLOW", "--name", "Slow Database")
        cli_ok(url, "org", "enable", "SLOW")
        yield url, create_key(url, "--trkref", "SLOW")


def test_a_slow_database_fills_a_bounded_queue_and_the_rest_get_503_at_once(
    slow_db: tuple[str, Credentials], tmp_path: Path
) -> None:
    """120 clients against a locked table: at most 40 orders wait, the others 503 at once; afterwards all 202."""
    url, key = slow_db
    env = {"ORDER_INTAKE_WRITER_MAX_QUEUED": str(MAX_QUEUED), "ORDER_INTAKE_SERVE_WORKER": "0"}
    server = Server(url, tmp_path / "server.log", workers=1, **env).start()
    statuses: Counter[int] = Counter()
    retry_after: Counter[str | None] = Counter()  # a full queue is a moment's: retry in a second
    accepted: dict[str, str] = {}
    lock = threading.Lock()

    def send(client: httpx.Client, order_ref: str) -> object:
        answer = client.post("/v4/organisations/SLOW/customer_order", json=an_order(trkref="SLOW", order_ref=order_ref))
        with lock:
            statuses[answer.status_code] += 1
            if answer.status_code == 202:
                accepted[order_ref] = answer.json()["id"]
            elif answer.status_code == 503:
                retry_after[answer.headers.get("retry-after")] += 1
        return answer.status_code

    try:
        (worker,) = server.worker_pids()
        with httpx.Client(base_url=server.base_url, auth=key.auth) as client:
            assert send(client, "WARM-UP") == 202
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # the peak starts again from now
        before = _peak_mb(worker)
        # The orders in the queue wait for the lock as long as it is held (up to the 30 s below, on a slow
        # machine), then commit: their clients wait longer than that, so that each hears its 202.
        load = Load(server.base_url, key, "SLOW", CLIENTS, send, timeout=LOCK_SECONDS + 30)
        with LockHeld(url) as held, load:
            wait_for("503s while the queue is full", lambda: statuses[503] >= 10 * CLIENTS, timeout=LOCK_SECONDS)
            assert statuses[202] == 1  # the warm-up: nothing can commit while the lock is held
            growth = _peak_mb(worker) - before
            held.release()
            wait_for("202s once the lock is gone", lambda: statuses[202] > MAX_QUEUED, timeout=30)
        assert set(statuses) <= {202, 503}, statuses
        assert set(retry_after) == {"1"}, retry_after
        assert not load.unanswered
        assert growth < GROWTH_MB, f"the HTTP process grew by {growth:.1f} MB while the database was slow"
        stored = dict(fetch_rows(url, "SELECT id::text, order_ref FROM submissions"))
        assert all(stored.get(sid) == ref for ref, sid in accepted.items())
    finally:
        server.stop()
