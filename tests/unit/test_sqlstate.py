"""Which PostgreSQL errors are 'the database cannot do this now' (503) and which the work's own (500)."""

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_intake.adapters.sqlstate import not_now

NOT_NOW = [
    asyncpg.ReadOnlySQLTransactionError,  # a standby, or default_transaction_read_only
    asyncpg.DiskFullError,
    asyncpg.OutOfMemoryError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.QueryCanceledError,
    asyncpg.PostgresIOError,
]
THE_WORKS_OWN = [
    asyncpg.UniqueViolationError,
    asyncpg.ForeignKeyViolationError,
    asyncpg.UndefinedTableError,
    asyncpg.InvalidTextRepresentationError,
    asyncpg.PostgresSyntaxError,
    asyncpg.InFailedSQLTransactionError,  # class 25 like read-only, but the work's own doing
    asyncpg.InternalServerError,
    asyncpg.SerializationError,  # class 40: the writer commits each request of its group alone
    asyncpg.DeadlockDetectedError,
]


@pytest.mark.parametrize("error", NOT_NOW)
def test_errors_no_request_caused_are_not_now(error: type[asyncpg.PostgresError]) -> None:
    """Read-only, short of resources, shut down, cancelled, an I/O error: 503."""
    assert not_now(error.sqlstate)


@pytest.mark.parametrize("error", THE_WORKS_OWN)
def test_errors_of_the_work_itself_are_not(error: type[asyncpg.PostgresError]) -> None:
    """A constraint, a missing table, bad text, a failed transaction, a deadlock: left to the work (or 500)."""
    assert not not_now(error.sqlstate)


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=5))
def test_a_code_is_not_now_exactly_when_its_class_or_the_code_says_so(code: str) -> None:
    """Any five-character SQLSTATE: by its class (08, 53, 57, 58) or the one code 25006."""
    assert not_now(code) == (code[:2] in {"08", "53", "57", "58"} or code == "25006")


def test_no_sqlstate_is_not_not_now() -> None:
    """An error without a SQLSTATE (the driver's own) is left as it is."""
    assert not not_now(None)
