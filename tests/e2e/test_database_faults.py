"""PostgreSQL unreachable: submissions answer 503 (never 202, never a hang), /ready 503, and recovery is automatic."""

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import postgres_database
from tests.support.factories import an_order
from tests.support.server import Server
from tests.support.tcp_proxy import TcpProxy

SINGLE = "/v4/organisations/FAULTS/customer_order"
UNAVAILABLE = {"status": 503, "message": "Service unavailable"}


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[tuple[Server, TcpProxy, Credentials]]:
    """A server whose DATABASE_URL goes through a proxy we can cut; org FAULTS and a key made directly."""
    with postgres_database("faults") as url:
        cli_ok(url, "org", "add", "FAULTS", "--name", "Faults")
        cli_ok(url, "org", "enable", "FAULTS")
        key = create_key(url, "--trkref", "FAULTS")
        parts = urlsplit(url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
        proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
        server = Server(proxied, tmp_path / "faults.log", ORDER_INTAKE_AUTH_CACHE_SECONDS="0").start()
        try:
            yield server, proxy, key
        finally:
            server.stop()
            proxy.close()


def _poll(client: httpx.Client, key: Credentials, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth)
        if answer.status_code == 202 or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_database_outage_answers_503_and_service_recovers_by_itself(
    behind_proxy: tuple[Server, TcpProxy, Credentials],
) -> None:
    """Cut: 503 for submissions, GETs and /ready, with /health still 200. Restored: 202 again, unaided."""
    server, proxy, key = behind_proxy
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        accepted = client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth)
        assert accepted.status_code == 202
        proxy.cut()
        for _ in range(5):  # the pooled connections are dead and new ones are refused
            answer = client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth)
            assert (answer.status_code, answer.json()) == (503, UNAVAILABLE)
        shown = client.get(f"{SINGLE}/{accepted.json()['id']}", auth=key.auth)
        assert (shown.status_code, shown.json()) == (503, UNAVAILABLE)
        assert client.get("/ready").status_code == 503
        assert client.get("/health").status_code == 200
        proxy.start()
        assert _poll(client, key).status_code == 202
        assert client.get("/ready").status_code == 200
        assert client.get(f"{SINGLE}/{accepted.json()['id']}", auth=key.auth).status_code == 200
