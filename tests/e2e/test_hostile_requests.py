"""Requests an attacker holding a valid key would send: each gets a clean 4xx and the service keeps serving."""

import json

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    INVALID_TRKREF,
    NOT_FOUND,
    SUBMIT,
    accepted_id,
    assert_answer,
    basic,
    encode,
    post_order,
    stored_submissions,
    unique_ref,
)
from tests.support.factories import an_order
from tests.support.raw_http import RawAnswer, request, send_raw
from tests.support.server import Server

# What a URL's parameter can carry that no stored value can: U+0000 (PostgreSQL refuses it), a
# surrogate's UTF-8 encoding, a byte that is not UTF-8, and far more text than any field holds.
HOSTILE = {"nul": "%00", "nul inside": "a%00b", "surrogate": "%ED%A0%80", "not utf-8": "%FF", "10 KB": "A" * 10_240}
WARNINGS = ["unknown field customer.cutomer_ref"]
SOME_ID = "00000000-0000-4000-8000-000000000000"
INVALID_SUPPRESSION = {"status": 422, "message": "Invalid suppression", "errors": ["invalid email"]}
# Each path parameter of every endpoint, with where the hostile value goes, and the answer it gets.
PARAMETERS = {
    "submission id": ("GET", "/v4/organisations/TRKREF123/customer_order/{}", NOT_FOUND),
    "order_ref": ("GET", "/v4/organisations/TRKREF123/customer_orders/{}", NOT_FOUND),
    "batch id": ("GET", "/v4/customer_orders/{}", NOT_FOUND),
    "trkref of a submission": ("POST", "/v4/organisations/{}/customer_order", INVALID_TRKREF),
    "trkref of a read": ("GET", "/v4/organisations/{}/customer_order/" + SOME_ID, INVALID_TRKREF),
    "trkref of an order": ("GET", "/v4/organisations/{}/customer_orders/ABC123", INVALID_TRKREF),
    "suppressed email": ("PUT", "/v4/organisations/TRKREF123/suppressions/{}", INVALID_SUPPRESSION),
    "lifted email": ("DELETE", "/v4/organisations/TRKREF123/suppressions/{}", INVALID_SUPPRESSION),
    "shown email": ("GET", "/v4/organisations/TRKREF123/suppressions/{}", INVALID_SUPPRESSION),
    "trkref of suppressions": ("GET", "/v4/organisations/{}/suppressions", INVALID_TRKREF),
}


def assert_still_serving(client: httpx.Client, tenants: Tenants) -> None:
    """/health answers and a valid order is accepted."""
    assert client.get("/health").status_code == 200
    accepted_id(post_order(client, tenants.main.auth, an_order(order_ref=unique_ref())), WARNINGS)


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("parameter", PARAMETERS.values(), ids=PARAMETERS.keys())
def test_a_hostile_path_parameter_from_a_valid_key_gets_its_4xx_and_the_service_keeps_serving(
    client: httpx.Client, tenants: Tenants, parameter: tuple[str, str, dict[str, object]], value: str
) -> None:
    """Never a hang, a 5xx or a crash: the parameter cannot name anything, so the answer is the not-found one."""
    method, template, expected = parameter
    content = encode(an_order()) if method == "POST" else None
    answer = client.request(method, template.format(value), auth=tenants.main.auth, content=content)
    assert_answer(answer, int(str(expected["status"])), expected)
    assert_still_serving(client, tenants)


def _post(server: Server, headers: list[tuple[str, str]], body: bytes, *, half_close: bool = False) -> RawAnswer:
    return send_raw(server.port, request("POST", SUBMIT, headers, body), half_close=half_close)


def _auth(tenants: Tenants) -> tuple[str, str]:
    return ("Authorization", basic(*tenants.main.auth))


def _chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n"


@pytest.mark.parametrize(
    "ending",
    [b"zz\r\n", b"", b"5\r\nab"],
    ids=["a chunk size that is not hex", "no last chunk", "a chunk cut short"],
)
def test_a_chunked_body_whose_framing_breaks_answers_400_and_stores_nothing(
    server: Server, client: httpx.Client, tenants: Tenants, db_url: str, ending: bytes
) -> None:
    """A body is whole only when its framing is: the valid JSON before the break is not an order."""
    order_ref = unique_ref()
    headers = [("Host", "x"), _auth(tenants), ("Transfer-Encoding", "chunked")]
    answer = _post(server, headers, _chunked(encode(an_order(order_ref=order_ref))) + ending, half_close=True)
    assert (answer.status, json.loads(answer.body)) == (400, {"status": 400, "message": "Incomplete request body"})
    assert answer.headers["content-type"] == "application/json"
    assert stored_submissions(db_url, order_ref) == 0
    assert_still_serving(client, tenants)


