"""A database unreachable or unwritable: 503 (never 202, 500 or a hang), /ready 503, and recovery unaided."""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
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


def _read_only(url: str, *, on: bool) -> None:
    """Make the database read-only for new connections (as a standby is), or writable again; end the old ones."""
    name = urlsplit(url).path.lstrip("/")
    setting = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    with_server = url.rsplit("/", 1)[0] + "/postgres"

    async def switch() -> None:
        conn = await asyncpg.connect(with_server)
        try:
            await conn.execute(f'ALTER DATABASE "{name}" {setting}')
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        finally:
            await conn.close()

    asyncio.run(switch())


def _until(answer: Callable[[], httpx.Response], status: int, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while (got := answer()).status_code != status and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def test_a_read_only_database_gets_503_and_ready_503_never_500_and_recovers(tmp_path: Path) -> None:
    """A standby or a database set read-only answers but takes no write: 503 and /ready 503, then 202 unaided."""
    with postgres_database("readonly") as url:
        cli_ok(url, "org", "add", "FAULTS", "--name", "Faults")
        cli_ok(url, "org", "enable", "FAULTS")
        key = create_key(url, "--trkref", "FAULTS", "--rate", "0")
        server = Server(url, tmp_path / "readonly.log", ORDER_INTAKE_AUTH_CACHE_SECONDS="60").start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=10) as client:

                def post() -> httpx.Response:
                    return client.post(SINGLE, json=an_order(trkref="FAULTS"), auth=key.auth)

                def suppress() -> httpx.Response:
                    return client.put("/v4/organisations/FAULTS/suppressions/ann@example.com", auth=key.auth)

                assert post().status_code == 202
                assert client.get("/ready").status_code == 200
                _read_only(url, on=True)
                assert _until(lambda: client.get("/ready"), 503).status_code == 503
                for answer in [post() for _ in range(5)] + [suppress()]:
                    assert (answer.status_code, answer.json()) == (503, UNAVAILABLE), answer.text
                assert client.get("/health").status_code == 200
                _read_only(url, on=False)
                assert _until(post, 202).status_code == 202
                assert client.get("/ready").status_code == 200
                assert suppress().status_code == 201
        finally:
            assert server.stop() == 0
        log = (tmp_path / "readonly.log").read_text()
        assert "unexpected failure" not in log
        assert '"msg":"database unavailable"' in log
        assert '"sqlstate":"25006"' in log  # the operator reads why: a read-only transaction


SETPRIV = shutil.which("setpriv")
BIN = Path(sys.executable).with_name("order-intake")


@pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None, reason="needs root's setpriv to start a server that file modes bind"
)
@pytest.mark.parametrize("unwritable", ["file", "folder"])
def test_serve_refuses_in_one_line_a_sqlite_database_it_cannot_write(tmp_path: Path, unwritable: str) -> None:
    """A database restored read-only for the service: `serve` says so and exits, rather than refuse every order."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "restored.db"
    cli_ok(f"sqlite:///{path}", "org", "add", "FAULTS", "--name", "Faults")
    (path if unwritable == "file" else folder).chmod(0o555)
    # Without these two capabilities root obeys file modes, as the service's own user would.
    command = [str(SETPRIV), "--bounding-set=-dac_override,-dac_read_search", str(BIN), "serve", "--port", "0"]
    try:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert done.returncode == 1, done.stderr
    named = path if unwritable == "file" else folder
    refusal = f"{named} cannot be written by this user: the SQLite database (DATABASE_URL) must be writable"
    assert done.stderr.strip().splitlines() == [f"order-intake: {refusal}"]
