"""Connections that trickle their headers or send nothing are closed after the header timeout; others are served."""

import resource
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.support.cli import Credentials
from tests.support.factories import an_order
from tests.support.server import Server

SINGLE = "/v4/organisations/TRKREF123/customer_order"
HEADER_TIMEOUT = 3  # seconds; the default is 10
# How long a test waits for the server to close a connection: past this, it never will. Shorter than
# the default timeout, so that a server ignoring ORDER_INTAKE_HEADER_TIMEOUT_SECONDS fails too.
CLOSE_DEADLINE = 2.5 * HEADER_TIMEOUT
IDLE_CONNECTIONS = 1_200  # more than granian's default of 1,024 connections per worker process
KEPT_ALIVE = 20


@pytest.fixture(scope="module")
def strict_server(sqlite_tenant: tuple[str, Credentials], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that gives each connection HEADER_TIMEOUT seconds to send a request's headers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE_CONNECTIONS + KEPT_ALIVE + 512  # this test process opens the idle connections itself
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    log = tmp_path_factory.mktemp("connections-log") / "server.log"
    server = Server(
        sqlite_tenant[0], log, ORDER_INTAKE_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT), LOG_LEVEL="WARNING"
    ).start()
    yield server
    server.stop()


def _is_open(sock: socket.socket) -> bool:
    """Whether the server still holds the connection (nothing to read, no end of stream), without waiting."""
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionError:
        return False


def _wait_until_closed(socks: list[socket.socket], deadline: float) -> list[bytes]:
    """What each connection received before the server closed it; fails if one is still open at the deadline."""
    received = dict.fromkeys(socks, b"")
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    chunk = sock.recv(4096)
                except ConnectionError:
                    chunk = b""
                received[sock] += chunk
                if not chunk:
                    selector.unregister(sock)
        still_open = len(selector.get_map())
    assert still_open == 0, f"{still_open} connections still open {CLOSE_DEADLINE} s after they went quiet"
    return list(received.values())


@pytest.fixture
def connect(strict_server: Server) -> Iterator[Callable[[], socket.socket]]:
    """Open raw connections to the server (blocking, so that a peek without waiting works); all closed after."""
    with ExitStack() as opened:

        def open_one() -> socket.socket:
            sock = opened.enter_context(socket.create_connection(("127.0.0.1", strict_server.port), timeout=10))
            sock.settimeout(None)
            return sock

        yield open_one


def test_headers_trickled_in_are_cut_off_after_the_header_timeout_while_others_are_served(
    strict_server: Server, sqlite_tenant: tuple[str, Credentials], connect: Callable[[], socket.socket]
) -> None:
    """20 clients trickle an endless header: each is closed, unanswered or 408; orders posted meanwhile get 202."""
    slow = [connect() for _ in range(20)]
    for sock in slow:
        sock.sendall(f"POST {SINGLE} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
    with httpx.Client(base_url=strict_server.base_url, timeout=10) as client:
        for _ in range(5):
            assert client.post(SINGLE, json=an_order(), auth=sqlite_tenant[1].auth).status_code == 202
    assert all(_is_open(sock) for sock in slow), "the orders were answered only after the slow clients were dropped"
    deadline = time.monotonic() + CLOSE_DEADLINE
    trickling = list(slow)
    while trickling and time.monotonic() < deadline:
        for sock in list(trickling):
            try:
                sock.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                trickling.remove(sock)  # the server has closed it
        time.sleep(0.1)  # the trickle's pace, not a wait for an outcome
    answers = _wait_until_closed(slow, deadline)
    assert all(answer == b"" or answer.startswith(b"HTTP/1.1 408") for answer in answers), answers


def test_idle_connections_do_not_keep_others_out_and_are_closed_after_the_header_timeout(
    strict_server: Server, sqlite_tenant: tuple[str, Credentials], connect: Callable[[], socket.socket]
) -> None:
    """1,200 silent connections and 20 idle after one request: an order gets 202 meanwhile; all are then closed."""
    idle = [connect() for _ in range(IDLE_CONNECTIONS)]
    kept_alive = [connect() for _ in range(KEPT_ALIVE)]
    for sock in kept_alive:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = chunk = sock.recv(4096)
        while chunk and not answer.endswith(b"}"):
            chunk = sock.recv(4096)
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer
    with httpx.Client(base_url=strict_server.base_url, timeout=10) as client:
        assert client.post(SINGLE, json=an_order(), auth=sqlite_tenant[1].auth).status_code == 202
    assert all(_is_open(sock) for sock in idle + kept_alive), "the order was answered only after idle ones were dropped"
    answers = _wait_until_closed(idle + kept_alive, time.monotonic() + CLOSE_DEADLINE)
    assert answers == [b""] * (IDLE_CONNECTIONS + KEPT_ALIVE)
    assert httpx.get(f"{strict_server.base_url}/health", timeout=10).status_code == 200


@pytest.mark.parametrize(("size", "status"), [(30 * 1024, b"200"), (64 * 1024, b"431")])
def test_headers_of_30_kib_pass_and_of_64_kib_or_more_get_431(
    connect: Callable[[], socket.socket], size: int, status: bytes
) -> None:
    """The header limit: 32 KiB always fit; 64 KiB never does (431 Request Header Fields Too Large)."""
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
    assert sock.recv(12) == b"HTTP/1.1 " + status
