"""`order-intake suppress add|remove|list`: a retailer's suppressions (not the customer's own); re-planning."""

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import cli_ok, run_cli
from tests.support.databases import database
from tests.support.inspect_db import count_rows
from tests.support.invitations_db import invitations_of, plant_invitation, plant_suppression
from tests.support.privacy_db import columns_holding


@pytest.fixture
def shop(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of the backend under test with the organisations SHOP and OTHER."""
    with database(backend, tmp_path, "suppress") as url:
        cli_ok(url, "org", "add", "SHOP", "--name", "Shop")
        cli_ok(url, "org", "add", "OTHER", "--name", "Other")
        yield url


def _listed(url: str, trkref: str = "SHOP") -> list[dict[str, object]]:
    return [json.loads(line) for line in cli_ok(url, "suppress", "list", "--trkref", trkref, "--json").splitlines()]


def test_add_stores_the_address_as_the_validator_would_and_list_shows_it(shop: str) -> None:
    """The domain is lower-cased and spaces trimmed; the reason is suppressed_by_retailer; only that organisation's."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    added = cli_ok(shop, "suppress", "add", "--trkref", "SHOP", " Ann@EXAMPLE.com ")
    assert added == "suppressed at SHOP: Ann@example.com (suppressed_by_retailer); 0 invitations re-planned\n"
    [line] = cli_ok(shop, "suppress", "list", "--trkref", "SHOP").splitlines()
    email, reason, created_at = line.split("\t")
    assert (email, reason) == ("Ann@example.com", "suppressed_by_retailer")
    assert dt.datetime.fromisoformat(created_at) >= before
    [shown] = _listed(shop)
    assert (shown["email"], shown["reason"]) == ("Ann@example.com", "suppressed_by_retailer")
    assert str(shown["created_at"]).endswith(("Z", "+00:00"))
    assert _listed(shop, "OTHER") == []


def test_adding_twice_keeps_one_suppression_and_removing_twice_is_harmless(shop: str) -> None:
    """Adding and removing are idempotent: the second says so and changes nothing."""
    cli_ok(shop, "suppress", "add", "--trkref", "SHOP", "ann@example.com")
    assert cli_ok(shop, "suppress", "add", "--trkref", "SHOP", "ann@example.com").startswith(
        "already suppressed at SHOP"
    )
    assert len(_listed(shop)) == 1
    assert cli_ok(shop, "suppress", "remove", "--trkref", "SHOP", "ann@example.com").startswith(
        "removed the suppression at SHOP: ann@example.com"
    )
    assert _listed(shop) == []
    assert cli_ok(shop, "suppress", "remove", "--trkref", "SHOP", "ann@example.com").startswith(
        "no suppression at SHOP"
    )


@pytest.mark.parametrize("reason", ["unsubscribed", "bounced"])
def test_the_customers_own_suppression_cannot_be_removed_nor_replaced(shop: str, reason: str) -> None:
    """remove: one line `suppressed by the customer`, exit 1, the row kept; add leaves its reason as it is."""
    plant_suppression(shop, trkref="SHOP", email="ann@example.com", reason=reason)
    result = run_cli(shop, "suppress", "remove", "--trkref", "SHOP", "ann@example.com")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"order-intake: suppressed by the customer ({reason}): only a retailer's suppression can be removed\n"
    )
    assert cli_ok(shop, "suppress", "add", "--trkref", "SHOP", "ann@example.com").startswith(
        f"already suppressed at SHOP: ann@example.com ({reason})"
    )
    assert [s["reason"] for s in _listed(shop)] == [reason]


def test_an_invalid_address_or_an_unknown_trkref_fails_with_one_line(shop: str) -> None:
    """Exit 1 and one line on stderr; nothing stored, nothing audited."""
    for args, message in (
        (("add", "--trkref", "SHOP", "not-an-address"), "order-intake: invalid email 'not-an-address'\n"),
        (("remove", "--trkref", "SHOP", "a@b@c"), "order-intake: invalid email 'a@b@c'\n"),
        (("add", "--trkref", "NOPE", "ann@example.com"), "order-intake: unknown trkref 'NOPE'\n"),
        (("list", "--trkref", "NOPE"), "order-intake: unknown trkref 'NOPE'\n"),
    ):
        result = run_cli(shop, "suppress", *args)
        assert (result.exit_code, result.stderr) == (1, message)
    assert count_rows(shop, "SELECT count(*) FROM suppressions") == 0
    assert count_rows(shop, "SELECT count(*) FROM audit_log WHERE action LIKE 'suppress.%'") == 0


def test_changes_are_audited_without_the_address(shop: str) -> None:
    """suppress.add and suppress.remove name the trkref and a short keyed hash; listing writes no row."""
    cli_ok(shop, "suppress", "add", "--trkref", "SHOP", "ann@example.com")
    cli_ok(shop, "suppress", "list", "--trkref", "SHOP")
    cli_ok(shop, "suppress", "remove", "--trkref", "SHOP", "ann@example.com")
    rows = [json.loads(line) for line in cli_ok(shop, "audit", "list", "--json").splitlines()][2:]
    assert [(r["action"], r["target"]) for r in rows] == [("suppress.add", "SHOP"), ("suppress.remove", "SHOP")]
    for row in rows:
        assert set(row["details"]) == {"email_hash", "changed", "invitations_replanned"}
        assert re.fullmatch("[0-9a-f]{12}", row["details"]["email_hash"])
    assert rows[0]["details"]["email_hash"] == rows[1]["details"]["email_hash"]
    assert columns_holding(shop, "ann@example.com") == []  # the suppression itself is gone


def test_a_suppression_re_plans_that_address_and_lifting_it_plans_again(shop: str) -> None:
    """Add: the scheduled invitation is suppressed; remove: scheduled again; sent ones and other addresses stay."""
    today = dt.datetime.now(dt.UTC).date()
    plant_invitation(shop, trkref="SHOP", order_ref="A1", email="ann@example.com", fulfilment_date=today)
    sent_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=40)
    old = today - dt.timedelta(days=60)
    plant_invitation(
        shop, trkref="SHOP", order_ref="A0", email="ann@example.com", fulfilment_date=old, state="sent", sent_at=sent_at
    )
    plant_invitation(shop, trkref="SHOP", order_ref="B1", email="bob@example.com", fulfilment_date=today)
    plant_invitation(shop, trkref="OTHER", order_ref="A1", email="ann@example.com", fulfilment_date=today)
    untouched = {"A0": invitations_of(shop, "SHOP")["A0"], "B1": invitations_of(shop, "SHOP")["B1"]}
    elsewhere = invitations_of(shop, "OTHER")

    assert "1 invitations re-planned" in cli_ok(shop, "suppress", "add", "--trkref", "SHOP", "ann@example.com")
    suppressed = invitations_of(shop, "SHOP")
    assert (suppressed["A1"].state, suppressed["A1"].reason, suppressed["A1"].send_at) == (
        "suppressed",
        "suppressed_by_retailer",
        None,
    )
    assert suppressed["A1"].explanation[-1] == "the address is suppressed (suppressed_by_retailer): not sent"

    cli_ok(shop, "suppress", "remove", "--trkref", "SHOP", "ann@example.com")
    lifted = invitations_of(shop, "SHOP")
    assert (lifted["A1"].state, lifted["A1"].reason) == ("scheduled", None)
    assert lifted["A1"].send_at is not None
    assert lifted["A1"].send_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=13)
    assert "not suppressed" in lifted["A1"].explanation
    assert {ref: lifted[ref] for ref in untouched} == untouched
    assert invitations_of(shop, "OTHER") == elsewhere
