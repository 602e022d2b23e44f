"""Reviews on the real stores: read with their invitation, upserted per item, refused once the order is gone."""

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import pytest

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.domain.reviews import Review
from order_intake.service.ports import ProcessingStore
from tests.support.inspect_db import change_rows, count_rows, fetch_rows
from tests.support.invitations_db import plant_invitation
from tests.support.opened import run_opened
from tests.support.privacy_db import db_time, db_uuid, plant_canonical_order

T = TypeVar("T")
T0 = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
# How many connections wait for a lock that this one holds.
WAITING_FOR_ME = "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"


def _invitation(url: str, *, state: str = "scheduled") -> uuid.UUID:
    """An invitation of ORG-A and its canonical order, planted directly."""
    ref = f"R-{uuid.uuid4().hex[:8]}"
    email = f"{ref.lower()}@example.com"
    canonical = plant_canonical_order(url, trkref="ORG-A", order_ref=ref, email=email, sent=[])
    found = plant_invitation(
        url, trkref="ORG-A", order_ref=ref, email=email, fulfilment_date=T0.date(), state=state, canonical_id=canonical
    )
    return uuid.UUID(found)


def _on_processing(url: str, scenario: Callable[[ProcessingStore], Awaitable[T]]) -> T:
    return run_opened(backend_for(parse_database_url(url)).processing_store(), scenario)


def _stored(url: str, invitation_id: uuid.UUID) -> dict[str, tuple[int, str]]:
    query = "SELECT sku, rating, text FROM reviews WHERE invitation_id = ?"
    rows = fetch_rows(url, query, db_uuid(url, str(invitation_id)))
    return {sku: (rating, text) for sku, rating, text in rows}


def test_reviews_are_upserted_per_item_and_read_back_with_their_invitation(store_url: str) -> None:
    """A second review of an item replaces it (one row); the subject has the organisation's name and the order."""
    invitation_id = _invitation(store_url)

    async def scenario(store: ProcessingStore) -> object:
        assert await store.save_reviews(invitation_id, [Review("A", 5, "good"), Review("B", 3, "")], T0)
        assert await store.save_reviews(invitation_id, [Review("A", 2, "worse")], T0 + dt.timedelta(hours=1))
        assert await store.review_subject(uuid.uuid4()) is None
        return await store.review_subject(invitation_id)

    subject = _on_processing(store_url, scenario)
    assert subject is not None
    assert (subject.invitation_id, subject.state, subject.organisation_name) == (invitation_id, "scheduled", "Org A")
    assert json.loads(subject.document)["customer"]["first_name"] == "Planted"
    assert sorted(subject.reviews, key=lambda r: r.sku) == [Review("A", 2, "worse"), Review("B", 3, "")]
    assert _stored(store_url, invitation_id) == {"A": (2, "worse"), "B": (3, "")}


def test_saving_calls_off_the_reminder_not_yet_sent(store_url: str) -> None:
    """reminder_at is cleared in the same transaction, unless the reminder went out already."""
    waiting, sent = _invitation(store_url, state="sent"), _invitation(store_url, state="sent")
    later = db_time(store_url, T0 + dt.timedelta(days=7))
    for invitation_id, reminder_sent in ((waiting, None), (sent, db_time(store_url, T0))):
        change_rows(
            store_url,
            "UPDATE invitations SET reminder_at = ?, reminder_sent_at = ? WHERE id = ?",
            later,
            reminder_sent,
            db_uuid(store_url, str(invitation_id)),
        )

    async def scenario(store: ProcessingStore) -> None:
        for invitation_id in (waiting, sent):
            assert await store.save_reviews(invitation_id, [Review("A", 4, "")], T0)

    _on_processing(store_url, scenario)
    reminders = "SELECT count(*) FROM invitations WHERE id = ? AND reminder_at IS NOT NULL"
    assert count_rows(store_url, reminders, db_uuid(store_url, str(waiting))) == 0
    assert count_rows(store_url, reminders, db_uuid(store_url, str(sent))) == 1


@pytest.mark.parametrize("state", ["cancelled", "failed", "skipped", "suppressed"])
def test_an_invitation_no_longer_open_takes_no_review(store_url: str, state: str) -> None:
    """False, and nothing stored."""
    invitation_id = _invitation(store_url, state=state)
    assert not _on_processing(store_url, lambda store: store.save_reviews(invitation_id, [Review("A", 1, "")], T0))
    assert _stored(store_url, invitation_id) == {}


def test_an_invitation_whose_order_is_gone_takes_no_review(store_url: str) -> None:
    """An erased or purged order (the invitation row still there): False, and nothing stored."""
    invitation_id = _invitation(store_url)
    change_rows(
        store_url,
        "DELETE FROM canonical_orders WHERE id = (SELECT canonical_id FROM invitations WHERE id = ?)",
        db_uuid(store_url, str(invitation_id)),
    )
    assert not _on_processing(store_url, lambda store: store.save_reviews(invitation_id, [Review("A", 1, "")], T0))
    assert _stored(store_url, invitation_id) == {}


def test_a_review_sent_while_an_erasure_runs_waits_for_it_and_leaves_nothing_behind(
    store_url: str, backend: str
) -> None:
    """PostgreSQL: an uncommitted deletion of the order holds the review back; once it commits, nothing is stored."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer: an erasure and a review never overlap")
    invitation_id = _invitation(store_url)

    async def scenario(store: ProcessingStore) -> bool:
        erasing = await asyncpg.connect(store_url)
        try:
            erasure = erasing.transaction()
            await erasure.start()
            await erasing.execute(
                "DELETE FROM canonical_orders WHERE id = (SELECT canonical_id FROM invitations WHERE id = $1)",
                invitation_id,
            )
            saving = asyncio.create_task(store.save_reviews(invitation_id, [Review("A", 5, "x")], T0))
            deadline = time.monotonic() + 10
            while await erasing.fetchval(WAITING_FOR_ME) == 0:
                assert time.monotonic() < deadline, "the review did not wait for the erasure"
                assert not saving.done()
                await asyncio.sleep(0.02)
            await erasing.execute("DELETE FROM reviews WHERE invitation_id = $1", invitation_id)
            await erasing.execute("DELETE FROM invitations WHERE id = $1", invitation_id)
            await erasure.commit()
            return await saving
        finally:
            await erasing.close()

    assert _on_processing(store_url, scenario) is False
    assert _stored(store_url, invitation_id) == {}
