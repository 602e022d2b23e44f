"""`order-intake purge --older-than DAYS`: what was received before the cutoff goes, and only that."""

import datetime as dt
import json
import secrets
from typing import Any

import httpx
import sqlalchemy as sa

from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql.admin import run_repeatedly
from order_intake.adapters.sql.retention import Purged, Sweep, purge_chunk
from tests.e2e.exchanges import NOT_FOUND, assert_answer
from tests.e2e.shops import BATCH, Shop, a_shop, canonical, order_of, submission, submit, wait_processed
from tests.support.cli import cli_ok, run_cli
from tests.support.inspect_db import change_rows, count_rows, fetch_rows
from tests.support.invitations_db import plant_invitation
from tests.support.privacy_db import backdate, plant_canonical_order

OLD = 40  # days ago, past the 30-day retention the tests purge with


def age_submission(db_url: str, submission_id: str) -> None:
    """Received OLD days ago, with its Idempotency-Key record."""
    backdate(db_url, OLD, "UPDATE submissions SET received_at = ? WHERE CAST(id AS TEXT) = ?", submission_id)
    backdate(
        db_url,
        OLD,
        "UPDATE idempotency_keys SET created_at = ? WHERE api_key_id = "
        "(SELECT api_key_id FROM submissions WHERE CAST(id AS TEXT) = ?) AND key = "
        "(SELECT idempotency_key FROM submissions WHERE CAST(id AS TEXT) = ?)",
        submission_id,
        submission_id,
    )


def age_batch(db_url: str, batch_id: str, idempotency_key: str, days: float = OLD) -> None:
    """A batch, its submissions and its Idempotency-Key record, all received `days` ago."""
    backdate(db_url, days, "UPDATE batches SET received_at = ? WHERE CAST(id AS TEXT) = ?", batch_id)
    backdate(db_url, days, "UPDATE submissions SET received_at = ? WHERE CAST(batch_id AS TEXT) = ?", batch_id)
    backdate(db_url, days, "UPDATE idempotency_keys SET created_at = ? WHERE key = ?", idempotency_key)


_AGE_ORDER = (
    "UPDATE canonical_orders SET updated_at = ?"
    " WHERE organisation_id = (SELECT id FROM organisations WHERE trkref = ?) AND order_ref = ?"
)
_OF_ORDER = (
    " WHERE canonical_id IN (SELECT id FROM canonical_orders"
    " WHERE organisation_id = (SELECT id FROM organisations WHERE trkref = ?) AND order_ref = ?)"
)
_AGE_EVENTS = "UPDATE outbox SET created_at = ?" + _OF_ORDER  # noqa: S608 - constants
_SEND_EVENTS = "DELETE FROM outbox_pending WHERE id IN (SELECT id FROM outbox" + _OF_ORDER + ")"  # noqa: S608 - constants


def age_order(db_url: str, shop: Shop, order_ref: str) -> None:
    """A canonical order last changed OLD days ago, each of its events made then and sent."""
    backdate(db_url, OLD, _AGE_ORDER, shop.trkref, order_ref)
    backdate(db_url, OLD, _AGE_EVENTS, shop.trkref, order_ref)
    change_rows(db_url, _SEND_EVENTS, shop.trkref, order_ref)


