"""A request answered before its body was read (413, 401, 403, 429) is heard by a client that sends the body first.

Python's urllib writes the whole body before it reads the answer: a server that closes while it still
sends leaves it with a broken pipe and no status (it heard none of 20 MB bodies' 413s). Each case is
repeated a few times; bench/refusals.py repeats them 30 times.
"""

import socket
from typing import BinaryIO

import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import ACCESS_DENIED, REALM, TOO_LARGE, UNAUTHORIZED, basic, submit_path
from tests.support.cli import Credentials, create_key
from tests.support.server import Server
from tests.support.urllib_client import Heard, post_with_urllib

MB = 1_000_000
MIB = 1024 * 1024
SINGLE = submit_path()
BATCH = "/v4/customer_orders"
BATCH_LIMIT = 16 * MIB
REPEAT = 3
BATCH_UNAUTHORIZED = {"status": 401, "errors": "Unauthorized"}

# Past each endpoint's limit (1 MiB, a batch 16 MiB), up to 64 MiB.
TOO_LARGE_CASES = {
    "single 1.1 MB": (SINGLE, 1_100_000),
    "single 4 MB": (SINGLE, 4 * MB),
    "single 20 MB": (SINGLE, 20 * MB),
    "single 64 MiB": (SINGLE, 64 * MIB),
    "batch 16 MiB + 1.1 MB": (BATCH, BATCH_LIMIT + 1_100_000),
    "batch 16 MiB + 4 MB": (BATCH, BATCH_LIMIT + 4 * MB),
    "batch 20 MB": (BATCH, 20 * MB),
    "batch 64 MiB": (BATCH, 64 * MIB),
}


def _heard(server: Server, path: str, body: bytes, key: Credentials, *, wrong_password: bool = False) -> Heard:
    authorization = basic(key.username, "wrong" if wrong_password else key.password)
    return post_with_urllib(server.base_url + path, body, authorization)


@pytest.mark.parametrize("case", list(TOO_LARGE_CASES))
def test_urllib_hears_413_for_a_body_past_the_limit(server: Server, tenants: Tenants, case: str) -> None:
    """Each time: 413 Payload too large, its body read and dropped first."""
    path, size = TOO_LARGE_CASES[case]
    body = b"x" * size
    for _ in range(REPEAT):
        heard = _heard(server, path, body, tenants.main)
        assert (heard.status, heard.body) == (413, TOO_LARGE)


@pytest.mark.parametrize(("path", "expected"), [(SINGLE, UNAUTHORIZED), (BATCH, BATCH_UNAUTHORIZED)])
def test_urllib_hears_401_for_a_4_mb_body_with_a_wrong_password(
    server: Server, tenants: Tenants, path: str, expected: dict[str, object]
) -> None:
    """Each time: 401 with its challenge, answered before the body and sent after it."""
    body = b"x" * (4 * MB)
    for _ in range(REPEAT):
        heard = _heard(server, path, body, tenants.main, wrong_password=True)
        assert (heard.status, heard.body) == (401, expected)
        assert REALM.fullmatch(heard.headers["www-authenticate"])


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_urllib_hears_403_for_a_4_mb_body_from_a_key_without_access(
    server: Server, tenants: Tenants, path: str
) -> None:
    """A key without the customer_order permission: 403 Access denied."""
    body = b"x" * (4 * MB)
    for _ in range(REPEAT):
        heard = _heard(server, path, body, tenants.no_permission)
        assert (heard.status, heard.body) == (403, ACCESS_DENIED)


def test_urllib_hears_429_for_a_4_mb_body_past_the_rate_limit(server: Server, db_url: str) -> None:
    """A key with a burst of 1: its first body gets 413, the next ones 429 with Retry-After."""
    key = create_key(db_url, "--trkref", "TRKREF123", "--rate", "0.001", "--burst", "1")
    body = b"x" * (4 * MB)
    assert _heard(server, SINGLE, body, key).status == 413
    for _ in range(REPEAT):
        heard = _heard(server, SINGLE, body, key)
        assert (heard.status, heard.body) == (429, {"status": 429, "message": "Too many requests"})
        assert int(heard.headers["retry-after"]) > 0


def test_once_the_refused_body_is_read_the_connection_carries_the_next_request(
    server: Server, tenants: Tenants
) -> None:
    """A 401 to a 2 MiB body keeps the connection (no `Connection: close`): a GET on it is answered."""
    head = (
        f"POST {SINGLE} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(tenants.main.username, 'wrong')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {2 * MIB}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"x" * (2 * MIB))
        with sock.makefile("rb") as answers:
            first = _read_answer(answers)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            second = _read_answer(answers)
    assert first[0].startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" not in first[1].lower()
    assert second[0].startswith(b"HTTP/1.1 200 ")


def _read_answer(answers: BinaryIO) -> tuple[bytes, bytes]:
    """One answer's status line and headers, its body read past (by Content-Length)."""
    status = answers.readline()
    headers = b""
    while (line := answers.readline()) not in (b"\r\n", b""):
        headers += line
    length = next(
        (int(h.split(b":", 1)[1]) for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
    )
    answers.read(length)
    return status, headers
