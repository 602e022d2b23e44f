"""PostgreSQL unreachable: submissions answer 503 (never 202, never a hang), /ready 503, and recovery is automatic."""

import contextlib
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


@contextlib.contextmanager
def _server_behind_proxy(tmp_path: Path, auth_cache_seconds: str) -> Iterator[tuple[Server, TcpProxy, Credentials]]:
    """A server whose DATABASE_URL goes through a proxy we can cut; org FAULTS and a key made directly."""
    with postgres_database("faults") as url:
        cli_ok(url, "org", "add", "FAULTS", "--name", "Faults")
        cli_ok(url, "org", "enable", "FAULTS")
        key = create_key(url, "--trkref", "FAULTS")
        parts = urlsplit(url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
        proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
        server = Server(proxied, tmp_path / "faults.log", ORDER_INTAKE_AUTH_CACHE_SECONDS=auth_cache_seconds).start()
        try:
            yield server, proxy, key
        finally:
            server.stop()
            proxy.close()


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[tuple[Server, TcpProxy, Credentials]]:
    """Such a server that asks the database about every key (no directory to fall back on)."""
    with _server_behind_proxy(tmp_path, "0") as served:
        yield served


@pytest.fixture
def behind_proxy_keys_kept(tmp_path: Path) -> Iterator[tuple[Server, TcpProxy, Credentials]]:
    """Such a server that keeps its key directory through an outage, so requests get past authentication."""
    with _server_behind_proxy(tmp_path, "5") as served:
        yield served


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


def test_suppressions_answer_503_while_the_database_is_cut_and_serve_again_once_it_is_back(
    behind_proxy_keys_kept: tuple[Server, TcpProxy, Credentials],
) -> None:
    """PUT, DELETE, GET one and the list: 503 Service unavailable (no hang), then 200 again, unaided."""
    server, proxy, key = behind_proxy_keys_kept
    suppressions = "/v4/organisations/FAULTS/suppressions"
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.put(f"{suppressions}/ann@example.com", auth=key.auth).status_code == 201
        proxy.cut()
        for method, path in [(m, f"{suppressions}/ann@example.com") for m in ("PUT", "DELETE", "GET")] + [
            ("GET", suppressions)
        ]:
            answer = client.request(method, path, auth=key.auth)
            assert (answer.status_code, answer.json()) == (503, UNAVAILABLE), (method, path)
        proxy.start()
        deadline = time.monotonic() + 30
        while (listed := client.get(suppressions, auth=key.auth)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s["email"] for s in listed.json()["suppressions"]] == ["ann@example.com"]


def test_a_silent_database_gets_503_never_500_and_202_again_once_it_answers(
    behind_proxy_keys_kept: tuple[Server, TcpProxy, Credentials],
) -> None:
    """Frozen link (bytes held, nothing refused) past every timeout: only 503s; thawed: 202 again, unaided."""
    server, proxy, key = behind_proxy_keys_kept
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth).status_code == 202
        proxy.freeze()
        # The first runs into the writer's 10 s statement timeout on a connection that never answers;
        # by then the key directory (5 s) has expired, and the second waits for its load, which fails.
        answers = [client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth) for _ in range(2)]
        assert [(a.status_code, a.json()) for a in answers] == [(503, UNAVAILABLE)] * 2
        proxy.thaw()
        assert _poll(client, key).status_code == 202


def test_a_customers_page_without_the_database_is_a_page_saying_try_again(
    behind_proxy_keys_kept: tuple[Server, TcpProxy, Credentials],
) -> None:
    """The review and unsubscribe links while the database is cut: 503 as an HTML page, never JSON; then pages again."""
    server, proxy, _ = behind_proxy_keys_kept
    token = f"{'0' * 32}.AAAAAAAAAAAAAAAAAAAAAA"
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        proxy.cut()
        for method, path in [("GET", f"/r/{token}"), ("POST", f"/r/{token}"), ("POST", f"/u/{token}")]:
            answer = client.request(method, path, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 503, (method, path)
            assert answer.headers["content-type"] == "text/html; charset=utf-8"
            assert "try again" in answer.text
        proxy.start()
        deadline = time.monotonic() + 30
        while (page := client.get(f"/r/{token}")).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert page.status_code == 404  # a token that does not verify: the not-found page
        assert page.headers["content-type"] == "text/html; charset=utf-8"
