"""The one storage interface of the request path; PostgreSQL and SQLite implement it."""

import datetime as dt
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from order_intake.adapters.records import (
    ApiKey,
    IdempotencyRecord,
    StoredBatch,
    StoredSubmission,
    UnitOutcome,
    WriteUnit,
)

# Idempotency-Keys are kept this long.
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


class Store(Protocol):
    """Everything the service asks of its database."""

    async def open(self) -> None:
        """Connect (pools, writer thread); the schema is already current."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> bool:
        """True while the database answers."""

    async def commit_units(self, units: Sequence[WriteUnit]) -> list[UnitOutcome]:
        """Store the units in one transaction; one outcome per unit, in order."""

    async def find_key(self, username: str) -> ApiKey | None:
        """The key with this username and its organisations, revoked or not."""

    async def all_keys(self) -> list[ApiKey]:
        """Every key and its organisations, revoked or not."""

    async def get_submission(self, organisation_id: int, submission_id: UUID) -> StoredSubmission | None:
        """One submission of this organisation."""

    async def get_batch(self, batch_id: UUID, api_key_id: int, organisation_ids: Sequence[int]) -> StoredBatch | None:
        """The batch, if these organisations include every one it touched (it touched none: if this key sent it)."""

    async def find_idempotency(self, api_key_id: int, key: str, since: dt.datetime) -> IdempotencyRecord | None:
        """The record stored under this key after `since`, if any."""
