"""The operators' organisation and key commands: `order-intake org ...` and `order-intake key ...`."""

import unicodedata

import click
import msgspec

from order_intake.adapters.sql import admin
from order_intake.domain.access import MAX_TRKREF, is_valid_trkref
from order_intake.domain.credentials import hash_secret, new_salt, new_secret, new_username
from order_intake.domain.ratelimit import DEFAULT_BURST, DEFAULT_RATE
from order_intake.entrypoints.cli_base import fail
from order_intake.entrypoints.cli_invitations import org_policy
from order_intake.entrypoints.cli_support import audited, in_admin_transaction, now

# An organisation's name appears in e-mails' subjects and pages: one line of a sensible length.
_MAX_NAME = 200
_NOT_IN_A_NAME = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators


@click.group()
def org() -> None:
    """Organisations (retailers)."""


@org.command("add")
@click.argument("trkref")
@click.option("--name", required=True)
def org_add(trkref: str, name: str) -> None:
    """Add an organisation (its customer-order feature starts off)."""
    if not is_valid_trkref(trkref):
        fail(f"invalid trkref {trkref!r}: use A-Z, 0-9 and '-', at most {MAX_TRKREF} characters")
    name = name.strip()
    if not name or len(name) > _MAX_NAME or any(unicodedata.category(c) in _NOT_IN_A_NAME for c in name):
        fail(f"invalid name: 1 to {_MAX_NAME} printable characters (no line breaks or control characters)")
    added = audited(
        "org.add",
        trkref,
        lambda conn: admin.add_organisation(conn, trkref, name, now()),
        details=lambda o: {"name": o.name},
    )
    click.echo(f"added organisation {added.trkref} ({added.name}); customer orders disabled")


def _set_feature(trkref: str, *, enabled: bool) -> None:
    action = "org.enable" if enabled else "org.disable"
    changed = audited(action, trkref, lambda conn: admin.set_customer_order(conn, trkref, enabled=enabled))
    click.echo(f"organisation {changed.trkref}: customer orders {'enabled' if enabled else 'disabled'}")


@org.command("enable")
@click.argument("trkref")
def org_enable(trkref: str) -> None:
    """Enable the customer-order feature."""
    _set_feature(trkref, enabled=True)


@org.command("disable")
@click.argument("trkref")
def org_disable(trkref: str) -> None:
    """Disable the customer-order feature."""
    _set_feature(trkref, enabled=False)


@org.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def org_list(*, as_json: bool) -> None:
    """List organisations."""
    for o in in_admin_transaction(admin.list_organisations):
        if as_json:
            click.echo(msgspec.json.encode(o).decode())
        else:
            click.echo(f"{o.trkref}\t{'enabled' if o.customer_order_enabled else 'disabled'}\t{o.name}")


org.add_command(org_policy)


@click.group()
def key() -> None:
    """API keys."""


def _limit_text(rate: float, burst: int) -> str:
    return "unlimited" if rate == 0 else f"{rate:g}/s burst {burst}"


_RATE_HELP = "Requests per second for this key (0: unlimited)."
_BURST_HELP = "Most requests that may come at once (the size of the bucket)."


@key.command("create")
@click.option("--trkref", "trkrefs", multiple=True, required=True, help="Organisation to link (repeatable).")
@click.option("--no-customer-order", is_flag=True, help="Without the customer_order permission.")
@click.option("--rate", type=float, default=DEFAULT_RATE, show_default=True, help=_RATE_HELP)
@click.option("--burst", type=int, default=DEFAULT_BURST, show_default=True, help=_BURST_HELP)
@click.option("--sandbox", is_flag=True, help="Its orders' invitations go only to SANDBOX_MAIL_URL.")
@click.option("--json", "as_json", is_flag=True, help='Print {"username": ..., "password": ...}.')
def key_create(  # noqa: PLR0913 - one argument per option
    trkrefs: tuple[str, ...], rate: float, burst: int, *, no_customer_order: bool, sandbox: bool, as_json: bool
) -> None:
    """Create a key; its password is shown once and stored only as a keyed hash."""
    username, secret, salt = new_username(), new_secret(), new_salt()
    audited(
        "key.create",
        username,
        lambda conn: admin.add_key(
            conn,
            username=username,
            secret_salt=salt,
            secret_hash=hash_secret(secret, salt),
            trkrefs=trkrefs,
            customer_order=not no_customer_order,
            now=now(),
            rate=rate,
            burst=burst,
            sandbox=sandbox,
        ),
        # Never the secret: what the key may do, and where.
        details=lambda _: {
            "trkrefs": list(dict.fromkeys(trkrefs)),
            "customer_order": not no_customer_order,
            "rate": rate,
            "burst": burst,
            "sandbox": sandbox,
        },
    )
    if as_json:
        click.echo(msgspec.json.encode({"username": username, "password": secret}).decode())
    else:
        click.echo(f"username: {username}\npassword: {secret}\n(the password is shown only this once)")


@key.command("revoke")
@click.argument("username")
def key_revoke(username: str) -> None:
    """Revoke a key (effective within 5 seconds)."""
    audited("key.revoke", username, lambda conn: admin.revoke_key(conn, username, now()))
    click.echo(f"revoked {username}")


@key.command("limit")
@click.argument("username")
@click.option("--rate", type=float, default=None, help=_RATE_HELP)
@click.option("--burst", type=int, default=None, help=_BURST_HELP)
def key_limit(username: str, rate: float | None, burst: int | None) -> None:
    """Change a key's rate limit (effective within 5 seconds; a new limit starts with a full bucket)."""
    if rate is None and burst is None:
        fail("give --rate, --burst or both")
    stored = audited(
        "key.limit",
        username,
        lambda conn: admin.set_key_limit(conn, username, rate=rate, burst=burst),
        details=lambda limit: {"rate": limit[0], "burst": limit[1]},
    )
    click.echo(f"{username}: {_limit_text(*stored)}")


@key.command("list")
@click.option("--trkref", default=None, help="Only keys linked to this organisation.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def key_list(trkref: str | None, *, as_json: bool) -> None:
    """List keys (never their secrets)."""
    for k in in_admin_transaction(lambda conn: admin.list_keys(conn, trkref)):
        if as_json:
            click.echo(msgspec.json.encode(k).decode())
        else:
            state = "revoked" if k.revoked_at else "active"
            perm = "customer_order" if k.customer_order else "-"
            limit = _limit_text(k.rate, k.burst)
            sandbox = "\tsandbox" if k.sandbox else ""
            click.echo(f"{k.username}\t{state}\t{perm}\t{','.join(k.trkrefs)}\t{limit}{sandbox}")
