"""The `order-intake` command: serve, and the operators' organisation, key and database commands."""

import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import TypeVar

import click
import msgspec
import sqlalchemy as sa

from order_intake.adapters import admin
from order_intake.adapters.database_url import DatabaseUrl, parse_database_url
from order_intake.adapters.migrate import upgrade
from order_intake.config import load_settings
from order_intake.domain.access import MAX_TRKREF, is_valid_trkref
from order_intake.domain.credentials import hash_secret, new_salt, new_secret, new_username
from order_intake.errors import AdminError, ConfigError

T = TypeVar("T")


def _fail(message: str) -> None:
    click.echo(f"order-intake: {message}", err=True)
    sys.exit(1)


def _database() -> DatabaseUrl:
    """The configured database, its schema brought up to date."""
    try:
        url = parse_database_url(load_settings().database_url)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits
    try:
        upgrade(url)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        _fail(f"cannot reach the database: {str(exc).splitlines()[0]}")
    return url


def _admin(work: Callable[[sa.Connection], T]) -> T:
    url = _database()
    try:
        return admin.run_admin(url, work)
    except AdminError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        _fail(f"database error: {str(exc).splitlines()[0]}")
        raise


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@click.group()
def main() -> None:
    """order-intake: the customer order submission API (v4)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes (default: 1 on SQLite, one per core on PostgreSQL)."
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the HTTP API (SIGTERM drains in-flight requests and flushes the writer)."""
    from granian import Granian  # noqa: PLC0415 - only this command needs the server
    from granian.constants import Interfaces  # noqa: PLC0415

    url = _database()
    if workers is None:
        workers = 1 if url.backend == "sqlite" else (os.cpu_count() or 1)
    Granian(
        "order_intake.entrypoints.http.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=workers,
        log_access=False,
    ).serve()


@main.group()
def org() -> None:
    """Organisations (retailers)."""


@org.command("add")
@click.argument("trkref")
@click.option("--name", required=True)
def org_add(trkref: str, name: str) -> None:
    """Add an organisation (its customer-order feature starts off)."""
    if not is_valid_trkref(trkref):
        _fail(f"invalid trkref {trkref!r}: use A-Z, 0-9 and '-', at most {MAX_TRKREF} characters")
    added = _admin(lambda conn: admin.add_organisation(conn, trkref, name, _now()))
    click.echo(f"added organisation {added.trkref} ({added.name}); customer orders disabled")


def _set_feature(trkref: str, *, enabled: bool) -> None:
    changed = _admin(lambda conn: admin.set_customer_order(conn, trkref, enabled=enabled))
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
    for o in _admin(admin.list_organisations):
        if as_json:
            click.echo(msgspec.json.encode(o).decode())
        else:
            click.echo(f"{o.trkref}\t{'enabled' if o.customer_order_enabled else 'disabled'}\t{o.name}")


@main.group()
def key() -> None:
    """API keys."""


@key.command("create")
@click.option("--trkref", "trkrefs", multiple=True, required=True, help="Organisation to link (repeatable).")
@click.option("--no-customer-order", is_flag=True, help="Without the customer_order permission.")
@click.option("--json", "as_json", is_flag=True, help='Print {"username": ..., "password": ...}.')
def key_create(trkrefs: tuple[str, ...], *, no_customer_order: bool, as_json: bool) -> None:
    """Create a key; its password is shown once and stored only as a keyed hash."""
    username, secret, salt = new_username(), new_secret(), new_salt()
    _admin(
        lambda conn: admin.add_key(
            conn,
            username=username,
            secret_salt=salt,
            secret_hash=hash_secret(secret, salt),
            trkrefs=trkrefs,
            customer_order=not no_customer_order,
            now=_now(),
        )
    )
    if as_json:
        click.echo(msgspec.json.encode({"username": username, "password": secret}).decode())
    else:
        click.echo(f"username: {username}\npassword: {secret}\n(the password is shown only this once)")


@key.command("revoke")
@click.argument("username")
def key_revoke(username: str) -> None:
    """Revoke a key (effective within 5 seconds)."""
    _admin(lambda conn: admin.revoke_key(conn, username, _now()))
    click.echo(f"revoked {username}")


@key.command("list")
@click.option("--trkref", default=None, help="Only keys linked to this organisation.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def key_list(trkref: str | None, *, as_json: bool) -> None:
    """List keys (never their secrets)."""
    for k in _admin(lambda conn: admin.list_keys(conn, trkref)):
        if as_json:
            click.echo(msgspec.json.encode(k).decode())
        else:
            state = "revoked" if k.revoked_at else "active"
            perm = "customer_order" if k.customer_order else "-"
            click.echo(f"{k.username}\t{state}\t{perm}\t{','.join(k.trkrefs)}")


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations explicitly (every command also applies them when needed)."""
    _database()
    click.echo("database schema is current")


from order_intake.entrypoints.submit_client import submit  # noqa: E402

main.add_command(submit)
