"""PostgreSQL crashes under load (`pg_ctl stop -m immediate`) and comes back, order-intake left running.

Every order answered 202 is there afterwards, nothing but 202 and 503 was answered meanwhile, and
intake and processing resume by themselves. The server crashed is a private one (support/pg_cluster.py).
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.factories import an_order
from tests.support.inspect_db import WAITING, count_rows, fetch_rows
from tests.support.load import Load
from tests.support.pg_cluster import PrivateCluster
from tests.support.polling import wait_for
from tests.support.server import Server

CLIENTS = 16


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A running PostgreSQL server of this test's own."""
    made = PrivateCluster()
    made.start()
    yield made
    made.stop()


class Answers:
    """Every answer's status, and the 202s' submission ids by order_ref, from all the load's threads."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.accepted: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, client: httpx.Client, order_ref: str) -> object:
        """Post one order; remember its answer."""
        answer = client.post(
            "/v4/organisations/CRASH/customer_order", json=an_order(trkref="CRASH", order_ref=order_ref)
        )
        with self._lock:
            self.statuses[answer.status_code] += 1
            if answer.status_code == 202:
                self.accepted[order_ref] = answer.json()["id"]
        return answer.status_code

    def count(self, status: int) -> int:
        """How many answers had this status so far."""
        with self._lock:
            return self.statuses[status]


def test_no_202_is_lost_when_postgresql_crashes_under_load(cluster: PrivateCluster, tmp_path: Path) -> None:
    """16 clients post; PostgreSQL stops with -m immediate for 3 s, then starts: 202 or 503 only, every 202 kept."""
    url = f"{cluster.url}/postgres"
    cli_ok(url, "org", "add", "CRASH", "--name", "Crash Test")
    cli_ok(url, "org", "enable", "CRASH")
    key: Credentials = create_key(url, "--trkref", "CRASH")
    server = Server(url, tmp_path / "server.log", workers=2).start()
    answers = Answers()
    try:
        with Load(server.base_url, key, "PGC", CLIENTS, answers.send) as load:
            wait_for("200 orders accepted", lambda: answers.count(202) >= 200, timeout=60)
            cluster.crash()
            wait_for("503s while PostgreSQL is down", lambda: answers.count(503) >= CLIENTS, timeout=30)
            time.sleep(3)
            cluster.start()
            resumed = answers.count(202)
            wait_for("202s again, with order-intake untouched", lambda: answers.count(202) >= resumed + 200, timeout=60)
        assert set(answers.statuses) <= {202, 503}, answers.statuses
        assert not load.unanswered, f"{len(load.unanswered)} requests got no answer at all"
        wait_for(
            "processing to catch up without a restart",
            lambda: count_rows(url, WAITING) == 0,
            timeout=60,
        )
        stored = dict(fetch_rows(url, "SELECT id::text, order_ref FROM submissions WHERE order_ref LIKE 'PGC-%'"))
        missing = {ref: sid for ref, sid in answers.accepted.items() if stored.get(sid) != ref}
        assert not missing, f"{len(missing)} of {len(answers.accepted)} orders answered 202 are not stored"
        assert server.process is not None
        assert server.process.poll() is None, "order-intake stopped"
    finally:
        server.stop()
