"""Reading a refused body to drop it is bounded in size, time and number, and others are served meanwhile.

The server reads the rest of a body it answered early so that the client hears the answer
(test_refused_bodies.py), but never more than MAX_DISCARDED_BYTES of it, for longer than the lingering
time (at most the body timeout), nor for more than MAX_LINGERING connections of a process at once.
"""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from order_intake.entrypoints.http.linger import MAX_DISCARDED_BYTES, MAX_LINGERING
from tests.e2e.exchanges import basic, submit_path
from tests.support.cli import Credentials
from tests.support.factories import an_order
from tests.support.polling import wait_for
from tests.support.server import Server
from tests.support.urllib_client import post_with_urllib

MIB = 1024 * 1024
GIB = 1024 * MIB
SINGLE = submit_path()
# More than a connection's buffers take without the server reading (about 4 MiB here): once sent, the
# server is reading this body.
PAST_THE_BUFFERS = 16 * MIB


@pytest.fixture(scope="module")
def lingering_server(
    sqlite_tenant: tuple[str, Credentials], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server of its own, with the default timeouts: it lingers MAX_LINGER_SECONDS."""
    log = tmp_path_factory.mktemp("lingering-log") / "server.log"
    server = Server(sqlite_tenant[0], log, LOG_LEVEL="WARNING").start()
    yield server
    server.stop()


@pytest.fixture
def impatient_server(sqlite_tenant: tuple[str, Credentials], tmp_path: Path) -> Iterator[Server]:
    """A server that waits two seconds for a body, and so lingers two seconds at most."""
    server = Server(sqlite_tenant[0], tmp_path / "server.log", ORDER_INTAKE_BODY_TIMEOUT_SECONDS="2").start()
    yield server
    server.stop()


def _head(authorization: str, *, length: int | None = None) -> bytes:
    """A POST's head: Content-Length `length`, or chunked."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    head = f"POST {SINGLE} HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n{framing}\r\n\r\n"
    return head.encode()


def _answer_then_end(sock: socket.socket) -> bytes:
    """Everything received until the server closed the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _order_is_accepted(server: Server, key: Credentials) -> bool:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        return client.post(SINGLE, json=an_order(), auth=key.auth).status_code == 202


@pytest.mark.parametrize("wrong_password", [False, True], ids=["413", "401"])
def test_a_body_declared_past_the_bound_is_answered_at_once_and_closed_without_reading_it(
    lingering_server: Server, sqlite_tenant: tuple[str, Credentials], *, wrong_password: bool
) -> None:
    """Content-Length 1 GiB and not a byte of body: the answer comes with `Connection: close`, then the end."""
    key = sqlite_tenant[1]
    authorization = basic(key.username, "wrong" if wrong_password else key.password)
    with socket.create_connection(("127.0.0.1", lingering_server.port), timeout=30) as sock:
        sock.sendall(_head(authorization, length=GIB))
        answer = _answer_then_end(sock)
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 401 " if wrong_password else b"http/1.1 413 ")
    assert b"\r\nconnection: close" in head


def test_a_body_without_end_is_read_only_up_to_the_bound_and_others_are_served_meanwhile(
    lingering_server: Server, sqlite_tenant: tuple[str, Credentials]
) -> None:
    """A chunked body sent as fast as it goes: cut off past MAX_DISCARDED_BYTES; an order posted meanwhile: 202."""
    key = sqlite_tenant[1]
    piece = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    sent = [0]
    with socket.create_connection(("127.0.0.1", lingering_server.port), timeout=30) as sock:
        sock.sendall(_head(basic(key.username, key.password)))

        def flood() -> None:
            try:
                while sent[0] < 4 * GIB:
                    sock.sendall(piece)
                    sent[0] += 0x10000
            except ConnectionError:
                return

        flooding = threading.Thread(target=flood)
        flooding.start()
        wait_for("the body to be read", lambda: sent[0] > PAST_THE_BUFFERS, timeout=30)
        assert _order_is_accepted(lingering_server, key)
        flooding.join(timeout=120)
    assert not flooding.is_alive()
    # Read: the 1 MiB limit, then the bound; sent besides: at most what the two ends' buffers hold.
    assert MAX_DISCARDED_BYTES < sent[0] < 2 * MAX_DISCARDED_BYTES


def test_a_body_that_stops_coming_is_answered_once_the_time_is_up_and_others_are_served_meanwhile(
    impatient_server: Server, sqlite_tenant: tuple[str, Credentials]
) -> None:
    """10 MB declared, 1 KB sent, then nothing: 401 with `Connection: close` after the lingering time."""
    key = sqlite_tenant[1]
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=30) as sock:
        sock.sendall(_head(basic(key.username, "wrong"), length=10_000_000) + b"x" * 1000)
        assert _order_is_accepted(impatient_server, key)
        answer = _answer_then_end(sock)
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 401 ")
    assert b"\r\nconnection: close" in head


def _has_received_nothing(sock: socket.socket) -> bool:
    sock.settimeout(0)  # with a timeout, Python waits for data even with MSG_DONTWAIT
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    return False


def test_past_the_connections_lingering_at_once_an_early_answer_goes_at_once_and_closes(
    lingering_server: Server, sqlite_tenant: tuple[str, Credentials]
) -> None:
    """MAX_LINGERING bodies stalled partway: the next refused body is not read (answered, closed) while they wait.

    Once they are gone, a refused body is read again: urllib hears its 401.
    """
    key = sqlite_tenant[1]
    wrong = basic(key.username, "wrong")
    stalled = []
    try:
        for _ in range(MAX_LINGERING):
            sock = socket.create_connection(("127.0.0.1", lingering_server.port), timeout=30)
            stalled.append(sock)
            sock.sendall(_head(wrong, length=4 * PAST_THE_BUFFERS) + b"x" * PAST_THE_BUFFERS)
        with socket.create_connection(("127.0.0.1", lingering_server.port), timeout=30) as extra:
            extra.sendall(_head(wrong, length=4 * PAST_THE_BUFFERS))
            answer = _answer_then_end(extra)
        assert all(_has_received_nothing(sock) for sock in stalled)  # they still linger
        assert _order_is_accepted(lingering_server, key)
    finally:
        for sock in stalled:
            sock.close()
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 401 ")
    assert b"\r\nconnection: close" in head

    def heard_401() -> bool:
        try:
            return post_with_urllib(lingering_server.base_url + SINGLE, b"x" * (4 * MIB), wrong).status == 401
        except OSError:  # a broken pipe: the places have not all come back yet
            return False

    wait_for("urllib to hear a 401 again", heard_401, timeout=30)