def test_a_whole_chunked_body_is_accepted(server: Server, tenants: Tenants, db_url: str) -> None:
    """The same body with its last chunk: 202 and stored, so the 400s above are about framing alone."""
    order_ref = unique_ref()
    body = encode(an_order(order_ref=order_ref))
    headers = [("Host", "x"), _auth(tenants), ("Transfer-Encoding", "chunked")]
    answer = _post(server, headers, _chunked(body[:100]) + _chunked(body[100:]) + b"0\r\n\r\n")
    assert answer.status == 202, answer.body
    assert stored_submissions(db_url, order_ref) == 1


def test_a_body_shorter_than_its_content_length_then_a_half_close_answers_400(
    server: Server, client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """The client said more was coming and stopped sending: 400, never an empty 5xx, nothing stored."""
    order_ref = unique_ref()
    body = encode(an_order(order_ref=order_ref))
    headers = [("Host", "x"), _auth(tenants), ("Content-Length", str(len(body) + 100))]
    answer = _post(server, headers, body, half_close=True)
    assert (answer.status, json.loads(answer.body)) == (400, {"status": 400, "message": "Incomplete request body"})
    assert stored_submissions(db_url, order_ref) == 0
    assert_still_serving(client, tenants)


def test_two_authorization_headers_answer_400_whichever_would_pass(
    server: Server, tenants: Tenants, db_url: str
) -> None:
    """A proxy reading the other header would authorise someone else: neither is believed."""
    order_ref = unique_ref()
    body = encode(an_order(order_ref=order_ref))
    for pair in ((_auth(tenants), ("Authorization", "Basic eDp5")), (("Authorization", "Basic eDp5"), _auth(tenants))):
        headers = [("Host", "x"), *pair, ("Content-Length", str(len(body)))]
        answer = _post(server, headers, body)
        expected = {"status": 400, "message": "More than one Authorization header"}
        assert (answer.status, json.loads(answer.body)) == (400, expected)
    assert stored_submissions(db_url, order_ref) == 0


@pytest.mark.parametrize("hosts", [[], ["x", "y"]], ids=["no Host", "two Hosts"])
def test_an_http_1_1_request_without_exactly_one_host_answers_400(
    server: Server, tenants: Tenants, db_url: str, hosts: list[str]
) -> None:
    """RFC 9112 requires one Host header in HTTP/1.1."""
    order_ref = unique_ref()
    body = encode(an_order(order_ref=order_ref))
    headers = [*(("Host", h) for h in hosts), _auth(tenants), ("Content-Length", str(len(body)))]
    answer = _post(server, headers, body)
    expected = {"status": 400, "message": "An HTTP/1.1 request needs exactly one Host header"}
    assert (answer.status, json.loads(answer.body)) == (400, expected)
    assert stored_submissions(db_url, order_ref) == 0


@pytest.mark.parametrize(
    "path", ["//v4/organisations", "/v4//organisations", "/v4/organisations/", "/v4%2Forganisations%252F"]
)
def test_a_path_with_an_empty_or_doubly_encoded_segment_answers_404(
    client: httpx.Client, tenants: Tenants, path: str
) -> None:
    """Routes match whole segments exactly: no empty segment is skipped, nothing is decoded twice."""
    assert_answer(client.get(path, auth=tenants.main.auth), 404, NOT_FOUND)


def test_a_websocket_upgrade_is_answered_as_plain_http_in_json_without_an_error_logged(server: Server) -> None:
    """The service speaks no WebSocket: the Upgrade header is ignored (RFC 9110 allows it)."""
    headers = [
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
        ("X-Request-Id", f"ws-{unique_ref()}"),
    ]
    answer = send_raw(server.port, request("GET", "/v4/organisations", headers))
    assert (answer.status, json.loads(answer.body)) == (401, {"status": 401, "message": "Unauthorized"})
    assert answer.headers["content-type"] == "application/json"
    request_id = dict(headers)["X-Request-Id"]
    errors = [line for line in server.log().splitlines() if request_id in line and '"level":"error"' in line]
    assert errors == []
