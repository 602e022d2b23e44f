"""Background processing by separate workers, one killed midway, with events on the real RabbitMQ."""

import datetime as dt
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.broker import ScratchExchange
from tests.support.cli import Credentials, enabled_tenant
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.inspect_db import OUTCOMES, WAITING, count_rows, fetch_rows
from tests.support.polling import wait_for
from tests.support.server import Server, Worker

ORDER_REFS = 1_000
SUBMISSIONS = 10_000
BATCH = 1_000
# Every wait below has a deadline and polls; none measures speed.
DEADLINE = 180.0


@pytest.fixture
def work_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials]]:
    """A database of its own with one enabled organisation and an unlimited key."""
    with database(backend, tmp_path, "work") as url:
        yield url, enabled_tenant(url, "WORK", "Work Test")


@pytest.fixture
def exchange() -> Iterator[ScratchExchange]:
    """An exchange and queue of this test's own on the real broker."""
    made = ScratchExchange("workers").declare()
    yield made
    made.delete()


def _varied_order(rnd: random.Random, n: int, order_ref: str) -> dict[str, Any]:
    """An order whose optional fields come and go, so that merging has something to decide."""
    customer: dict[str, Any] = {"email": f"c{rnd.randrange(3)}@example.com"}
    for field in ("first_name", "surname", "postcode", "title"):
        if rnd.random() < 0.5:
            customer[field] = f"{field[:2]}{n}"
    order = an_order(trkref="WORK", order_ref=order_ref, customer=customer)
    order["order_items"] = [{"sku": f"S{n}-{i}", "price": f"{rnd.randrange(1, 999)}.{n % 100:02d}"} for i in range(2)]
    # One of the two dates must be present; either may come and go.
    dates = (("order_date", f"{1 + n % 28:02d}-01-2026"), ("fulfilment_date", f"{1 + n % 28:02d}-02-2026"))
    kept = rnd.randrange(2)
    for index, (field, value) in enumerate(dates):
        if index == kept or rnd.random() < 0.5:
            order[field] = value
        else:
            order.pop(field, None)
    for field, value in (("language", "en"), ("locale", "en-GB")):
        if rnd.random() < 0.5:
            order[field] = value
        else:
            order.pop(field, None)
    return order


def _submit_all(server: Server, key: Credentials) -> None:
    """10,000 submissions, each of the 1,000 order_refs ten times, some twice in one batch (same time)."""
    rnd = random.Random(20261127)  # noqa: S311 - test data, not secrets
    refs = [f"R{i % ORDER_REFS:04d}" for i in range(SUBMISSIONS)]
    rnd.shuffle(refs)
    orders = [_varied_order(rnd, n, ref) for n, ref in enumerate(refs)]
    with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=60) as client:
        for start in range(0, SUBMISSIONS, BATCH):
            answer = client.post("/v4/customer_orders", json=orders[start : start + BATCH])
            assert answer.status_code == 202, answer.text[:500]


def _expected_merge(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    """The canonical order of each order_ref, computed here from the stored submissions alone."""
    by_ref: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for submission_id, received_at, normalised, order_ref in rows:
        when = received_at if isinstance(received_at, str) else received_at.isoformat(timespec="microseconds")
        by_ref[order_ref].append((when, str(submission_id), json.loads(normalised, parse_float=Decimal)))
    merged = {}
    for ref, subs in by_ref.items():
        newest_first = [order for _, _, order in sorted(subs, key=lambda s: (s[0], s[1]), reverse=True)]
        out: dict[str, Any] = {"customer": {}}
        for order in reversed(newest_first):  # oldest to newest: a newer value overwrites
            for name, value in order.items():
                if name == "customer":
                    out["customer"].update(value)
                elif name != "order_items":
                    out[name] = value
        out["order_items"] = newest_first[0]["order_items"]
        merged[ref] = out
    return merged


def test_three_workers_one_killed_give_exactly_the_merge_and_every_final_version_is_published(
    work_db: tuple[str, Credentials], exchange: ScratchExchange, tmp_path: Path
) -> None:
    """The issue's check: 10,000 submissions, 1,000 order_refs, 3 workers, one SIGKILLed midway."""
    url, key = work_db
    server = Server(url, tmp_path / "server.log", ORDER_INTAKE_SERVE_WORKER="0").start()
    try:
        _submit_all(server, key)
    finally:
        assert server.stop() == 0
    assert count_rows(url, WAITING) == SUBMISSIONS

    env = {**exchange.env(), "ORDER_INTAKE_PROCESSING_BATCH": "50"}
    workers = [Worker(url, tmp_path / f"worker-{n}.log", **env).start() for n in range(3)]
    processed = "SELECT count(*) FROM submission_outcomes"
    wait_for(
        "a third processed", lambda: count_rows(url, processed) >= SUBMISSIONS // 3, timeout=DEADLINE, interval=0.2
    )
    workers[0].kill()
    survivors_done = count_rows(url, processed)
    assert survivors_done < SUBMISSIONS, "the kill came too late to prove anything"
    wait_for("all processed", lambda: count_rows(url, processed) == SUBMISSIONS, timeout=DEADLINE, interval=0.2)
    wait_for(
        "all sent",
        lambda: count_rows(url, "SELECT count(*) FROM outbox_pending") == 0,
        timeout=DEADLINE,
        interval=0.2,
    )
    for worker in workers[1:]:
        assert worker.stop() == 0, worker.log()

    canonical = {
        ref: (str(cid), version, json.loads(document, parse_float=Decimal))
        for cid, ref, version, document in fetch_rows(
            url, "SELECT id, order_ref, version, document FROM canonical_orders"
        )
    }
    assert len(canonical) == ORDER_REFS
    rows = fetch_rows(url, "SELECT id, received_at, normalised, order_ref FROM submissions")
    if not url.startswith("sqlite"):
        rows = [(i, r.astimezone(dt.UTC).isoformat(timespec="microseconds"), n, ref) for i, r, n, ref in rows]
    expected = _expected_merge(rows)
    for ref, (_, _, document) in canonical.items():
        assert {k: v for k, v in document.items() if k not in ("trkref", "order_ref")} == {
            k: v for k, v in expected[ref].items() if k not in ("trkref", "order_ref")
        }, ref
        assert (document["trkref"], document["order_ref"]) == ("WORK", ref)
    # Every submission points at its order's canonical id.
    links = fetch_rows(url, OUTCOMES)
    assert all(state == "processed" and str(cid) == canonical[ref][0] for ref, state, cid in links)

    # No double processing: each order's versions 1..v were each written exactly once.
    versions = fetch_rows(url, "SELECT canonical_id, version FROM outbox")
    assert len(versions) == len(set(versions)) == sum(version for _, version, _ in canonical.values())

    # At least once: every event written reached the queue; each order's final version among them.
    written = {str(e) for (e,) in fetch_rows(url, "SELECT event_id FROM outbox")}
    delivered = exchange.drain()
    assert written <= {d.message_id for d in delivered}
    final: dict[str, int] = defaultdict(int)
    for d in delivered:
        assert d.routing_key == "customer_order.upserted.WORK"
        assert d.message_id == d.body["event_id"]
        final[d.body["order_ref"]] = max(final[d.body["order_ref"]], d.body["version"])
    assert final == {ref: version for ref, (_, version, _) in canonical.items()}
