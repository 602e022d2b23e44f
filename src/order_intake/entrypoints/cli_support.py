"""What the admin commands share: admin transactions and their audit rows."""

import datetime as dt
import getpass
import os
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from order_intake.adapters.sql import admin, audit
from order_intake.config import load_settings
from order_intake.entrypoints.cli_base import database, fail
from order_intake.errors import AdminError, first_line

T = TypeVar("T")


def in_admin_transaction(work: Callable[[sa.Connection], T]) -> T:
    """Run `work` in one transaction on the migrated database; an AdminError becomes one line, exit 1."""
    return in_admin_transactions(work, again=lambda _: False)


def in_admin_transactions(work: Callable[[sa.Connection], T], *, again: Callable[[T], bool]) -> T:
    """Run `work` in a transaction, and in a new one each time while `again(result)`; errors as above."""
    url = database()
    try:
        return admin.run_repeatedly(url, work, again=again)
    except AdminError as exc:
        fail(str(exc))
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        fail(f"database error: {first_line(exc)}")
        raise


def now() -> dt.datetime:
    """The current UTC time."""
    return dt.datetime.now(dt.UTC)


def actor() -> str:
    """Who the audit log names: ORDER_INTAKE_ACTOR when set, else the OS user running the command."""
    configured = load_settings().admin_actor
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def audited(
    action: str,
    target: str,
    work: Callable[[sa.Connection], T],
    details: Callable[[T], dict[str, Any]] = lambda _: {},
) -> T:
    """Run `work` and write its audit row in the same transaction: the change and its record, or neither."""
    who = actor()

    def work_and_record(conn: sa.Connection) -> T:
        result = work(conn)
        audit.record(conn, at=now(), actor=who, action=action, target=target, details=details(result))
        return result

    return in_admin_transaction(work_and_record)
