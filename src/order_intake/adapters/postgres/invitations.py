"""Invitations on PostgreSQL: read and written in the processing transaction, under the customers' locks."""

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import asyncpg
import msgspec

from order_intake.adapters.postgres.locks import LOCK_ORDERS, LOCK_SHARED, customers_locks
from order_intake.service.invitation_records import InvitationRow
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.processing_records import Claimed, StoredCanonical

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]

log = logging.getLogger("order_intake.invitations")

COLUMNS = (
    "i.id, i.organisation_id, i.order_ref, i.canonical_id, i.customer_key, i.email, i.order_date,"
    " i.fulfilment_date, i.country, i.sandbox, i.state, i.reason, i.send_at, i.sent_at,"
    " i.explanation::text AS explanation, i.created_at, i.updated_at"
)
# Each key is looked up by its index, whatever the statistics say (`LATERAL ... OFFSET 0` keeps the
# planner from turning the lookups into a hash join over the whole table: while a table grows faster
# than its statistics follow, it did so for every batch, and a round's cost grew with the table).
BY_ORDERS = f"""
SELECT {COLUMNS} FROM unnest($1::bigint[], $2::text[]) AS k(organisation_id, order_ref)
 CROSS JOIN LATERAL (SELECT * FROM invitations i
                      WHERE i.organisation_id = k.organisation_id AND i.order_ref = k.order_ref OFFSET 0) i
"""  # noqa: S608 - constant column list
# Only the rows another order can change (invitations_customer_live, whose predicate this repeats).
BY_CUSTOMERS = f"""
SELECT {COLUMNS} FROM unnest($1::bigint[], $2::text[]) AS k(organisation_id, customer_key)
 CROSS JOIN LATERAL (SELECT * FROM invitations i
                      WHERE i.organisation_id = k.organisation_id AND i.customer_key = k.customer_key
                        AND (state IN ('scheduled', 'sent') OR (state = 'skipped' AND reason = 'cooldown'))
                     OFFSET 0) i
"""  # noqa: S608 - constant column list
POLICIES = "SELECT id, invitation_policy::text FROM organisations WHERE id = ANY($1::bigint[])"
SUPPRESSIONS = """
SELECT s.organisation_id, s.email_hash, s.reason
  FROM unnest($1::bigint[], $2::bytea[]) AS k(organisation_id, email_hash)
 CROSS JOIN LATERAL (SELECT * FROM suppressions s
                      WHERE s.organisation_id = k.organisation_id AND s.email_hash = k.email_hash OFFSET 0) s
"""
# A row the sender has meanwhile recorded sent or failed is never written back as it was read (the
# sender takes no customer lock; planning never changes such a row anyway).
UPSERT = """
INSERT INTO invitations (id, organisation_id, order_ref, canonical_id, customer_key, email, order_date,
                         fulfilment_date, country, sandbox, state, reason, send_at, sent_at, explanation,
                         created_at, updated_at)
SELECT r.id, r.organisation_id, r.order_ref, r.canonical_id, r.customer_key, r.email, r.order_date,
       r.fulfilment_date, r.country, r.sandbox, r.state, r.reason, r.send_at, r.sent_at, r.explanation::json,
       r.created_at, r.updated_at
  FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::date[], $8::date[],
              $9::text[], $10::bool[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[],
              $15::text[], $16::timestamptz[], $17::timestamptz[])
       AS r(id, organisation_id, order_ref, canonical_id, customer_key, email, order_date, fulfilment_date, country,
            sandbox, state, reason, send_at, sent_at, explanation, created_at, updated_at)
ON CONFLICT (organisation_id, order_ref) DO UPDATE
   SET canonical_id = EXCLUDED.canonical_id, customer_key = EXCLUDED.customer_key, email = EXCLUDED.email,
       order_date = EXCLUDED.order_date, fulfilment_date = EXCLUDED.fulfilment_date, country = EXCLUDED.country,
       sandbox = EXCLUDED.sandbox, state = EXCLUDED.state, reason = EXCLUDED.reason, send_at = EXCLUDED.send_at,
       sent_at = EXCLUDED.sent_at, explanation = EXCLUDED.explanation, updated_at = EXCLUDED.updated_at
 WHERE invitations.state NOT IN ('sent', 'failed')
"""
_explanation = msgspec.json.Decoder(tuple[str, ...])
_encode = msgspec.json.encode


