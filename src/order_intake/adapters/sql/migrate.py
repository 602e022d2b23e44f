"""Bring a database's schema to the newest revision, safely when several processes start at once."""

import asyncio
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.adapters.sql.migrations import HEAD
from order_intake.errors import ConfigError, StoreUnavailable, first_line

if TYPE_CHECKING:
    import sqlalchemy as sa

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every process of this service.
_PG_LOCK_KEY = 0x6F726465
# Seconds to connect to PostgreSQL (and for each statement's answer while reading the revision): a
# host that takes the connection and never answers fails the command instead of holding it.
_CONNECT_SECONDS = 5.0
_KNOWN: frozenset[str] = frozenset(
    path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
)


def _known(revision: str | None) -> None:
    """Refuse a database whose schema a later version of order-intake made (its revision unknown here)."""
    if revision is not None and revision not in _KNOWN:
        msg = (
            f"the database's schema is at revision {revision}, which this version of order-intake does not know"
            f" (it knows up to {HEAD}): a newer version made it; run that version"
        )
        raise ConfigError(msg)


def alembic_upgrade(connection: "sa.Connection", revision: str = "head") -> None:
    """Alembic's upgrade on this connection, to `revision` (tests stop at an older one)."""
    # Imported here: Alembic costs start-up time and is needed only when the schema is behind.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _sqlite_revision(path: Path) -> str | None:
    if not path.exists():
        return None
    with sqlite3.connect(path) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return None if row is None else str(row[0])


def _check_writable(path: Path) -> None:
    """ConfigError unless this user can write the SQLite file, its -wal and -shm, and make them in its folder.

    A copy restored read-only would otherwise serve reads and refuse every order. The folder is the
    real file's, past any symbolic link: SQLite makes its -wal and -shm files there.
    """
    real = path.resolve()
    needed = [(real.parent, os.W_OK | os.X_OK)]
    needed += [(p, os.W_OK) for p in (real, real.with_name(real.name + "-wal"), real.with_name(real.name + "-shm"))]
    for name, mode in needed:
        if name.exists() and not os.access(name, mode):
            msg = f"{name} cannot be written by this user: the SQLite database (DATABASE_URL) must be writable"
            raise ConfigError(msg)


def _upgrade_sqlite(url: DatabaseUrl) -> None:
    assert url.sqlite_path is not None  # noqa: S101 - backend is sqlite
    if not url.sqlite_path.parent.is_dir():  # a mistyped path makes no new, empty database somewhere else
        msg = f"no folder {url.sqlite_path.parent} for the SQLite database (DATABASE_URL)"
        raise ConfigError(msg)
    _check_writable(url.sqlite_path)
    lock_path = url.sqlite_path.with_name(url.sqlite_path.name + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        revision = _sqlite_revision(url.sqlite_path)
        _known(revision)
        if revision == HEAD:
            return
        import sqlalchemy as sa  # noqa: PLC0415 - only when there is something to migrate

        engine = sa.create_engine(url.sqlalchemy_url)
        try:
            with engine.begin() as conn:
                alembic_upgrade(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(first_line(exc)) from exc
        finally:
            engine.dispose()


async def _pg_revision(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn, timeout=_CONNECT_SECONDS, command_timeout=_CONNECT_SECONDS)
    try:
        exists = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not exists:
            return None
        value = await conn.fetchval("SELECT version_num FROM alembic_version")
        return None if value is None else str(value)
    finally:
        await conn.close()


async def _upgrade_postgres(url: DatabaseUrl) -> None:
    assert url.dsn is not None  # noqa: S101 - backend is postgresql
    revision = await _pg_revision(url.dsn)
    _known(revision)
    if revision == HEAD:
        return
    import sqlalchemy as sa  # noqa: PLC0415 - only when there is something to migrate
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    engine = create_async_engine(url.sqlalchemy_url, connect_args={"timeout": _CONNECT_SECONDS})
    try:
        async with engine.begin() as conn:
            # Held until commit: a second process waits here, then finds nothing to do.
            await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"))
            await conn.run_sync(alembic_upgrade)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreUnavailable(first_line(exc)) from exc
    finally:
        await engine.dispose()


def upgrade(url: DatabaseUrl) -> None:
    """Apply every migration the database lacks (a no-op when it is current).

    StoreUnavailable, with the driver's first line, when the database cannot be reached or used.
    """
    try:
        if url.backend == "sqlite":
            _upgrade_sqlite(url)
        else:
            asyncio.run(_upgrade_postgres(url))
    except (OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreUnavailable(first_line(exc)) from exc
