"""`order-intake org policy`: an invitation policy shown, changed and checked; unsent invitations re-planned."""

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from order_intake.entrypoints.cli import main
from tests.support.cli import cli_ok, run_cli
from tests.support.databases import database
from tests.support.inspect_db import count_rows, fetch_rows
from tests.support.invitations_db import invitations_of, plant_invitation

DEFAULTS = {
    "basis": "fulfilment",
    "delay_days": 14,
    "max_age_days": 180,
    "cooldown_days": 30,
    "window": "09:00-20:00",
    "timezone": "Europe/London",
    "reminder_days": 0,
    "from": "reviews@localhost",
}


@pytest.fixture
def shop(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of the backend under test with the organisation SHOP."""
    with database(backend, tmp_path, "policy") as url:
        cli_ok(url, "org", "add", "SHOP", "--name", "Shop")
        yield url


def _policy(url: str) -> dict[str, object]:
    printed = cli_ok(url, "org", "policy", "SHOP", "--json")
    assert printed.count("\n") == 1
    return dict(json.loads(printed))


def test_a_new_organisation_has_the_contracts_default_policy(shop: str) -> None:
    """No option prints the whole policy: one `name: value` line per setting, or exactly its keys in JSON."""
    assert cli_ok(shop, "org", "policy", "SHOP").splitlines() == [f"{k}: {v}" for k, v in DEFAULTS.items()]
    assert _policy(shop) == DEFAULTS
    assert count_rows(shop, "SELECT count(*) FROM audit_log WHERE action = 'org.policy'") == 0


def test_the_default_sender_comes_from_order_intake_mail_from(shop: str) -> None:
    """An organisation that chose no sender shows ORDER_INTAKE_MAIL_FROM's."""
    env = {"DATABASE_URL": shop, "ORDER_INTAKE_MAIL_FROM": "Acme Reviews <reviews@acme.example>"}
    shown = CliRunner().invoke(main, ["org", "policy", "SHOP", "--json"], env=env, catch_exceptions=False)
    assert json.loads(shown.stdout)["from"] == "Acme Reviews <reviews@acme.example>"


def test_settings_given_are_stored_and_the_whole_policy_printed(shop: str) -> None:
    """Several settings at once: printed whole (day counts as integers), kept, the others left at their defaults."""
    args = ["--basis", "order", "--delay-days", "7", "--max-age-days", "90", "--cooldown-days", "0"]
    args += ["--window", "10:30-24:00", "--timezone", "Asia/Tokyo", "--reminder-days", "3"]
    printed = cli_ok(shop, "org", "policy", "SHOP", *args, "--json")
    changed = {"basis": "order", "delay_days": 7, "max_age_days": 90, "cooldown_days": 0, "window": "10:30-24:00"}
    changed |= {"timezone": "Asia/Tokyo", "reminder_days": 3}
    assert json.loads(printed) == DEFAULTS | changed
    assert list(json.loads(printed)) == list(DEFAULTS)
    cli_ok(shop, "org", "policy", "SHOP", "--from", "Shop <hello@shop.example>")
    assert _policy(shop) == DEFAULTS | changed | {"from": "Shop <hello@shop.example>"}
    assert "delay_days: 7" in cli_ok(shop, "org", "policy", "SHOP").splitlines()


def test_a_policy_set_back_to_every_default_is_stored_as_null(shop: str) -> None:
    """Only settings that differ from the defaults are kept: back at the defaults, the column is NULL again."""
    cli_ok(shop, "org", "policy", "SHOP", "--delay-days", "3")
    assert fetch_rows(shop, "SELECT invitation_policy FROM organisations")[0][0] is not None
    cli_ok(shop, "org", "policy", "SHOP", "--delay-days", "14")
    assert fetch_rows(shop, "SELECT invitation_policy FROM organisations")[0][0] is None
    assert _policy(shop) == DEFAULTS


@pytest.mark.parametrize(
    ("option", "value", "mentioning"),
    [
        ("--basis", "purchase", "basis must be fulfilment or order"),
        ("--delay-days", "-1", "delay-days must be a whole number of days from 0 to 3650"),
        ("--max-age-days", "99999", "max-age-days must be a whole number of days"),
        ("--cooldown-days", "1.5", "cooldown-days must be a whole number of days"),
        ("--reminder-days", "", "reminder-days must be a whole number of days"),
        ("--window", "20:00-09:00", "window must be HH:MM-HH:MM, opening before closing"),
        ("--window", "25:00-26:00", "window must be HH:MM-HH:MM"),
        ("--timezone", "Mars/Olympus_Mons", "unknown time zone: Mars/Olympus_Mons"),
        ("--from", "reviews.example.com", "from must be one e-mail address"),
    ],
)
def test_a_bad_value_fails_with_one_line_and_changes_nothing(
    shop: str, option: str, value: str, mentioning: str
) -> None:
    """Exit 1, one line on stderr naming the problem; the policy, together with a good setting beside it, stays."""
    result = run_cli(shop, "org", "policy", "SHOP", "--delay-days", "5", option, value)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("order-intake: ")
    assert result.stderr.count("\n") == 1
    assert mentioning in result.stderr
    assert _policy(shop) == DEFAULTS
    assert count_rows(shop, "SELECT count(*) FROM audit_log WHERE action = 'org.policy'") == 0


def test_an_unknown_trkref_fails_like_the_other_org_commands(shop: str) -> None:
    """Shown or changed, an unknown organisation is named in one line, exit 1."""
    for args in (("org", "policy", "NOPE"), ("org", "policy", "NOPE", "--delay-days", "3")):
        result = run_cli(shop, *args)
        assert (result.exit_code, result.stderr) == (1, "order-intake: unknown trkref 'NOPE'\n")


def test_a_change_is_audited_with_the_settings_it_changed(shop: str) -> None:
    """org.policy names the trkref and each setting whose value changed, with its new value."""
    cli_ok(shop, "org", "policy", "SHOP", "--delay-days", "7", "--basis", "fulfilment", "--window", "08:00-18:00")
    rows = [json.loads(line) for line in cli_ok(shop, "audit", "list", "--json").splitlines()]
    assert [(r["action"], r["target"], r["details"]) for r in rows[1:]] == [
        ("org.policy", "SHOP", {"settings": {"delay_days": 7, "window": "08:00-18:00"}, "invitations_replanned": 0})
    ]


def _at_nine_in_london(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo("Europe/London")).astimezone(dt.UTC)


def test_a_change_re_plans_the_unsent_invitations_and_leaves_sent_ones(shop: str) -> None:
    """A shorter delay moves a scheduled invitation; a shorter max age skips an old one; a sent one stays as it was."""
    today = dt.datetime.now(dt.UTC).date()
    soon, old = today + dt.timedelta(days=10), today - dt.timedelta(days=60)
    plant_invitation(shop, trkref="SHOP", order_ref="A1", email="ann@example.com", fulfilment_date=soon)
    plant_invitation(shop, trkref="SHOP", order_ref="B1", email="bob@example.com", fulfilment_date=old)
    sent_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=40)
    plant_invitation(
        shop, trkref="SHOP", order_ref="C1", email="cat@example.com", fulfilment_date=old, state="sent", sent_at=sent_at
    )
    sent_before = invitations_of(shop, "SHOP")["C1"]

    cli_ok(shop, "org", "policy", "SHOP", "--delay-days", "3", "--max-age-days", "30")

    after = invitations_of(shop, "SHOP")
    assert (after["A1"].state, after["A1"].reason) == ("scheduled", None)
    assert after["A1"].send_at == _at_nine_in_london(soon + dt.timedelta(days=3))
    assert after["A1"].explanation[:2] == [
        f"reference date {soon} (fulfilment_date)",
        f"plus 3 days: {soon + dt.timedelta(days=3)}",
    ]
    assert (after["B1"].state, after["B1"].reason, after["B1"].send_at) == ("skipped", "too_old", None)
    assert after["C1"] == sent_before
    audit = json.loads(cli_ok(shop, "audit", "list", "--json", "--limit", "1"))
    assert audit["details"]["invitations_replanned"] == 2
