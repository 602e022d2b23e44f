"""A customer invited to review an order, for the tests of the customer's pages: their shop, order and links."""

import datetime as dt
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from order_intake.domain import links
from tests.e2e.exchanges import json_body, post_order, unique_ref
from tests.support.cli import Credentials, enabled_tenant
from tests.support.inspect_db import fetch_rows
from tests.support.invitations_db import signing_key
from tests.support.polling import wait_until
from tests.support.privacy_db import db_uuid

DEADLINE = 30.0
# A name and items with characters HTML must escape: the pages show them as text, never as markup.
SHOP_NAME = 'Acme <Retail> & "Sons"'
ITEMS = [
    {"sku": "MUG-1", "price": 10, "currency": "GBP", "metadata": {"name": "Blue <mug>"}},
    {"sku": "TEE-2", "price": 20, "currency": "GBP", "metadata": {"product_name": "Cotton T-shirt"}},
    {"sku": "MUG-1", "price": 10, "currency": "GBP", "metadata": {"name": "Blue mug, the second"}},
    {"sku": "PLAIN-3", "price": 5, "currency": "GBP"},
]
SKUS = ("MUG-1", "TEE-2", "PLAIN-3")


@dataclass(frozen=True)
class Invitee:
    """A shop, its key, and a customer whose order was processed and invited (scheduled)."""

    trkref: str
    key: Credentials
    email: str
    order_ref: str
    invitation_id: uuid.UUID
    review_path: str  # /r/{token}, as purchases gives it
    unsubscribe_path: str  # /u/{token}, as the e-mail will

    @property
    def review_token(self) -> str:
        """The token of the review link."""
        return self.review_path.rsplit("/", 1)[1]

    def purchases(self, client: httpx.Client) -> list[dict[str, Any]]:
        """GET the customer's purchases."""
        answer = client.get(f"/v4/organisations/{self.trkref}/purchasers/{self.email}/purchases", auth=self.key.auth)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = json_body(answer)
        return found

    def review_states(self, client: httpx.Client) -> dict[str, set[str]]:
        """Each sku's review_state(s) in purchases."""
        states: dict[str, set[str]] = {}
        for line in self.purchases(client):
            states.setdefault(line["sku"], set()).add(line["review_state"])
        return states

    def explain(self, client: httpx.Client, order_ref: str | None = None) -> httpx.Response:
        """GET the explain answer of this (or another) order of the shop."""
        path = f"/v4/organisations/{self.trkref}/customer_orders/{order_ref or self.order_ref}/invitation"
        return client.get(path, auth=self.key.auth)

    def suppression(self, client: httpx.Client) -> httpx.Response:
        """GET the customer's address in the shop's suppressions."""
        return client.get(f"/v4/organisations/{self.trkref}/suppressions/{self.email}", auth=self.key.auth)


def an_order_of(email: str, order_ref: str, *, language: str = "en", locale: str = "en-GB", **fields: Any) -> Any:
    """An order placed today by this customer (Ann, in GB), with ITEMS unless told otherwise."""
    today = dt.datetime.now(dt.UTC).date().strftime("%d-%m-%Y")
    return {
        "order_ref": order_ref,
        "order_date": today,
        "fulfilment_date": today,
        "language": language,
        "locale": locale,
        "customer": {"email": email, "first_name": "Ann", "country": "GB"},
        "order_items": ITEMS,
        **fields,
    }


def an_invitee(client: httpx.Client, db_url: str, *, name: str = SHOP_NAME, **order: Any) -> Invitee:
    """A new shop and a customer of it whose order is processed and scheduled; their links."""
    trkref = unique_ref("PAGES")
    key = enabled_tenant(db_url, trkref, name)
    email = f"{unique_ref('ann').lower()}@example.com"
    order_ref = unique_ref("ORD")
    body = {"trkref": trkref, **an_order_of(email, order_ref, **order)}
    answer = post_order(client, key.auth, body, trkref=trkref)
    assert answer.status_code == 202, answer.text
    purchases = f"/v4/organisations/{trkref}/purchasers/{email}/purchases"

    def review_url() -> str | None:
        lines = json_body(client.get(purchases, auth=key.auth))
        return lines[0]["review_url"] if lines else None

    url = wait_until(review_url, deadline=time.monotonic() + DEADLINE)
    assert url is not None, f"no review link for {order_ref} within {DEADLINE} s"
    path = urllib.parse.urlsplit(url).path
    invitation_id = uuid.UUID(hex=path.rsplit("/", 1)[1].split(".")[0])
    unsubscribe = f"/u/{links.token(signing_key(db_url), links.UNSUBSCRIBE, invitation_id)}"
    return Invitee(trkref, key, email, order_ref, invitation_id, path, unsubscribe)


def stored_reviews(db_url: str, invitee: Invitee) -> dict[str, tuple[int, str]]:
    """The invitation's reviews in the database: (rating, text) by sku."""
    rows = fetch_rows(
        db_url,
        "SELECT sku, rating, text FROM reviews WHERE invitation_id = ?",
        db_uuid(db_url, str(invitee.invitation_id)),
    )
    return {sku: (rating, text) for sku, rating, text in rows}