def a_batch(client: httpx.Client, shop: Shop, refs: list[str], idempotency_key: str) -> dict[str, Any]:
    """POST a batch of orders with these order_refs; its answer."""
    orders = [order_of(shop, {"email": f"{ref.lower()}@example.com"}, ref) for ref in refs]
    answer = client.post(BATCH, json=orders, auth=shop.key.auth, headers={"Idempotency-Key": idempotency_key})
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def test_purge_deletes_only_what_was_received_before_the_cutoff(client: httpx.Client, db_url: str) -> None:
    """Old submissions, their batch, idempotency records and finished orders go; recent ones and pending events stay."""
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    old_single = submit(client, shop, order_of(shop, {"email": "old@example.com"}, f"OLD-{tag}"), f"old-{tag}")
    batch = a_batch(client, shop, [f"B1-{tag}", f"B2-{tag}"], f"batch-{tag}")
    shared_old = submit(client, shop, order_of(shop, {"email": "s@example.com"}, f"SHARED-{tag}"))
    shared_new = submit(client, shop, order_of(shop, {"email": "s@example.com"}, f"SHARED-{tag}"))
    recent = submit(client, shop, order_of(shop, {"email": "new@example.com"}, f"NEW-{tag}"), f"new-{tag}")
    batch_ids = [str(i) for i in batch["ids"]]
    wait_processed(client, shop, [old_single, *batch_ids, shared_old, shared_new, recent])
    for submission_id in (old_single, shared_old):
        age_submission(db_url, submission_id)
    age_batch(db_url, str(batch["id"]), f"batch-{tag}")
    for ref in (f"OLD-{tag}", f"B1-{tag}", f"B2-{tag}"):
        age_order(db_url, shop, ref)
    plant_canonical_order(db_url, trkref=shop.trkref, order_ref=f"UNSENT-{tag}", email="u@example.com", sent=[False])
    backdate(db_url, OLD, "UPDATE canonical_orders SET updated_at = ? WHERE order_ref = ?", f"UNSENT-{tag}")

    out = cli_ok(db_url, "purge", "--older-than", "30")

    assert out.startswith("purged before ")
    assert out.endswith(
        ": 4 submissions, 1 batches, 2 idempotency records, 3 canonical orders, 3 events, 3 invitations\n"
    )
    for gone in (old_single, *batch_ids, shared_old):
        assert_answer(submission(client, shop, gone), 404, NOT_FOUND)
    for kept in (shared_new, recent):
        assert submission(client, shop, kept).status_code == 200
    assert_answer(client.get(f"{BATCH}/{batch['id']}", auth=shop.key.auth), 404, NOT_FOUND)
    for ref in (f"OLD-{tag}", f"B1-{tag}", f"B2-{tag}"):
        assert_answer(canonical(client, shop, ref), 404, NOT_FOUND)
    for ref in (f"SHARED-{tag}", f"NEW-{tag}"):
        assert canonical(client, shop, ref).status_code == 200
    for ref, invitations in ((f"OLD-{tag}", 0), (f"B1-{tag}", 0), (f"SHARED-{tag}", 1), (f"NEW-{tag}", 1)):
        assert count_rows(db_url, "SELECT count(*) FROM invitations WHERE order_ref = ?", ref) == invitations
    assert count_rows(db_url, "SELECT count(*) FROM canonical_orders WHERE order_ref = ?", f"UNSENT-{tag}") == 1
    assert count_rows(db_url, "SELECT count(*) FROM idempotency_keys WHERE key = ?", f"new-{tag}") == 1
    actor, action, target, details = fetch_rows(
        db_url, "SELECT actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT 1"
    )[0]
    assert (action, target.startswith("received before ")) == ("data.purge", True)
    assert (json.loads(details) if isinstance(details, str) else details) == {
        "older_than_days": 30,
        "submissions": 4,
        "batches": 1,
        "idempotency_records": 2,
        "canonical_orders": 3,
        "outbox_events": 3,
        "invitations": 3,
    }
    assert actor


def test_without_a_broker_old_events_never_sent_do_not_keep_their_order(client: httpx.Client, db_url: str) -> None:
    """Nothing relays events without BROKER_URL (the default): an old order goes with its old unsent events."""
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    ref = f"QUIET-{tag}"
    old = submit(client, shop, order_of(shop, {"email": "quiet@example.com"}, ref))
    wait_processed(client, shop, [old])
    age_submission(db_url, old)
    backdate(db_url, OLD, _AGE_ORDER, shop.trkref, ref)
    backdate(db_url, OLD, _AGE_EVENTS, shop.trkref, ref)
    [(order_id,)] = fetch_rows(db_url, "SELECT CAST(id AS TEXT) FROM canonical_orders WHERE order_ref = ?", ref)
    events = "SELECT count(*) FROM outbox WHERE CAST(canonical_id AS TEXT) = ?"
    unsent = "SELECT count(*) FROM outbox e JOIN outbox_pending p ON p.id = e.id WHERE CAST(e.canonical_id AS TEXT) = ?"
    assert count_rows(db_url, unsent, order_id) == 1

    out = cli_ok(db_url, "purge", "--older-than", "30")

    assert out.endswith(
        ": 1 submissions, 0 batches, 0 idempotency records, 1 canonical orders, 1 events, 1 invitations\n"
    )
    assert_answer(canonical(client, shop, ref), 404, NOT_FOUND)
    assert count_rows(db_url, events, order_id) == 0


_INVITATION_OF = "SELECT CAST(id AS TEXT) FROM invitations WHERE order_ref = ?"


def test_an_order_purged_and_sent_again_is_processed_and_invited_afresh(client: httpx.Client, db_url: str) -> None:
    """Purge takes an order's invitation with it: the same order_ref sent again is a first version, invited anew.

    Processing looks up no invitation for an order it makes; one that outlived its order would collide
    with the new one and stop processing at this submission.
    """
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    ref = f"AGAIN-{tag}"
    first = submit(client, shop, order_of(shop, {"email": "again@example.com"}, ref))
    wait_processed(client, shop, [first])
    [(invitation_before,)] = fetch_rows(db_url, _INVITATION_OF, ref)
    age_submission(db_url, first)
    age_order(db_url, shop, ref)
    cli_ok(db_url, "purge", "--older-than", "30")
    assert fetch_rows(db_url, _INVITATION_OF, ref) == []

    again = submit(client, shop, order_of(shop, {"email": "again@example.com"}, ref))
    wait_processed(client, shop, [again])

    order = canonical(client, shop, ref)
    assert (order.status_code, order.json()["version"]) == (200, 1)
    invited = client.get(f"/v4/organisations/{shop.trkref}/customer_orders/{ref}/invitation", auth=shop.key.auth)
    assert invited.status_code == 200, invited.text
    [(invitation_after,)] = fetch_rows(db_url, _INVITATION_OF, ref)
    assert invitation_after != invitation_before


