"""What the commands share: one-line failures, the migrated database, an admin transaction."""

import datetime as dt
import sys
from collections.abc import Callable
from typing import TypeVar

import click
import sqlalchemy as sa

from order_intake.adapters import admin
from order_intake.adapters.database_url import DatabaseUrl, parse_database_url
from order_intake.adapters.migrate import upgrade
from order_intake.config import load_settings
from order_intake.errors import AdminError, ConfigError

T = TypeVar("T")


def fail(message: str) -> None:
    """Print one line on stderr and exit 1."""
    click.echo(f"order-intake: {message}", err=True)
    sys.exit(1)


def database() -> DatabaseUrl:
    """The configured database, its schema brought up to date."""
    try:
        url = parse_database_url(load_settings().database_url)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable: _fail exits
    try:
        upgrade(url)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        fail(f"cannot reach the database: {str(exc).splitlines()[0]}")
    return url


def in_admin_transaction(work: Callable[[sa.Connection], T]) -> T:
    """Run `work` in one transaction on the migrated database; an AdminError becomes one line, exit 1."""
    url = database()
    try:
        return admin.run_admin(url, work)
    except AdminError as exc:
        fail(str(exc))
        raise  # unreachable: _fail exits
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        fail(f"database error: {str(exc).splitlines()[0]}")
        raise


def now() -> dt.datetime:
    """The current UTC time."""
    return dt.datetime.now(dt.UTC)
