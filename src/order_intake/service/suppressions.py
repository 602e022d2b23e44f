"""The suppression endpoints' use cases: a retailer suppresses an address, lifts it, shows it, lists them by page.

Addresses come as service.invitation_queries.stored_email gives them (the HTTP layer refuses the
others before any query): the form the validator stores an order's e-mail in.
"""

import datetime as dt
from collections.abc import Mapping, Sequence

from order_intake.domain import catalogue
from order_intake.domain.invitation_answers import Suppression, SuppressionEntry, Suppressions
from order_intake.domain.suppressions import DEFAULT_PAGE, ListPosition, cursor_of, page_size, position_of
from order_intake.service.invitation_records import Removal, SuppressionRow
from order_intake.service.ports import Suppressions as SuppressionStore
from order_intake.service.records import Organisation

__all__ = ["lift", "listed", "shown", "suppress"]


async def suppress(*, store: SuppressionStore, organisation: Organisation, address: str, actor: str) -> Suppression:
    """Suppress an address (as stored_email gives it): 201 when this request made it, else 200 with its reason."""
    added = await store.add(trkref=organisation.trkref, email=address, actor=actor, now=dt.datetime.now(dt.UTC))
    return _answer(201 if added.created else 200, address, added.suppression)


async def lift(*, store: SuppressionStore, organisation: Organisation, address: str, actor: str) -> Removal:
    """Lift the retailer's suppression of an address (as stored_email gives it): what it did."""
    return await store.remove(trkref=organisation.trkref, email=address, actor=actor, now=dt.datetime.now(dt.UTC))


async def shown(*, store: SuppressionStore, organisation: Organisation, address: str) -> Suppression | None:
    """An address's suppression (200), whatever its reason; None when it has none."""
    found = await store.find(trkref=organisation.trkref, email=address)
    return None if found is None else _answer(200, address, found)


def _answer(status: int, address: str, row: SuppressionRow) -> Suppression:
    # The address as asked: an erased one's row no longer holds it, only its keyed hash.
    return Suppression(status=status, email=address, reason=row.reason, created_at=row.created_at)


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name, ())
    return values[0] if len(values) == 1 else None


async def listed(
    *, store: SuppressionStore, organisation: Organisation, query: Mapping[str, Sequence[str]]
) -> Suppressions | tuple[str, ...]:
    """A page of the organisation's suppressions and the next one's cursor; or every problem of the query."""
    errors: list[str] = []
    limit: int | None = DEFAULT_PAGE
    if "limit" in query:
        given = _one(query, "limit")
        limit = None if given is None else page_size(given)
        if limit is None:
            errors.append(catalogue.INVALID_LIMIT)
    after: ListPosition | None = None
    if "after" in query:
        given = _one(query, "after")
        after = None if given is None else position_of(given)
        if after is None:
            errors.append(catalogue.INVALID_AFTER)
    if errors or limit is None:
        return tuple(errors)
    page = await store.page(trkref=organisation.trkref, after=after, limit=limit)
    return Suppressions(
        status=200,
        suppressions=tuple(SuppressionEntry(row.email, row.reason, row.created_at) for row in page.rows if row.email),
        next=None if page.more_after is None else cursor_of(page.more_after),
    )
