"""Organisations of their own for the personal-data tests, and orders sent, read and awaited through the server."""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.exchanges import json_body, post_order, unique_ref
from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.factories import an_order
from tests.support.polling import wait_until

BATCH = "/v4/customer_orders"
# The server's processor runs every 0.2 s when idle; this only bounds waits that poll.
DEADLINE = 30.0


@dataclass(frozen=True)
class Shop:
    """An organisation of its own (feature on) and a key for it."""

    trkref: str
    key: Credentials


def a_shop(db_url: str) -> Shop:
    """A fresh organisation and key, made through the CLI."""
    trkref = unique_ref("PRIV")
    cli_ok(db_url, "org", "add", trkref, "--name", "Privacy Shop")
    cli_ok(db_url, "org", "enable", trkref)
    return Shop(trkref, create_key(db_url, "--trkref", trkref))


def order_of(shop: Shop, customer: dict[str, Any], order_ref: str | None = None) -> dict[str, Any]:
    """An order of this shop by this customer."""
    return an_order(trkref=shop.trkref, order_ref=order_ref or unique_ref("ORD"), customer=customer)


def submit(client: httpx.Client, shop: Shop, order: dict[str, Any], idempotency_key: str | None = None) -> str:
    """POST one order; its id."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    answer = post_order(client, shop.key.auth, order, trkref=shop.trkref, headers=headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def submission(client: httpx.Client, shop: Shop, submission_id: str) -> httpx.Response:
    """GET one submission."""
    return client.get(f"/v4/organisations/{shop.trkref}/customer_order/{submission_id}", auth=shop.key.auth)


def canonical(client: httpx.Client, shop: Shop, order_ref: str) -> httpx.Response:
    """GET one canonical order."""
    return client.get(f"/v4/organisations/{shop.trkref}/customer_orders/{order_ref}", auth=shop.key.auth)


def wait_processed(client: httpx.Client, shop: Shop, ids: list[str]) -> None:
    """Poll until the server's processor has merged each of these submissions."""
    deadline = time.monotonic() + DEADLINE
    for submission_id in ids:
        done = wait_until(
            lambda i=submission_id: json_body(submission(client, shop, i))["state"] == "processed" or None,
            deadline=deadline,
        )
        assert done, f"submission {submission_id} was not processed in time"
