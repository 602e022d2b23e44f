"""What the contract tests share: sending orders, reading answers exactly, polling, peeking at the store."""

import asyncio
import base64
import json
import re
import secrets
import sqlite3
import uuid
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import httpx

from tests.support.factories import an_order

T = TypeVar("T")

TRKREF = "TRKREF123"
SUBMIT = f"/v4/organisations/{TRKREF}/customer_order"
ORGANISATIONS = "/v4/organisations"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
REALM = re.compile(r'Basic realm="[^"]*"')

UNAUTHORIZED = {"status": 401, "message": "Unauthorized"}
INVALID_TRKREF = {"status": 400, "message": "Invalid TRKREF supplied"}
ACCESS_DENIED = {"status": 403, "error": "Access denied"}
NOT_FOUND = {"status": 404, "message": "Not found"}
METHOD_NOT_ALLOWED = {"status": 405, "message": "Method not allowed"}
TOO_LARGE = {"status": 413, "message": "Payload too large"}
ONE_MIB = 1024 * 1024


def submit_path(trkref: str = TRKREF) -> str:
    """The single submission endpoint of an organisation."""
    return f"/v4/organisations/{trkref}/customer_order"


def submission_path(submission_id: str, trkref: str = TRKREF) -> str:
    """Where one submission is read back."""
    return f"/v4/organisations/{trkref}/customer_order/{submission_id}"


def unique_ref(prefix: str = "E2E") -> str:
    """An order_ref (or trkref) no other test uses: upper-case letters, digits and '-'."""
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def basic(username: str, password: str) -> str:
    """An Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def encode(value: Any) -> bytes:
    """A JSON body as an integrator would send it."""
    return json.dumps(value).encode()


def post_order(  # noqa: PLR0913 - a request has this many independent parts
    client: httpx.Client,
    auth: tuple[str, str] | None,
    order: Any = ...,
    *,
    trkref: str = TRKREF,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """POST one order (the reference example by default) as JSON, or raw bytes given as `content`."""
    body = content if content is not None else encode(an_order() if order is ... else order)
    sent = {"Content-Type": "application/json", **(headers or {})}
    return client.post(submit_path(trkref), content=body, headers=sent, auth=auth)


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, with every non-integer number as an exact Decimal."""
    return json.loads(response.text, parse_float=Decimal)


def assert_json_headers(response: httpx.Response) -> None:
    """Every JSON answer: `Content-Type: application/json` and an `X-Request-Id`."""
    assert response.headers.get("content-type") == "application/json", response.headers
    assert response.headers.get("x-request-id"), response.headers


def assert_answer(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    """Exactly this status and JSON body, with the headers every JSON answer has."""
    assert (response.status_code, json_body(response)) == (status, body), response.text
    assert_json_headers(response)


def assert_unauthorized(response: httpx.Response) -> None:
    """The 401 of the single endpoints, with its `WWW-Authenticate: Basic realm="..."` challenge."""
    assert_answer(response, 401, UNAUTHORIZED)
    assert REALM.fullmatch(response.headers.get("www-authenticate", "")), response.headers


def accepted_id(response: httpx.Response, warnings: list[str] | None = None) -> str:
    """Assert a 202 with exactly these warnings (none: no `warnings` key); the submission's id."""
    body = json_body(response)
    assert response.status_code == 202, response.text
    submission_id = body.get("id")
    assert isinstance(submission_id, str)
    assert UUID4.fullmatch(submission_id), submission_id
    expected = {"status": 202, "id": submission_id, "message": "Customer order accepted"}
    if warnings is not None:
        expected["warnings"] = warnings
    assert body == expected
    assert_json_headers(response)
    return submission_id


def invalid(response: httpx.Response, errors: list[str], message: str = "Invalid customer order") -> None:
    """Assert a 422 with exactly these errors, in this order."""
    assert_answer(response, 422, {"status": 422, "message": message, "errors": errors})


def present(value: Any) -> Any:
    """A JSON value with every null member dropped: absent and null read alike."""
    if isinstance(value, dict):
        return {k: present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [present(v) for v in value]
    return value


def _query_one(db_url: str, sql: str, param: object) -> Any:
    """The first column of the first row of a one-parameter query (`?` as the placeholder), or None."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(f"file:{db_url.removeprefix('sqlite:///')}?mode=ro", uri=True)
        try:
            row = conn.execute(sql, (str(param) if isinstance(param, uuid.UUID) else param,)).fetchone()
        finally:
            conn.close()
        return None if row is None else row[0]

    async def query() -> Any:
        conn = await asyncpg.connect(db_url)
        try:
            return await conn.fetchval(sql.replace("?", "$1"), param)
        finally:
            await conn.close()

    return asyncio.run(query())


def stored_submissions(db_url: str, order_ref: str) -> int:
    """How many submissions the database holds with this order_ref (to see that nothing was stored)."""
    return int(_query_one(db_url, "SELECT count(*) FROM submissions WHERE order_ref = ?", order_ref))


def stored_body(db_url: str, submission_id: str) -> bytes | None:
    """The request body stored with a submission, as bytes."""
    body = _query_one(db_url, "SELECT body FROM submissions WHERE id = ?", uuid.UUID(submission_id))
    return None if body is None else bytes(body)


def drop_database(db_url: str) -> None:
    """Drop a PostgreSQL database now, cutting its connections (to see the service without its database)."""
    server, name = db_url.rsplit("/", 1)

    async def drop() -> None:
        conn = await asyncpg.connect(f"{server}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())
