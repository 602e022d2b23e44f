"""`order-intake erase`: a customer's data gone from every table of one organisation, nothing else touched."""

import json
import secrets
import time
from typing import Any

import httpx

from tests.e2e.exchanges import NOT_FOUND, assert_answer, json_body, post_order
from tests.e2e.shops import BATCH, DEADLINE, a_shop, canonical, order_of, submission, submit, wait_processed
from tests.support.cli import cli_ok, run_cli
from tests.support.inspect_db import count_rows, fetch_rows
from tests.support.polling import wait_until
from tests.support.privacy_db import columns_holding, db_uuid, plant_canonical_order


def last_audit_row(db_url: str) -> tuple[Any, ...]:
    """(actor, action, target, details) of the latest audit row."""
    row = fetch_rows(db_url, "SELECT actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    details = row[3] if isinstance(row[3], dict) else json.loads(row[3])
    return (row[0], row[1], row[2], details)


def test_erase_leaves_the_email_in_no_column_of_any_table(client: httpx.Client, db_url: str) -> None:
    """Bodies, orders, canonical orders, events, stored answers and Idempotency-Keys: the address is nowhere after."""
    shop, token = a_shop(db_url), secrets.token_hex(6)
    email = f"erase.{token}@Example.com"
    with_typo = {"email": email, f"x_{token}": "an unknown field whose name holds the token"}
    keep = {"email": f"keep.{secrets.token_hex(6)}@example.com", "first_name": "Kept"}
    single = submit(client, shop, order_of(shop, with_typo), idempotency_key="first-try")
    shouted = submit(client, shop, order_of(shop, {"email": email.upper()}), idempotency_key=f"order-{email}")
    kept = submit(client, shop, order_of(shop, keep))
    elements = [
        order_of(shop, with_typo),
        order_of(shop, keep),
        order_of(shop, {"first_name": "No email"}, order_ref=email),  # rejected; its order_ref is the address
    ]
    batch = client.post(BATCH, json=elements, auth=shop.key.auth, headers={"Idempotency-Key": "batch-1"}).json()
    assert batch["status"] == 206, batch
    in_batch, kept_in_batch, _ = batch["ids"]
    planted = plant_canonical_order(db_url, trkref=shop.trkref, order_ref="PLANTED-1", email=email, sent=[True, False])
    kept_plant = plant_canonical_order(
        db_url, trkref=shop.trkref, order_ref="PLANTED-2", email=keep["email"], sent=[True]
    )
    wait_processed(client, shop, [single, shouted, kept, in_batch, kept_in_batch])
    assert set(columns_holding(db_url, token)) >= {
        "submissions.body",
        "submissions.normalised",
        "canonical_orders.document",
        "outbox.payload",
        "batches.answer",
        "idempotency_keys.key",
        "idempotency_keys.response",
    }

    out = cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", f"  ERASE.{token.upper()}@example.COM ")

    assert out == (
        f"erased at {shop.trkref}: 3 submissions, 4 canonical orders, 5 events deleted; 3 stored answers scrubbed, "
        "1 idempotency records removed, 0 other submissions requeued; 3 invitations and 0 reviews deleted, "
        "0 suppressions kept as a hash only\n"
    )
    assert columns_holding(db_url, token) == []
    for gone in (single, shouted, in_batch):
        assert_answer(submission(client, shop, gone), 404, NOT_FOUND)
    for still in (kept, kept_in_batch):
        assert json_body(submission(client, shop, still))["order"]["customer"]["first_name"] == "Kept"
    stored_batch = json_body(client.get(f"{BATCH}/{batch['id']}", auth=shop.key.auth))
    assert (stored_batch["ids"], "warnings" in stored_batch) == (batch["ids"], False)
    assert [e["order_ref"] for e in stored_batch["errors"]] == [None]
    assert count_rows(db_url, "SELECT count(*) FROM canonical_orders WHERE id = ?", db_uuid(db_url, planted)) == 0
    assert count_rows(db_url, "SELECT count(*) FROM outbox WHERE canonical_id = ?", db_uuid(db_url, kept_plant)) == 1
    assert last_audit_row(db_url)[1:] == (
        "data.erase",
        shop.trkref,
        {
            "submissions": 3,
            "canonical_orders": 4,
            "outbox_events": 5,
            "answers_scrubbed": 3,
            "idempotency_records_removed": 1,
            "submissions_requeued": 0,
            "invitations": 3,
            "reviews": 0,
            "suppressions_kept_as_hash": 0,
        },
    )


def test_an_address_hidden_behind_a_second_customer_is_never_stored_so_erasure_leaves_no_byte_of_it(
    client: httpx.Client, db_url: str
) -> None:
    """`customer` twice, the first one's address shadowed: 400 alone and in a batch; after erase, no column holds it."""
    shop, token = a_shop(db_url), secrets.token_hex(6)
    hidden, shown = f"hidden.{token}@example.com", f"shown.{secrets.token_hex(6)}@example.com"
    order = json.dumps(order_of(shop, {"email": shown})).encode()
    shadowing = b'{"customer": {"email": "' + hidden.encode() + b'"}, ' + order.removeprefix(b"{")
    malformed = {"status": 400, "message": "Malformed JSON"}
    assert_answer(post_order(client, shop.key.auth, trkref=shop.trkref, content=shadowing), 400, malformed)
    assert_answer(client.post(BATCH, content=b"[" + shadowing + b"]", auth=shop.key.auth), 400, malformed)
    wait_processed(client, shop, [submit(client, shop, order_of(shop, {"email": hidden}))])

    out = cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", hidden)

    assert out.startswith(f"erased at {shop.trkref}: 1 submissions, 1 canonical orders"), out
    assert columns_holding(db_url, token) == []


def test_a_replay_after_erasure_answers_the_first_202_without_its_warnings(client: httpx.Client, db_url: str) -> None:
    """The Idempotency-Key still protects the retry (nothing stored again); the warnings naming fields are gone."""
    shop, email = a_shop(db_url), f"replay.{secrets.token_hex(6)}@example.com"
    order = order_of(shop, {"email": email, "nick_name": "unknown field"})
    first = post_order(client, shop.key.auth, order, trkref=shop.trkref, headers={"Idempotency-Key": "k-1"})
    assert first.json()["warnings"] == ["unknown field customer.nick_name"]
    cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", email)
    again = post_order(client, shop.key.auth, order, trkref=shop.trkref, headers={"Idempotency-Key": "k-1"})
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (202, "true")
    assert json_body(again) == {"status": 202, "id": first.json()["id"], "message": "Customer order accepted"}
    assert (
        count_rows(
            db_url,
            "SELECT count(*) FROM submissions WHERE organisation_id = (SELECT id FROM organisations WHERE trkref = ?)",
            shop.trkref,
        )
        == 0
    )


def test_erase_at_one_organisation_leaves_the_same_email_at_another(client: httpx.Client, db_url: str) -> None:
    """Erasure is per organisation: another retailer's order by the same address stays, processed and shown."""
    here, there = a_shop(db_url), a_shop(db_url)
    email = f"twice.{secrets.token_hex(6)}@example.com"
    gone = submit(client, here, order_of(here, {"email": email}, order_ref="SAME-REF"))
    stays = submit(client, there, order_of(there, {"email": email}, order_ref="SAME-REF"))
    wait_processed(client, there, [stays])
    wait_processed(client, here, [gone])

    assert "erased at" in cli_ok(db_url, "erase", "--trkref", here.trkref, "--email", email)

    assert_answer(submission(client, here, gone), 404, NOT_FOUND)
    assert_answer(canonical(client, here, "SAME-REF"), 404, NOT_FOUND)
    assert json_body(submission(client, there, stays))["order"]["customer"]["email"] == email
    assert json_body(canonical(client, there, "SAME-REF"))["order"]["customer"]["email"] == email


def test_an_order_another_customer_also_sent_is_rebuilt_without_the_erased_fields(
    client: httpx.Client, db_url: str
) -> None:
    """The canonical order kept the erased customer's first name; after erasure it is merged again from the rest."""
    shop, token = a_shop(db_url), secrets.token_hex(6)
    erased, other = f"first.{token}@example.com", f"second.{secrets.token_hex(6)}@example.com"
    wait_processed(client, shop, [submit(client, shop, order_of(shop, {"email": erased, "first_name": token}, "R-1"))])
    second = submit(client, shop, order_of(shop, {"email": other, "surname": "Lee"}, "R-1"))
    wait_processed(client, shop, [second])
    assert json_body(canonical(client, shop, "R-1"))["order"]["customer"] == {
        "email": other,
        "first_name": token,
        "surname": "Lee",
    }

    out = cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", erased)

    assert "1 submissions, 1 canonical orders" in out
    assert "1 other submissions requeued;" in out
    rebuilt = wait_until(
        lambda: json_body(r) if (r := canonical(client, shop, "R-1")).status_code == 200 else None,
        deadline=time.monotonic() + DEADLINE,
    )
    assert rebuilt is not None, "the order was not rebuilt in time"
    assert rebuilt["order"]["customer"] == {"email": other, "surname": "Lee"}
    assert columns_holding(db_url, token) == []


def test_an_address_with_accents_is_matched_whatever_the_case(client: httpx.Client, db_url: str) -> None:
    """The address is compared as the validator stores it, lower-cased beyond ASCII: `JÜRGEN@BÜCHER.DE` finds it."""
    shop, token = a_shop(db_url), secrets.token_hex(6)
    accented = submit(client, shop, order_of(shop, {"email": f"Jürgen.{token}@Bücher.de"}))
    plain = submit(client, shop, order_of(shop, {"email": f"jurgen.{token}@bucher.de"}))

    out = cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", f"JÜRGEN.{token.upper()}@BÜCHER.DE")

    assert out.startswith(f"erased at {shop.trkref}: 1 submissions,")
    assert_answer(submission(client, shop, accented), 404, NOT_FOUND)
    assert submission(client, shop, plain).status_code == 200


def test_erase_refuses_an_unknown_trkref_or_a_blank_email_and_writes_no_audit_row(db_url: str) -> None:
    """One line on stderr, exit 1, and the audit log unchanged."""
    before = count_rows(db_url, "SELECT count(*) FROM audit_log")
    for args, says in (
        (("--trkref", "NO-SUCH-SHOP", "--email", "a@example.com"), "unknown trkref 'NO-SUCH-SHOP'"),
        (("--trkref", "bad trkref", "--email", "a@example.com"), "unknown trkref 'bad trkref'"),
        (("--trkref", "TRKREF123", "--email", "   "), "--email must be an address"),
        (("--trkref", "TRKREF123", "--email", "a\0@example.com"), "--email must be an address"),
    ):
        result = run_cli(db_url, "erase", *args)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == f"order-intake: {says}\n"
    assert count_rows(db_url, "SELECT count(*) FROM audit_log") == before
