"""The broker goes away mid-run: intake and processing go on, events wait in the outbox, none is lost."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.broker import BROKER_URL, ScratchExchange
from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows, fetch_rows
from tests.support.metrics import metric
from tests.support.polling import wait_for
from tests.support.server import Server
from tests.support.tcp_proxy import TcpProxy

DEADLINE = 60.0
UNSENT = "SELECT count(*) FROM outbox_pending"
PAUSED = "event relay paused: broker unavailable"
BACKLOG = "order_intake_outbox_backlog"


@pytest.fixture
def relay_setup(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials, ScratchExchange, TcpProxy]]:
    """A database, an exchange with its queue, and a proxy in front of RabbitMQ that we can cut."""
    with database(backend, tmp_path, "relay") as url:
        cli_ok(url, "org", "add", "RELAY", "--name", "Relay Test")
        cli_ok(url, "org", "enable", "RELAY")
        key = create_key(url, "--trkref", "RELAY", "--rate", "0")
        exchange = ScratchExchange("relay").declare()
        proxy = TcpProxy("127.0.0.1", 5672).start()
        try:
            yield url, key, exchange, proxy
        finally:
            proxy.close()
            exchange.delete()


def _post(client: httpx.Client, refs: range) -> None:
    for n in refs:
        answer = client.post("/v4/organisations/RELAY/customer_order", json=an_order(trkref="RELAY", order_ref=f"O{n}"))
        assert answer.status_code == 202, answer.text


def test_events_written_while_the_broker_is_cut_off_arrive_once_it_returns(
    relay_setup: tuple[str, Credentials, ScratchExchange, TcpProxy], tmp_path: Path
) -> None:
    """RabbitMQ cut off mid-run through a proxy: 202s go on, events wait unsent, all arrive after."""
    url, key, exchange, proxy = relay_setup
    broker = BROKER_URL.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    env = {**exchange.env(), "BROKER_URL": broker}
    server = Server(url, tmp_path / "server.log", **env).start()
    try:
        with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=10) as client:
            _post(client, range(50))
            wait_for(
                "the first events sent",
                lambda: count_rows(url, UNSENT) == 0 < count_rows(url, "SELECT count(*) FROM outbox"),
                timeout=DEADLINE,
            )
            proxy.cut()
            _post(client, range(50, 120))  # intake does not depend on the broker
            wait_for(
                "processing without the broker",
                lambda: count_rows(url, "SELECT count(*) FROM outbox") == 120,
                timeout=DEADLINE,
            )
            # The relay polls; wait until it has tried during the cut, or the broker may be back before it looks.
            wait_for("the relay noticing the broker gone", lambda: PAUSED in server.log(), timeout=DEADLINE)
            assert count_rows(url, UNSENT) > 0
            wait_for("the backlog shown", lambda: (metric(server.base_url, BACKLOG) or 0) > 0, timeout=DEADLINE)
            proxy.start()
            wait_for("the backlog sent", lambda: count_rows(url, UNSENT) == 0, timeout=DEADLINE)
            wait_for("the backlog shown empty", lambda: metric(server.base_url, BACKLOG) == 0, timeout=DEADLINE)
    finally:
        assert server.stop() == 0
    written = {str(e) for (e,) in fetch_rows(url, "SELECT event_id FROM outbox")}
    delivered = {d.message_id for d in exchange.drain()}
    assert len(written) == 120
    assert written <= delivered
