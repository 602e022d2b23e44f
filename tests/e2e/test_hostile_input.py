"""Inputs that once broke the service (found in review): each now gets its 4xx, never a 500."""

import base64
import json

import httpx

from tests.conftest import Tenants
from tests.support.factories import an_order

SINGLE = "/v4/organisations/TRKREF123/customer_order"


def test_a_number_with_an_enormous_exponent_is_malformed_json(client: httpx.Client, tenants: Tenants) -> None:
    """1e1000000000000000000 cannot be an exact decimal: 400 Malformed JSON, single and batch alike."""
    content = b'{"x": 1e1000000000000000000}'
    for path, body in ((SINGLE, content), ("/v4/customer_orders", b"[" + content + b"]")):
        answer = client.post(path, content=body, auth=tenants.main.auth)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"status": 400, "message": "Malformed JSON"}


def test_a_username_with_nul_is_just_unauthorized(client: httpx.Client) -> None:
    """U+0000 in the Basic username: 401 with WWW-Authenticate (PostgreSQL cannot even be asked)."""
    auth = {"Authorization": "Basic " + base64.b64encode(b"a\x00b:secret").decode()}
    for answer in (client.get("/v4/organisations", headers=auth), client.post(SINGLE, headers=auth, json=an_order())):
        assert answer.status_code == 401
        assert answer.json() == {"status": 401, "message": "Unauthorized"}
        assert answer.headers["www-authenticate"].startswith("Basic realm=")


def test_an_idempotency_key_that_is_not_ascii_is_refused_not_ignored(client: httpx.Client, tenants: Tenants) -> None:
    """A key with a byte outside ASCII: 400 Invalid Idempotency-Key, and nothing stored twice."""
    headers = {"Idempotency-Key": b"k\xff1"}
    for _ in range(2):
        answer = client.post(SINGLE, json=an_order(), headers=headers, auth=tenants.main.auth)
        assert answer.status_code == 400
        assert answer.json() == {"status": 400, "message": "Invalid Idempotency-Key"}


def test_an_order_with_thousands_of_unknown_fields_lists_100_warnings_and_counts_the_rest(
    client: httpx.Client, tenants: Tenants
) -> None:
    """A 202 whose warnings are bounded: the first 100 unknown fields, then how many more there were."""
    order = an_order(**{f"extra_{i}": i for i in range(2_000)})
    answer = client.post(SINGLE, content=json.dumps(order), auth=tenants.main.auth)
    assert answer.status_code == 202
    warnings = answer.json()["warnings"]
    assert len(warnings) == 101
    assert warnings[:2] == ["unknown field customer.cutomer_ref", "unknown field extra_0"]
    assert warnings[-1] == "1901 more unknown fields not listed"