def test_an_invitation_that_outlived_its_order_does_not_stop_processing(client: httpx.Client, db_url: str) -> None:
    """An invitation whose order was deleted by hand: the order sent again is processed and takes its row over."""
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    ref = f"ORPHAN-{tag}"
    plant_invitation(
        db_url,
        trkref=shop.trkref,
        order_ref=ref,
        email="left@example.com",
        fulfilment_date=dt.datetime.now(dt.UTC).date(),
    )

    wait_processed(client, shop, [submit(client, shop, order_of(shop, {"email": "back@example.com"}, ref))])

    [(order_id,)] = fetch_rows(db_url, "SELECT CAST(id AS TEXT) FROM canonical_orders WHERE order_ref = ?", ref)
    rows = fetch_rows(db_url, "SELECT CAST(canonical_id AS TEXT), email FROM invitations WHERE order_ref = ?", ref)
    assert rows == [(order_id, "back@example.com")]


def test_purge_works_in_bounded_chunks_each_its_own_transaction(client: httpx.Client, db_url: str) -> None:
    """With chunks of 2, five old submissions take three transactions, their batch a fourth, and a fifth finds none."""
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    batch = a_batch(client, shop, [f"C{n}-{tag}" for n in range(5)], f"chunks-{tag}")
    wait_processed(client, shop, [str(i) for i in batch["ids"]])
    age_batch(db_url, str(batch["id"]), f"chunks-{tag}")
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    chunks: list[Purged] = []

    def one(conn: sa.Connection) -> Purged:
        done = purge_chunk(conn, cutoff=cutoff, idempotency_before=cutoff, limit=2)
        chunks.append(done)
        return done

    run_repeatedly(parse_database_url(db_url), one, again=bool)

    assert [c.submissions for c in chunks] == [2, 2, 1, 0, 0]
    assert [c.batches for c in chunks] == [0, 0, 0, 1, 0]  # once no old submission is left
    assert all(max(c.canonical_orders, c.outbox_events, c.idempotency_records) <= 2 for c in chunks)
    assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref LIKE ?", f"C_-{tag}") == 0


def old_processed_orders(client: httpx.Client, db_url: str, shop: Shop, refs: list[str]) -> None:
    """A batch of orders with these order_refs, processed, then its submissions and orders made OLD days old."""
    key = f"old-{secrets.token_hex(4)}"
    batch = a_batch(client, shop, refs, key)
    wait_processed(client, shop, [str(i) for i in batch["ids"]])
    age_batch(db_url, str(batch["id"]), key)
    for ref in refs:
        age_order(db_url, shop, ref)


def purge_with(db_url: str, sweep: Sweep) -> None:
    """One purge with a 30-day cutoff, in chunks of 2, all passing `sweep`."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)

    def one(conn: sa.Connection) -> Purged:
        return purge_chunk(conn, cutoff=cutoff, idempotency_before=cutoff, limit=2, sweep=sweep)

    run_repeatedly(parse_database_url(db_url), one, again=bool)


def test_one_purge_in_small_chunks_finds_every_old_row_once_and_keeps_the_rest(
    client: httpx.Client, db_url: str
) -> None:
    """One sweep across chunks of 2: each search goes on where the last stopped, and nothing old is missed.

    Seven old orders, one also sent again today (kept), and an old order with no submission at all,
    which only the last search over every order finds.
    """
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    refs = [f"S{n}-{tag}" for n in range(7)]
    old_processed_orders(client, db_url, shop, refs)
    wait_processed(client, shop, [submit(client, shop, order_of(shop, {"email": "again@example.com"}, refs[3]))])
    plant_canonical_order(db_url, trkref=shop.trkref, order_ref=f"S9-{tag}", email="p@example.com", sent=[True])
    age_order(db_url, shop, f"S9-{tag}")

    purge_with(db_url, Sweep())

    pattern = f"S_-{tag}"
    assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref LIKE ?", pattern) == 1
    assert fetch_rows(db_url, "SELECT order_ref FROM canonical_orders WHERE order_ref LIKE ?", pattern) == [(refs[3],)]
    events = "SELECT count(*) FROM outbox e JOIN canonical_orders c ON c.id = e.canonical_id WHERE c.order_ref = ?"
    assert count_rows(db_url, events, refs[3]) >= 1
    assert count_rows(db_url, "SELECT count(*) FROM invitations WHERE order_ref LIKE ?", pattern) == 1


def test_a_sweep_whose_position_is_past_the_old_rows_starts_again_and_finds_them(
    client: httpx.Client, db_url: str
) -> None:
    """Rows behind a search's position (moved by VACUUM FULL, say) are found: nothing past it, so from the start."""
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    old_processed_orders(client, db_url, shop, [f"B{n}-{tag}" for n in range(3)])
    sweep = Sweep()
    sweep.positions = dict.fromkeys(("submissions", "canonical_orders", "outbox"), 10**6)

    purge_with(db_url, sweep)

    pattern = f"B_-{tag}"
    assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref LIKE ?", pattern) == 0
    assert count_rows(db_url, "SELECT count(*) FROM canonical_orders WHERE order_ref LIKE ?", pattern) == 0


