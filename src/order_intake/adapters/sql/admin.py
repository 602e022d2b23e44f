"""Operators' changes to organisations and keys: SQLAlchemy Core, one code path for both backends."""

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.adapters.sql.schema import api_key_organisations, api_keys, organisations
from order_intake.domain.ratelimit import DEFAULT_BURST, DEFAULT_RATE, limit_problem
from order_intake.errors import AdminError
from order_intake.service.records import KeySummary, Organisation

T = TypeVar("T")


def run_repeatedly(url: DatabaseUrl, work: Callable[[sa.Connection], T], *, again: Callable[[T], bool]) -> T:
    """Run `work` in a transaction, then in a new one each time, while `again(result)`; the last result."""
    if url.backend == "sqlite":
        engine = sa.create_engine(url.sqlalchemy_url)
        try:
            while True:
                with engine.begin() as conn:
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    result = work(conn)
                if not again(result):
                    return result
        finally:
            engine.dispose()

    async def run_async() -> T:
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

        engine = create_async_engine(url.sqlalchemy_url)
        try:
            while True:
                async with engine.begin() as conn:
                    result = await conn.run_sync(work)
                if not again(result):
                    return result
        finally:
            await engine.dispose()

    return asyncio.run(run_async())


def _organisation(row: Sequence[Any]) -> Organisation:
    return Organisation(id=row[0], trkref=row[1], name=row[2], customer_order_enabled=bool(row[3]))


_ORG_COLUMNS = (
    organisations.c.id,
    organisations.c.trkref,
    organisations.c.name,
    organisations.c.customer_order_enabled,
)


def find_organisation(conn: sa.Connection, trkref: str) -> Organisation:
    """The organisation with this trkref; an unknown one is an AdminError naming it."""
    row = conn.execute(sa.select(*_ORG_COLUMNS).where(organisations.c.trkref == trkref)).first()
    if row is None:
        msg = f"unknown trkref {trkref!r}"
        raise AdminError(msg)
    return _organisation(row)


def add_organisation(conn: sa.Connection, trkref: str, name: str, now: dt.datetime) -> Organisation:
    """Create an organisation, its customer-order feature off."""
    exists = conn.execute(sa.select(organisations.c.id).where(organisations.c.trkref == trkref)).first()
    if exists is not None:
        msg = f"organisation {trkref!r} exists already"
        raise AdminError(msg)
    conn.execute(organisations.insert().values(trkref=trkref, name=name, customer_order_enabled=False, created_at=now))
    return find_organisation(conn, trkref)


def set_customer_order(conn: sa.Connection, trkref: str, *, enabled: bool) -> Organisation:
    """Turn an organisation's customer-order feature on or off."""
    org = find_organisation(conn, trkref)
    conn.execute(organisations.update().where(organisations.c.id == org.id).values(customer_order_enabled=enabled))
    return find_organisation(conn, trkref)


def list_organisations(conn: sa.Connection) -> list[Organisation]:
    """Every organisation, by trkref."""
    rows = conn.execute(sa.select(*_ORG_COLUMNS).order_by(organisations.c.trkref))
    return [_organisation(row) for row in rows]


def add_key(  # noqa: PLR0913 - one argument per property of a new key
    conn: sa.Connection,
    *,
    username: str,
    secret_salt: bytes,
    secret_hash: bytes,
    trkrefs: Sequence[str],
    customer_order: bool,
    now: dt.datetime,
    rate: float = DEFAULT_RATE,
    burst: int = DEFAULT_BURST,
    sandbox: bool = False,
) -> None:
    """Create an API key linked to these organisations (every trkref must exist), with its rate limit."""
    _check_limit(rate, burst)
    orgs = [find_organisation(conn, trkref) for trkref in dict.fromkeys(trkrefs)]
    key_id = conn.execute(
        api_keys.insert()
        .values(
            username=username,
            secret_salt=secret_salt,
            secret_hash=secret_hash,
            customer_order=customer_order,
            created_at=now,
            rate=rate,
            burst=burst,
            sandbox=sandbox,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    conn.execute(api_key_organisations.insert(), [{"api_key_id": key_id, "organisation_id": o.id} for o in orgs])


def revoke_key(conn: sa.Connection, username: str, now: dt.datetime) -> None:
    """Revoke a key (it stays listed, marked revoked); revoking twice keeps the first time."""
    row = conn.execute(sa.select(api_keys.c.id, api_keys.c.revoked_at).where(api_keys.c.username == username)).first()
    if row is None:
        msg = f"unknown key {username!r}"
        raise AdminError(msg)
    if row[1] is None:
        conn.execute(api_keys.update().where(api_keys.c.id == row[0]).values(revoked_at=now))


def _check_limit(rate: float, burst: int) -> None:
    problem = limit_problem(rate, burst)
    if problem is not None:
        raise AdminError(problem)


def set_key_limit(conn: sa.Connection, username: str, *, rate: float | None, burst: int | None) -> tuple[float, int]:
    """Change a key's rate limit (a value not given stays as it is); returns the limit now stored."""
    row = conn.execute(
        sa.select(api_keys.c.id, api_keys.c.rate, api_keys.c.burst).where(api_keys.c.username == username)
    ).first()
    if row is None:
        msg = f"unknown key {username!r}"
        raise AdminError(msg)
    limit = (row[1] if rate is None else rate, row[2] if burst is None else burst)
    _check_limit(*limit)
    conn.execute(api_keys.update().where(api_keys.c.id == row[0]).values(rate=limit[0], burst=limit[1]))
    return limit


def list_keys(conn: sa.Connection, trkref: str | None) -> list[KeySummary]:
    """Every key, or those linked to one organisation, by username; never a secret."""
    query = (
        sa.select(
            api_keys.c.username,
            api_keys.c.customer_order,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            organisations.c.trkref,
            api_keys.c.rate,
            api_keys.c.burst,
            api_keys.c.sandbox,
        )
        .select_from(api_keys.outerjoin(api_key_organisations).outerjoin(organisations))
        .order_by(api_keys.c.username, organisations.c.trkref)
    )
    if trkref is not None:
        find_organisation(conn, trkref)
        linked = (
            sa.select(api_key_organisations.c.api_key_id).join(organisations).where(organisations.c.trkref == trkref)
        )
        query = query.where(api_keys.c.id.in_(linked))
    keys: dict[str, KeySummary] = {}
    for username, customer_order, created_at, revoked_at, org_trkref, rate, burst, sandbox in conn.execute(query):
        previous = keys.get(username)
        trkrefs = (*previous.trkrefs, org_trkref) if previous else ((org_trkref,) if org_trkref else ())
        keys[username] = KeySummary(
            username=username,
            trkrefs=trkrefs,
            customer_order=bool(customer_order),
            created_at=created_at,
            revoked_at=revoked_at,
            rate=rate,
            burst=burst,
            sandbox=bool(sandbox),
        )
    return list(keys.values())