def row_of(r: asyncpg.Record) -> InvitationRow:
    """A row as read by BY_ORDERS or BY_CUSTOMERS."""
    return InvitationRow(
        id=r["id"],
        organisation_id=r["organisation_id"],
        order_ref=r["order_ref"],
        canonical_id=r["canonical_id"],
        customer_key=r["customer_key"],
        email=r["email"],
        order_date=r["order_date"],
        fulfilment_date=r["fulfilment_date"],
        country=r["country"],
        sandbox=r["sandbox"],
        state=r["state"],
        reason=r["reason"],
        send_at=r["send_at"],
        sent_at=r["sent_at"],
        explanation=_explanation.decode(r["explanation"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


async def rows_of_customers(conn: "Connection", customers: Iterable[tuple[int, str]]) -> list[InvitationRow]:
    """Every invitation of these customers, their locks taken first (in key order, so no deadlock)."""
    ordered = sorted(customers)
    organisations, each = customers_locks(ordered)
    await conn.execute(LOCK_SHARED, organisations)
    await conn.execute(LOCK_ORDERS, each)
    found = await conn.fetch(BY_CUSTOMERS, [o for o, _ in ordered], [c for _, c in ordered])
    return [row_of(r) for r in found]


async def context(
    conn: "Connection", planning: InvitationPlanning, rows: Sequence[InvitationRow]
) -> tuple[dict[int, dict[str, object] | None], dict[tuple[int, bytes], str]]:
    """The organisations' policies and the suppressions of these rows' addresses."""
    organisations = sorted({r.organisation_id for r in rows})
    policies = {r[0]: (msgspec.json.decode(r[1]) if r[1] else None) for r in await conn.fetch(POLICIES, organisations)}
    pairs = sorted({(r.organisation_id, planning.email_hash(r.email)) for r in rows})
    found = await conn.fetch(SUPPRESSIONS, [o for o, _ in pairs], [h for _, h in pairs])
    return policies, {(r[0], bytes(r[1])): r[2] for r in found}


_COPY_COLUMNS = (
    "id",
    "organisation_id",
    "order_ref",
    "canonical_id",
    "customer_key",
    "email",
    "order_date",
    "fulfilment_date",
    "country",
    "sandbox",
    "state",
    "reason",
    "send_at",
    "sent_at",
    "explanation",
    "created_at",
    "updated_at",
)


def _record(r: InvitationRow) -> tuple[object, ...]:
    """A row's values in _COPY_COLUMNS's order (the UPSERT's arrays are the same, column by column)."""
    return (
        r.id,
        r.organisation_id,
        r.order_ref,
        r.canonical_id,
        r.customer_key,
        r.email,
        r.order_date,
        r.fulfilment_date,
        r.country,
        r.sandbox,
        r.state,
        r.reason,
        r.send_at,
        r.sent_at,
        _encode(r.explanation).decode(),
        r.created_at,
        r.updated_at,
    )


async def save(conn: "Connection", rows: Sequence[InvitationRow], *, new: Iterable[InvitationRow] = ()) -> None:
    """Insert `new` rows (nobody else can make them: their orders are locked) by COPY, update or insert `rows`.

    hot path: COPY, as for submissions, spares asyncpg's check of every array element (docs/hot-path.md).
    """
    fresh = [_record(r) for r in new]
    if fresh:
        await conn.copy_records_to_table("invitations", columns=_COPY_COLUMNS, records=fresh)
    if rows:
        await conn.execute(UPSERT, *(list(column) for column in zip(*map(_record, rows), strict=True)))


async def plan_changed(
    conn: "Connection",
    planning: InvitationPlanning,
    changed: Sequence[StoredCanonical],
    claimed: Sequence[Claimed],
    now: dt.datetime,
) -> None:
    """Plan the invitations of these changed orders, and of their customers' other orders, and write them.

    Orders made by this transaction are not looked up (`invited_before`). Should an invitation have
    outlived its order all the same (a row deleted by hand), its order's new one collides with it:
    that attempt is undone to its savepoint and the round planned again with every order looked up,
    so one such row costs a second round, never a processing stopped at its order.
    """
    if not changed:
        return
    try:
        async with conn.transaction():
            await _plan(conn, planning, changed, claimed, now, keys=planning.invited_before(changed))
    except asyncpg.UniqueViolationError:
        log.warning("an invitation outlived its order; planned again with every order looked up")
        every = sorted({(c.organisation_id, c.order_ref) for c in changed})
        await _plan(conn, planning, changed, claimed, now, keys=every)


async def _plan(  # noqa: PLR0913 - plan_changed's arguments and the orders to look up
    conn: "Connection",
    planning: InvitationPlanning,
    changed: Sequence[StoredCanonical],
    claimed: Sequence[Claimed],
    now: dt.datetime,
    *,
    keys: Sequence[tuple[int, str]],
) -> None:
    targets = planning.targets(changed, claimed, now)
    found = await conn.fetch(BY_ORDERS, [o for o, _ in keys], [ref for _, ref in keys]) if keys else []
    existing = [row_of(r) for r in found]
    customer_rows = await rows_of_customers(conn, planning.customers(targets, existing))
    policies, suppressions = await context(conn, planning, [*targets, *customer_rows])
    rows = planning.assemble(
        targets=targets,
        existing=existing,
        customer_rows=customer_rows,
        policies=policies,
        suppressions=suppressions,
        now=now,
    )
    stored = {r.id for r in existing} | {r.id for r in customer_rows}
    await save(conn, [r for r in rows if r.id in stored], new=[r for r in rows if r.id not in stored])
