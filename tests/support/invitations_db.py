"""Invitation rows and suppressions written and read directly, for tests of what re-plans them."""

import datetime as dt
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from order_intake.adapters.sql.secrets import ENV, SIGNING
from order_intake.service.invitations import email_hash
from tests.support.inspect_db import change_rows, count_rows, fetch_rows
from tests.support.privacy_db import db_time, db_uuid


def _is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite:///")


def _day(database_url: str, day: dt.date | None) -> Any:
    return day.isoformat() if day is not None and _is_sqlite(database_url) else day


def plant_invitation(  # noqa: PLR0913 - one argument per fact of the row
    database_url: str,
    *,
    trkref: str,
    order_ref: str,
    email: str,
    fulfilment_date: dt.date,
    state: str = "scheduled",
    send_at: dt.datetime | None = None,
    sent_at: dt.datetime | None = None,
    country: str | None = "GB",
    canonical_id: str | None = None,
) -> str:
    """One invitation of this organisation, as processing would have left it (the customer is the address); its id.

    Its canonical order is `canonical_id`'s, else one that does not exist.
    """
    org = count_rows(database_url, "SELECT id FROM organisations WHERE trkref = ?", trkref)
    invitation_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    as_json = "?" if _is_sqlite(database_url) else "CAST(? AS json)"
    columns = (
        "id, organisation_id, order_ref, canonical_id, customer_key, email, order_date, fulfilment_date, country,"
        " sandbox, state, reason, send_at, sent_at, explanation, created_at, updated_at"
    )
    change_rows(
        database_url,
        f"INSERT INTO invitations ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {as_json}, ?, ?)",  # noqa: S608 - constants
        db_uuid(database_url, invitation_id),
        org,
        order_ref,
        db_uuid(database_url, canonical_id or str(uuid.uuid4())),
        f"email:{email}",
        email,
        None,
        _day(database_url, fulfilment_date),
        country,
        False,  # noqa: FBT003 - the sandbox column's value
        state,
        None,
        None if send_at is None else db_time(database_url, send_at),
        None if sent_at is None else db_time(database_url, sent_at),
        json.dumps(["planted by a test"]),
        db_time(database_url, now),
        db_time(database_url, now),
    )
    return invitation_id


@dataclass(frozen=True)
class StoredInvitation:
    """What a test checks of an invitation row."""

    state: str
    reason: str | None
    send_at: dt.datetime | None
    sent_at: dt.datetime | None
    explanation: list[str]
    updated_at: dt.datetime


def _time(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def invitations_of(database_url: str, trkref: str) -> dict[str, StoredInvitation]:
    """The organisation's invitations by order_ref."""
    rows = fetch_rows(
        database_url,
        "SELECT i.order_ref, i.state, i.reason, i.send_at, i.sent_at, i.explanation, i.updated_at FROM invitations i"
        " JOIN organisations o ON o.id = i.organisation_id WHERE o.trkref = ?",
        trkref,
    )
    return {
        ref: StoredInvitation(state, reason, _time(send_at), _time(sent_at), json.loads(explanation), _time(updated))
        for ref, state, reason, send_at, sent_at, explanation, updated in rows
    }


def signing_key(database_url: str) -> bytes:
    """The key addresses are hashed with, made here as the service would if it has none yet."""
    configured = os.environ.get(ENV)
    if configured:
        return configured.encode()
    query = "SELECT value FROM service_secrets WHERE name = ?"
    found = fetch_rows(database_url, query, SIGNING)
    if not found:
        change_rows(
            database_url, "INSERT INTO service_secrets (name, value) VALUES (?, ?)", SIGNING, secrets.token_bytes(32)
        )
        found = fetch_rows(database_url, query, SIGNING)
    return bytes(found[0][0])


def plant_suppression(database_url: str, *, trkref: str, email: str, reason: str) -> None:
    """A suppression of this address, as an unsubscribe or a bounce would write it."""
    org = count_rows(database_url, "SELECT id FROM organisations WHERE trkref = ?", trkref)
    change_rows(
        database_url,
        "INSERT INTO suppressions (organisation_id, email_hash, email, reason, created_at) VALUES (?, ?, ?, ?, ?)",
        org,
        email_hash(signing_key(database_url), email),
        email,
        reason,
        db_time(database_url, dt.datetime.now(dt.UTC)),
    )
