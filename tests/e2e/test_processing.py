"""The server's own processor: submissions become processed, the canonical order is served, events tail."""

import json
import signal
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import NOT_FOUND, accepted_id, assert_answer, json_body, post_order, unique_ref
from tests.e2e.json_schema import SchemaError, Validator
from tests.support.cli import cli_ok
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows
from tests.support.polling import wait_until
from tests.support.server import BIN

# Processing runs every 0.2 s when idle; this only bounds a wait that polls.
DEADLINE = 30.0


def canonical_path(order_ref: str, trkref: str = "TRKREF123") -> str:
    """The canonical order's URL."""
    return f"/v4/organisations/{trkref}/customer_orders/{order_ref}"


def _processed(client: httpx.Client, auth: tuple[str, str], submission_id: str) -> dict[str, Any] | None:
    body = json_body(client.get(f"/v4/organisations/TRKREF123/customer_order/{submission_id}", auth=auth))
    return body if body["state"] == "processed" else None


def _submit_pair(client: httpx.Client, auth: tuple[str, str], ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order sent twice: the second lacks first_name and the language, adds a surname, changes items."""
    first = an_order(order_ref=ref, language="fr", customer={"email": "Old@Example.com", "first_name": "Ann"})
    first.pop("fulfilment_date")
    second = an_order(
        order_ref=ref,
        language=...,
        locale=...,
        customer={"email": "new@example.com", "surname": "Lee"},
        order_items=[{"sku": "ONLY", "price": "1.10"}],
    )
    ids = [accepted_id(post_order(client, auth, order)) for order in (first, second)]
    deadline = time.monotonic() + DEADLINE
    done = [wait_until(lambda i=i: _processed(client, auth, i), deadline=deadline) for i in ids]
    assert all(done), "the server's processor did not process both submissions in time"
    return done[0], done[1]  # type: ignore[return-value]


def test_submissions_merge_into_one_canonical_order_served_by_order_ref(client: httpx.Client, tenants: Tenants) -> None:
    """Two submissions of one order_ref: newest value per field, customer merged field by field, newest items."""
    ref = unique_ref("MERGE")
    first, second = _submit_pair(client, tenants.main.auth, ref)
    answer = client.get(canonical_path(ref), auth=tenants.main.auth)
    body = json_body(answer)
    assert answer.status_code == 200, answer.text
    assert set(body) == {"status", "id", "order_ref", "version", "created_at", "updated_at", "order"}
    assert body["id"] == first["customer_order_id"] == second["customer_order_id"]
    assert (body["status"], body["order_ref"]) == (200, ref)
    assert body["version"] in (1, 2)  # one transaction may have merged both
    assert body["order"] == {
        "trkref": "TRKREF123",
        "order_ref": ref,
        "order_date": "2014-12-10",
        "fulfilment_date": "2014-12-24",  # only the second has it
        "language": "fr",  # only the first has it
        "locale": "en-GB",
        "customer": {"email": "new@example.com", "first_name": "Ann", "surname": "Lee"},
        "order_items": [{"sku": "ONLY", "price": Decimal("1.10")}],
    }


def test_the_canonical_order_checks_access_like_every_endpoint(client: httpx.Client, tenants: Tenants) -> None:
    """401, 404, 400 and 403 as for the submission endpoints."""
    assert client.get(canonical_path("NOPE")).status_code == 401
    assert_answer(client.get(canonical_path(unique_ref("NONE")), auth=tenants.main.auth), 404, NOT_FOUND)
    assert client.get(canonical_path("X", trkref="UNKNOWN-ORG"), auth=tenants.main.auth).status_code == 400
    assert client.get(canonical_path("X"), auth=tenants.no_permission.auth).status_code == 403
    assert client.get(canonical_path("X", trkref="OTHER-ORG"), auth=tenants.main.auth).status_code == 400


def test_another_organisations_order_ref_is_not_found(client: httpx.Client, tenants: Tenants) -> None:
    """An order_ref is scoped to its organisation."""
    ref = unique_ref("ISOLATED")
    _submit_pair(client, tenants.main.auth, ref)
    other = client.get(canonical_path(ref, trkref="OTHER-ORG"), auth=tenants.other.auth)
    assert_answer(other, 404, NOT_FOUND)


def _events(db_url: str, *args: str) -> list[dict[str, Any]]:
    out = cli_ok(db_url, "events", "tail", *args)
    # JSON lines end at "\n" only: a value may hold U+2028 or U+0085, which str.splitlines also splits at.
    return [json.loads(line, parse_float=Decimal) for line in out.split("\n") if line]


def test_without_a_broker_events_stay_in_the_outbox_and_tail_prints_them(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Events are numbered 1.. per order, the last equals the canonical order, and they wait unsent."""
    ref = unique_ref("TAIL")
    _submit_pair(client, tenants.main.auth, ref)
    mine = [e for e in _events(db_url, "--trkref", "TRKREF123") if e["order_ref"] == ref]
    assert [e["version"] for e in mine] == list(range(1, len(mine) + 1))
    assert len({e["event_id"] for e in mine}) == len(mine)
    canonical = json_body(client.get(canonical_path(ref), auth=tenants.main.auth))
    last = mine[-1]
    assert (last["type"], last["trkref"], last["customer_order_id"]) == (
        "customer_order.upserted",
        "TRKREF123",
        canonical["id"],
    )
    assert (last["version"], last["customer_order"]) == (canonical["version"], canonical["order"])
    assert not [e for e in _events(db_url, "--trkref", "OTHER-ORG") if e["order_ref"] == ref]
    unsent = "SELECT count(*) FROM outbox e JOIN outbox_pending p ON p.id = e.id WHERE e.canonical_id = ?"
    cid = canonical["id"] if db_url.startswith("sqlite") else uuid.UUID(canonical["id"])
    assert count_rows(db_url, unsent, cid) == len(mine)


@pytest.mark.timeout(60)
def test_tail_follow_prints_new_events_until_interrupted(client: httpx.Client, tenants: Tenants, db_url: str) -> None:
    """`events tail --follow` prints an event written after it started, and exits 0 on Ctrl-C."""
    with subprocess.Popen(
        [str(BIN), "events", "tail", "--follow", "--trkref", "TRKREF123"],
        env={"DATABASE_URL": db_url, "PATH": ""},
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        try:
            ref = unique_ref("FOLLOW")
            _submit_pair(client, tenants.main.auth, ref)
            assert follower.stdout is not None
            seen = next(event for line in follower.stdout if (event := json.loads(line))["order_ref"] == ref)
            assert seen["trkref"] == "TRKREF123"
        finally:
            follower.send_signal(signal.SIGINT)
            assert follower.wait(20) == 0


def test_every_event_matches_the_published_schema_and_the_docs_hold_it(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Real events validate against `events schema`, which docs/event-schema.json holds verbatim."""
    schema = json.loads(cli_ok(db_url, "events", "schema"))
    documented = json.loads((Path(__file__).parents[2] / "docs" / "event-schema.json").read_text())
    assert documented == schema, "docs/event-schema.json is stale: regenerate it with `order-intake events schema`"
    ref = unique_ref("SCHEMA")
    _submit_pair(client, tenants.main.auth, ref)
    # Only this test's events: other tests plant rows of their own in the shared outbox.
    events = [e for e in _events(db_url, "--trkref", "TRKREF123") if e["order_ref"] == ref]
    assert events
    validator = Validator(schema)
    for event in events:
        validator.validate(event, schema)
    with pytest.raises(SchemaError):
        validator.validate({**events[0], "version": "1"}, schema)
