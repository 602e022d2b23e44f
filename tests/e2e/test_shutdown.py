"""SIGTERM under load: in-flight requests are answered, the writer commits, the process exits cleanly."""

import time
from pathlib import Path

import httpx

from tests.conftest import Tenants
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows
from tests.support.load import Load
from tests.support.server import Server


def _post(client: httpx.Client, order_ref: str) -> object:
    answer = client.post("/v4/organisations/TRKREF123/customer_order", json=an_order(order_ref=order_ref))
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_sigterm_drains_requests_in_flight_and_every_stored_order_was_answered(
    db_url: str, tenants: Tenants, run_dir: Path, backend: str
) -> None:
    """Orders stored under the shutdown's load are exactly the orders answered 202; exit status 0."""
    server = Server(db_url, run_dir / f"sigterm-{backend}.log", workers=2).start()
    with Load(server.base_url, tenants.main, f"SIGTERM-{backend}", 16, _post) as load:
        load.wait_for(200)
        assert server.stop() == 0
    answered = dict(load.answered)
    stored = count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref LIKE ?", f"SIGTERM-{backend}-%")
    assert stored == len(answered)
    for order_ref, submission_id in answered.items():
        assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref = ?", order_ref) == 1, (
            order_ref,
            submission_id,
        )


def test_sigterm_while_the_workers_start_stops_the_server(db_url: str, run_dir: Path, backend: str) -> None:
    """A SIGTERM that reaches the HTTP workers while they import the app still stops them all (exit 0)."""
    log_path = run_dir / f"early-sigterm-{backend}.log"
    server = Server(db_url, log_path, workers=2).launch()
    deadline = time.monotonic() + 20
    # granian logs this as it forks the second worker; importing the app then takes hundreds of ms.
    while "Spawning worker-2" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.005)
    assert server.stop(timeout=20) == 0, server.log()