def test_a_batch_stored_after_the_search_for_old_submissions_ended_stays_while_its_submissions_do(
    client: httpx.Client, db_url: str
) -> None:
    """A cutoff near the purge's start (`--older-than 0`) can meet a batch committed after that search ended.

    Its submissions, committed with it, were never searched: the batch is checked, and stays until they go.
    """
    shop, tag = a_shop(db_url), secrets.token_hex(4).upper()
    sweep = Sweep()
    sweep.started = dt.datetime.now(dt.UTC) - dt.timedelta(days=30) + dt.timedelta(minutes=30)  # just after the cutoff
    purge_with(db_url, sweep)  # the searches of this purge end
    del sweep.positions["batches"]  # but the one for batches has yet to (as in the chunks after the submissions')
    batch = a_batch(client, shop, [f"LATE-{tag}"], f"late-{tag}")
    wait_processed(client, shop, [str(i) for i in batch["ids"]])
    age_batch(db_url, str(batch["id"]), f"late-{tag}", days=30 + 10 / (24 * 60))  # 10 minutes before the cutoff
    stored = "SELECT count(*) FROM batches WHERE CAST(id AS TEXT) = ?"

    purge_with(db_url, sweep)  # the same purge goes on: its search for old submissions has ended
    kept = count_rows(db_url, stored, batch["id"])
    purge_with(db_url, Sweep())  # a purge of its own finds the submission, then the batch

    assert kept == 1
    assert count_rows(db_url, stored, batch["id"]) == 0
    assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref = ?", f"LATE-{tag}") == 0


def test_purge_refuses_a_negative_or_absurd_age_and_deletes_nothing(db_url: str) -> None:
    """DAYS is 0 to 36,500; anything else is a usage error before the database is touched."""
    before = count_rows(db_url, "SELECT count(*) FROM audit_log")
    for days in ("-1", "36501", "ten"):
        result = run_cli(db_url, "purge", "--older-than", days)
        assert result.exit_code == 2
        assert "--older-than" in result.stderr
    assert count_rows(db_url, "SELECT count(*) FROM audit_log") == before


def test_purge_takes_an_orders_invitation_and_events_not_those_of_the_same_order_ref_elsewhere(
    client: httpx.Client, db_url: str
) -> None:
    """Two retailers use the same order_ref: purging one's old order leaves the other's invitation and events."""
    old_shop, other_shop, tag = a_shop(db_url), a_shop(db_url), secrets.token_hex(4).upper()
    ref = f"BOTH-{tag}"
    old = submit(client, old_shop, order_of(old_shop, {"email": "one@example.com"}, ref))
    kept = submit(client, other_shop, order_of(other_shop, {"email": "two@example.com"}, ref))
    wait_processed(client, old_shop, [old])
    wait_processed(client, other_shop, [kept])
    age_submission(db_url, old)
    age_order(db_url, old_shop, ref)

    out = cli_ok(db_url, "purge", "--older-than", "30")

    purged = ": 1 submissions, 0 batches, 0 idempotency records, 1 canonical orders, 1 events, 1 invitations\n"
    assert out.endswith(purged)
    invited = "SELECT o.trkref, i.email FROM invitations i JOIN organisations o ON o.id = i.organisation_id"
    assert fetch_rows(db_url, f"{invited} WHERE i.order_ref = ?", ref) == [(other_shop.trkref, "two@example.com")]
    events = "SELECT count(*) FROM outbox e JOIN canonical_orders c ON c.id = e.canonical_id WHERE c.order_ref = ?"
    assert count_rows(db_url, events, ref) == 1
    assert_answer(canonical(client, old_shop, ref), 404, NOT_FOUND)
    assert canonical(client, other_shop, ref).status_code == 200
