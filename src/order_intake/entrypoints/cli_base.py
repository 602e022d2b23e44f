"""What every command shares: one-line failures and the migrated database (nothing heavy: `serve` imports it)."""

import sys
from typing import NoReturn

import click

from order_intake.adapters.database_url import DatabaseUrl, parse_database_url
from order_intake.adapters.sql.migrate import upgrade
from order_intake.config import load_settings
from order_intake.errors import ConfigError, StoreUnavailable


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit 1."""
    click.echo(f"order-intake: {message}", err=True)
    sys.exit(1)


def database() -> DatabaseUrl:
    """The configured database, its schema brought up to date."""
    try:
        url = parse_database_url(load_settings().database_url)
    except ConfigError as exc:
        fail(str(exc))
    try:
        upgrade(url)
    except StoreUnavailable as exc:
        fail(f"cannot reach the database: {exc}")
    except ConfigError as exc:
        fail(str(exc))
    return url
