"""RabbitMQ stopped for a minute under load: intake goes on, the outbox grows, then drains, nothing lost.

The machine's own RabbitMQ is stopped (`rabbitmqctl stop_app`) and started again, as an operator's
restart or a crash would do it; the queue the events are checked in is durable, so it keeps what was
published before. PostgreSQL only: the relay's code is the same on SQLite, and the minute is long.
"""

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.broker import ScratchExchange
from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import postgres_database
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows, fetch_rows
from tests.support.load import Load
from tests.support.polling import wait_for
from tests.support.server import Server

OUTAGE_SECONDS = 60.0
UNSENT = "SELECT count(*) FROM outbox_pending"
PACE_SECONDS = 0.02  # each of the load's threads sends at most 50 orders a second


def _rabbitmqctl(*args: str) -> None:
    subprocess.run([shutil.which("rabbitmqctl") or "rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture
def stoppable_broker() -> Iterator[None]:
    """The machine's RabbitMQ, started again after the test whatever happened."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: the machine's RabbitMQ cannot be stopped and started")
    try:
        yield
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")


def test_a_minute_without_rabbitmq_under_load_grows_the_outbox_which_drains_after(
    stoppable_broker: None,  # noqa: ARG001 - started again afterwards
    tmp_path: Path,
) -> None:
    """Every order answered 202 throughout; unsent events pile up while RabbitMQ is stopped; all arrive after."""
    with postgres_database("broker_outage") as url:
        cli_ok(url, "org", "add", "OUTAGE", "--name", "Outage Test")
        cli_ok(url, "org", "enable", "OUTAGE")
        key: Credentials = create_key(url, "--trkref", "OUTAGE", "--rate", "0")
        exchange = ScratchExchange("outage").declare()
        server = Server(url, tmp_path / "server.log", **exchange.env()).start()
        statuses: Counter[int] = Counter()

        def send(client: httpx.Client, tag: str) -> object:
            answer = client.post(
                "/v4/organisations/OUTAGE/customer_order", json=an_order(trkref="OUTAGE", order_ref=tag)
            )
            statuses[answer.status_code] += 1
            time.sleep(PACE_SECONDS)
            return answer.status_code

        try:
            with Load(server.base_url, key, "OUT", 4, send) as load:
                load.wait_for(200)
                wait_for("the first events sent", lambda: count_rows(url, UNSENT) == 0, timeout=60)
                _rabbitmqctl("stop_app")
                stopped = time.monotonic()
                unsent = []
                while time.monotonic() - stopped < OUTAGE_SECONDS:
                    time.sleep(OUTAGE_SECONDS / 6)
                    unsent.append(count_rows(url, UNSENT))
                _rabbitmqctl("start_app")
                _rabbitmqctl("await_startup")
                answered_during = len(load.answered)
            wait_for("the outbox drained", lambda: count_rows(url, UNSENT) == 0, timeout=120)
        finally:
            assert server.stop() == 0
        written = {str(e) for (e,) in fetch_rows(url, "SELECT event_id FROM outbox")}
        delivered = {d.message_id for d in exchange.drain()}
        exchange.delete()
    figures = (
        f"outage {OUTAGE_SECONDS:.0f} s: {answered_during} orders answered, unsent events by 10 s {unsent}, "
        f"{len(written)} events written, {len(written & delivered)} delivered"
    )
    print(figures)  # noqa: T201 - the run's figures, for -s
    assert set(statuses) == {202}, statuses
    assert not load.unanswered
    assert answered_during > 200
    # The outbox grew through the outage (intake and processing went on), then every event arrived.
    assert unsent == sorted(unsent), unsent
    assert unsent[0] > 0
    assert unsent[-1] > 2 * unsent[0]
    assert written <= delivered, f"{len(written - delivered)} events never reached RabbitMQ"
    assert "event relay paused: broker unavailable" in server.log()
