"""The operators' invitation commands: `order-intake org policy ...` and `order-intake suppress ...`."""

from collections.abc import Callable
from typing import Any, TypeVar

import click
import msgspec

from order_intake.adapters.sql import policies
from order_intake.adapters.sql import suppressions as stored
from order_intake.config import load_settings
from order_intake.domain.policy import Policy
from order_intake.domain.suppressions import suppression_address
from order_intake.entrypoints.cli_base import fail
from order_intake.entrypoints.cli_support import audited, in_admin_transaction, now

F = TypeVar("F", bound=Callable[..., Any])

# Each option's setting, as Policy.as_json names it; values are read as text and checked by the
# domain, so that a bad one is a one-line error (exit 1) like every other refusal here.
_SETTINGS = {
    "basis": ("fulfilment|order", "The reference date: fulfilment_date, else order_date; or the other way round."),
    "delay_days": ("N", "Days after the reference date."),
    "max_age_days": ("N", "A reference date older than this when planned: skipped (too_old)."),
    "cooldown_days": ("N", "At most one invitation per customer in this many days."),
    "window": ("HH:MM-HH:MM", "The local send window (00:00-24:00: any time)."),
    "timezone": ("ZONE", "The zone for customers whose order has no country."),
    "reminder_days": ("N", "0: no reminder; N: one reminder N days after sending."),
    "from": ("ADDR", "The sender's address (may carry a display name)."),
}


def _print_policy(policy: Policy, *, as_json: bool) -> None:
    settings = policy.as_json()
    if as_json:
        click.echo(msgspec.json.encode(settings).decode())
    else:
        for name, value in settings.items():
            click.echo(f"{name}: {value}")


def _with_setting_options(command: F) -> F:
    for name, (metavar, help_text) in reversed(_SETTINGS.items()):
        flag = "--" + name.replace("_", "-")
        command = click.option(flag, name, default=None, metavar=metavar, help=help_text)(command)
    return command


@click.command("policy")
@click.argument("trkref")
@click.option("--json", "as_json", is_flag=True, help="The policy as one JSON object.")
@_with_setting_options
def org_policy(trkref: str, *, as_json: bool, **settings: str | None) -> None:
    """Show an organisation's invitation policy, or change settings (re-planning unsent invitations)."""
    default_from = load_settings().mail_from
    changes = {name: value for name, value in settings.items() if value is not None}
    if not changes:
        _print_policy(
            in_admin_transaction(lambda c: policies.organisation_policy(c, trkref, default_from)), as_json=as_json
        )
        return
    done = audited(
        "org.policy",
        trkref,
        lambda conn: policies.set_policy(conn, trkref, changes, default_from=default_from, now=now()),
        details=lambda change: {"settings": change.changed, "invitations_replanned": change.invitations_replanned},
    )
    _print_policy(done.policy, as_json=as_json)


@click.group("suppress")
def suppress() -> None:
    """Addresses an organisation's customers are not to be invited at."""


def _address(email: str) -> str:
    address = suppression_address(email)
    if address is None:
        fail(f"invalid email {email!r}")
    return address


@suppress.command("add")
@click.option("--trkref", required=True)
@click.argument("email")
def suppress_add(trkref: str, email: str) -> None:
    """Never invite this address at this organisation (reason suppressed_by_retailer)."""
    address = _address(email)
    change = audited(
        stored.ADD,
        trkref,
        lambda conn: stored.add_suppression(conn, trkref, address, now()),
        details=stored.audit_details,
    )
    reason = change.suppression.reason if change.suppression else "?"
    verb = "suppressed" if change.changed else "already suppressed"
    click.echo(f"{verb} at {trkref}: {address} ({reason}); {change.invitations_replanned} invitations re-planned")


@suppress.command("remove")
@click.option("--trkref", required=True)
@click.argument("email")
def suppress_remove(trkref: str, email: str) -> None:
    """Lift the retailer's suppression of this address (an unsubscribe or a bounce stays)."""
    address = _address(email)
    change = audited(
        stored.REMOVE,
        trkref,
        lambda conn: stored.remove_suppression(conn, trkref, address, now()),
        details=stored.audit_details,
    )
    verb = "removed the suppression" if change.changed else "no suppression"
    click.echo(f"{verb} at {trkref}: {address}; {change.invitations_replanned} invitations re-planned")


@suppress.command("list")
@click.option("--trkref", required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def suppress_list(trkref: str, *, as_json: bool) -> None:
    """List an organisation's suppressions, oldest first: address (or "(erased)"), reason, since when."""
    for s in in_admin_transaction(lambda conn: stored.list_suppressions(conn, trkref)):
        if as_json:
            click.echo(msgspec.json.encode(s).decode())
        else:
            click.echo(f"{s.email or '(erased)'}\t{s.reason}\t{s.created_at.isoformat(timespec='seconds')}")
