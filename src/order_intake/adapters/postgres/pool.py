"""PostgreSQL connections: taken from an asyncpg pool, every "no database now" error made StoreUnavailable.

"No database now" is a connection that cannot be made or broke, and an error the database answers
that is no fault of the work (sqlstate.py: read-only, full, shutting down).
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from order_intake.adapters.sqlstate import not_now
from order_intake.errors import StoreUnavailable

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# Seconds to wait for a connection or a statement before answering 503 rather than hang.
TIMEOUT = 1.5
# For the pools of background work (processing, the sender), whose statements read tables that grow:
# each statement is planned for its own arguments and the tables' sizes as they are now. PostgreSQL
# otherwise settles, after five runs of a prepared statement, on one generic plan; made in a fresh
# database's first seconds, while the tables were small, that plan kept a sequential scan inside a
# per-key loop as the table grew (a lookup of 200 orders among 60,000 invitations: 1,223 ms against
# 2 ms), and processing stalled in about one benchmark run in three. Planning costs a fraction of a
# millisecond per statement, once per batch.
PLANNED_EACH_TIME = {"plan_cache_mode": "force_custom_plan"}

# Errors meaning the connection broke mid-use; any other error is about the statement itself.
_CONNECTION_LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


@asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator["PoolConnectionProxy[asyncpg.Record]"]:
    """A connection from the pool; every error that means 'no database now' becomes StoreUnavailable."""
    try:
        conn = await pool.acquire(timeout=TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # Whatever stops a connection being made (server down, database gone, too many
        # connections, bad password) means the same to a caller: no database now.
        raise StoreUnavailable(str(exc)) from exc
    try:
        yield conn
    except _CONNECTION_LOST as exc:
        raise StoreUnavailable(str(exc), sqlstate=getattr(exc, "sqlstate", None)) from exc
    except asyncpg.PostgresError as exc:
        if not_now(exc.sqlstate):  # read-only, out of disk, shutting down...: no database for this now
            raise StoreUnavailable(str(exc), sqlstate=exc.sqlstate) from exc
        raise
    finally:
        # A connection that cannot be given back in time (its server silent: a network partition)
        # is terminated by asyncpg, which then raises; the pool makes a new one when next asked.
        # That error must not replace the outcome: the work's result, or the StoreUnavailable above.
        with suppress(*_CONNECTION_LOST):
            await pool.release(conn)


T = TypeVar("T")
Work = Callable[["PoolConnectionProxy[asyncpg.Record]"], Awaitable[T]]


# hot path: compiled coroutines never await while an exception unwinds; this does it for them (docs/hot-path.md)
async def on_connection(pool: asyncpg.Pool, work: Work[T], *, transaction: bool = False) -> T:
    """`work` on a pooled connection (in one transaction if asked), the connection released whatever happens.

    For the compiled modules (setup.py): mypyc's coroutines lose or crash on an exception thrown into
    them while an `async with` awaits its exit, so their connections are taken and given back here.
    """
    async with pooled(pool) as conn:
        if not transaction:
            return await work(conn)
        async with conn.transaction():
            return await work(conn)


# hot path: no reset query on release, one round trip fewer per commit (docs/hot-path.md)
async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond the rollback asyncpg does of an open transaction.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release, one more round trip per commit; our connections take no session-level locks,
    cursors, LISTENs or settings, so there is nothing for it to undo.
    """
