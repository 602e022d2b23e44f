"""A client that trickles its body is answered 408 and cut off, while other clients are served."""

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenants
from tests.support.factories import an_order
from tests.support.server import Server

SINGLE = "/v4/organisations/TRKREF123/customer_order"


@pytest.fixture
def impatient_server(db_url: str, tenants: Tenants, run_dir: Path, backend: str) -> Iterator[Server]:
    """A server that waits one second for a body."""
    del tenants  # made before the server starts
    server = Server(db_url, run_dir / f"slow-{backend}.log", ORDER_INTAKE_BODY_TIMEOUT_SECONDS="1").start()
    yield server
    server.stop()


def test_a_body_that_never_finishes_gets_408_and_others_are_served_meanwhile(
    impatient_server: Server, tenants: Tenants
) -> None:
    """Headers promise 1,000 bytes, 10 arrive: 408 Request timeout; a normal order posted meanwhile gets 202."""
    credentials = base64.b64encode(f"{tenants.main.username}:{tenants.main.password}".encode()).decode()
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=10) as slow:
        slow.sendall(
            f"POST {SINGLE} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n"
            'Content-Length: 1000\r\n\r\n{"trkref":'.encode()
        )
        with httpx.Client(base_url=impatient_server.base_url, timeout=10) as client:
            assert client.post(SINGLE, json=an_order(), auth=tenants.main.auth).status_code == 202
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body) == {"status": 408, "message": "Request timeout"}


def test_headers_over_64_kib_are_refused_with_431_and_the_server_keeps_serving(server: Server) -> None:
    """A 100 KB header: 431 Request Header Fields Too Large; the next request is served as usual."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as big:
        big.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        assert big.recv(64).startswith(b"HTTP/1.1 431")
    assert httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200
